"""VMware Customer Connect (beta API gateway): asynchronous requests and their status.

Faithful to api-docs/customer_connect_request_status.txt: ``GET
/v1/m4/api/myvmware/external/requests/{requestId}/status`` with ``Authorization: Bearer
<access token>`` answers a ``RequestDetailsResponse`` (id, operation, performedBy, creationTime,
status, message, report). A request moves IN_PROGRESS -> its final status over a configurable
time; once final it carries a per-user ``report`` (a list of ``{email: text}``, as in the
vendor example). Every error is an ``ErrorResponse`` with a fresh ``traceId`` and
``requestId``: 400 for a malformed id, 401 for a missing, unknown or expired token, 404 for an
unknown request, 500 for a request whose lookup breaks.

Control commands: ``create_request`` (a chosen final status, timeline, users or report) and
``issue_token`` (another token, possibly short-lived or already expired). The ``expire_session``
fault expires every token until ``/reset``.

Two liberties, both marked: the vendor shows only the placeholder error code ``VMW-XXX-XXX``, so
the codes below are made up in that form; and, as in every vendor example, the body's
``statusCode`` is 400 whatever the HTTP status (clients must trust the HTTP status).
"""

import base64
import hmac
import json
import random
import re
import secrets
import time
from urllib.parse import unquote

from simulator.core import Appliance, Reply, command, route

API = r"/v1/m4/api/myvmware/external"
# The vendor example id is 17 lower-case letters and digits; accept any short alphanumeric id.
ID_FORM = re.compile(r"^[0-9A-Za-z]{1,64}$")
ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# As the vendor's examples show for 400, 401, 404 and 500 alike.
BODY_STATUS_CODE = 400
ERROR_CODES = {400: "VMW-REQ-400", 401: "VMW-TKN-401", 404: "VMW-REQ-404", 405: "VMW-GTW-405",
               429: "VMW-GTW-429", 500: "VMW-SRV-500", 502: "VMW-GTW-502", 503: "VMW-GTW-503",
               504: "VMW-GTW-504"}
MESSAGES = {
    "IN_PROGRESS": "Request is in progress.",
    "COMPLETED": "Request is completed successfully. Please check report for further details.",
    "FAILED": "Request has failed. Please check report for further details.",
    "PARTIALLY_COMPLETED": "Request is partially completed. Please check report for further details.",
}
USER_OK = "Invitation has been sent to user successfully."
USER_FAILED = "Invitation could not be sent: the user already has access to this account."


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%03dZ" % int((epoch % 1) * 1000)


class StatusRequest:
    """One asynchronous request: its timeline of statuses and, once final, its report."""

    def __init__(self, request_id, operation, performed_by, created, started, timeline, users,
                 message=None, report=None, server_error=False):
        self.request_id = request_id
        self.operation = operation
        self.performed_by = performed_by
        self.created = created            # wall clock, for creationTime
        self.started = started            # monotonic, for the timeline (None: at the first read)
        self.timeline = sorted(((float(at), str(status)) for at, status in timeline), key=lambda s: s[0])
        self.users = users
        self.message = message
        self.report = report
        self.server_error = server_error

    @property
    def final_status(self):
        return self.timeline[-1][1]

    def status_at(self, t):
        status = self.timeline[0][1]
        for at, name in self.timeline:
            if t >= at:
                status = name
        return status

    def final_report(self):
        if self.report is not None:
            return self.report
        final = self.final_status.upper()
        if final == "COMPLETED":
            failed = 0
        elif final == "PARTIALLY_COMPLETED":
            failed = max(1, len(self.users) // 2)
        else:
            failed = len(self.users)
        ok = len(self.users) - failed
        return [{user: USER_OK if i < ok else USER_FAILED} for i, user in enumerate(self.users)]

    def body(self, now):
        status = self.status_at(now - self.started)
        final = now - self.started >= self.timeline[-1][0]
        body = {
            "id": self.request_id, "operation": self.operation, "performedBy": self.performed_by,
            "creationTime": _iso(self.created), "status": status,
            "message": (self.message if final and self.message else
                        MESSAGES.get(status.upper(), "Request status is %s." % status)),
        }
        if final:
            body["report"] = self.final_report()
        return body


class CustomerConnect(Appliance):
    name = "customer_connect"

    def __init__(self, sim):
        self.performed_by = "ops-admin@example.com"
        self.complete_after = float(sim.options.get("customer_connect.complete_after", 3.0))
        self.tokens = {}
        self.initial_token = self._make_token()
        super().__init__(sim)

    # -- tokens ------------------------------------------------------------------------------
    def _make_token(self):
        """A JWT-shaped access token with a distinctive, random signature."""
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps({"sub": self.performed_by, "iat": int(time.time()),
                                   "jti": secrets.token_hex(8)}).encode())
        return "%s.%s.ccsim%s" % (header, payload, secrets.token_urlsafe(24))

    def _token_state(self, token):
        """'valid', 'expired' or 'unknown'."""
        for known, expires in self.tokens.items():
            if hmac.compare_digest(known, token):
                return "valid" if expires is None or self.now() < expires else "expired"
        return "unknown"

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.tokens = {self.initial_token: None}
        self.requests = {}
        now = self.now()
        # Sample ids survive a reset, so a test holding simulator.json keeps working.
        ids = random.Random("%s-%s-samples" % (self.sim.seed, self.name))
        # The sample to watch: its timeline starts when it is first read (a demo sees it move).
        moving = self._add("COMPLETED", self.complete_after, start_on_first_read=True,
                           request_id=self._new_request_id(ids))
        done = self._add("COMPLETED", 1.0, started=now - 60, request_id=self._new_request_id(ids))
        failed = self._add("FAILED", 1.0, started=now - 60, request_id=self._new_request_id(ids))
        partial = self._add("PARTIALLY_COMPLETED", 1.0, started=now - 60, users=4,
                            request_id=self._new_request_id(ids))
        broken = self._add("COMPLETED", 1.0, started=now - 60, server_error=True,
                           request_id=self._new_request_id(ids))
        self.samples = {
            "request_id": moving, "completed_request_id": done, "failed_request_id": failed,
            "partial_request_id": partial, "server_error_request_id": broken,
            "unknown_request_id": self._new_request_id(ids),
            "malformed_request_id": "not_a_request.id",
        }

    def _new_request_id(self, rng=None):
        """17 lower-case letters and digits, like the vendor's example id."""
        rng = rng or self.rng
        while True:
            rid = "".join(rng.choice(ID_ALPHABET) for _position in range(17))
            if rid not in self.requests:
                return rid

    def _add(self, final_status, complete_after, started=None, users=3, timeline=None,
             operation="inviteUsers", message=None, report=None, request_id=None, server_error=False,
             start_on_first_read=False):
        rid = request_id or self._new_request_id()
        if not ID_FORM.match(rid):
            raise ValueError("request_id %r is not a valid Customer Connect request id" % rid)
        if timeline is None:
            timeline = [(0.0, "IN_PROGRESS"), (float(complete_after), final_status)]
        if not timeline:
            raise ValueError("timeline must list at least one [seconds, status] pair")
        if isinstance(users, int):
            users = ["user%d@example.com" % (i + 1) for i in range(users)]
        started = self.now() if started is None else started
        self.requests[rid] = StatusRequest(
            rid, operation, self.performed_by, time.time() - (self.now() - started),
            None if start_on_first_read else started, timeline, list(users), message, report,
            server_error)
        return rid

    # -- vendor shapes -----------------------------------------------------------------------
    def error_reply(self, status, message, code=None):
        body = {
            "statusCode": BODY_STATUS_CODE, "timestamp": _iso(time.time()),
            "traceId": "%016x" % self.rng.getrandbits(64),
            "requestId": "%032x" % self.rng.getrandbits(128),
            "errorDetails": [{"errorCode": code or ERROR_CODES.get(status, "VMW-GEN-%d" % status),
                              "message": message}],
        }
        return Reply(status, body)

    def authenticate(self, req):
        header = req.headers.get("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.error_reply(401, "Access Token is not valid or expired. Send the header "
                                         "'Authorization: Bearer <access token>'.")
        if self._token_state(token.strip()) != "valid":
            return self.error_reply(401, "Access Token is not valid or expired.")
        return None

    def expire_sessions(self):
        self.tokens = dict((token, self.now()) for token in self.tokens)

    # -- API -------------------------------------------------------------------------------
    @route("GET", API + r"/requests/(?P<rid>[^/]+)/status")
    def request_status(self, req, rid):
        rid = unquote(rid)
        if not ID_FORM.match(rid):
            return self.error_reply(400, "Either request is not valid or input validation has "
                                         "failed: requestId '%s' is not a valid request id." % rid)
        request = self.requests.get(rid)
        if request is None:
            return self.error_reply(404, "Operation with given requestId doesn't exist.")
        if request.server_error:
            return self.error_reply(500, "Server error while getting the details.")
        if request.started is None:
            request.started = self.now()
        return Reply(200, request.body(self.now()))

    # -- control commands (tests, demo, benchmark) ------------------------------------------
    @command
    def create_request(self, final_status="COMPLETED", complete_after=2.0, users=3, timeline=None,
                       operation="inviteUsers", message=None, report=None, request_id=None,
                       server_error=False, start_on_first_read=False):
        """A request that is IN_PROGRESS now and reaches ``final_status`` after ``complete_after``
        seconds; or follows ``timeline`` ([[seconds, status], ...], the last one final).
        ``users`` is a count or a list of emails for the report; ``report`` replaces it.
        ``start_on_first_read`` starts the timeline at the first status read instead of now, so
        a test sees the same statuses however long its client takes to start."""
        rid = self._add(final_status, complete_after, users=users, timeline=timeline,
                        operation=operation, message=message, report=report,
                        request_id=request_id, server_error=bool(server_error),
                        start_on_first_read=bool(start_on_first_read))
        request = self.requests[rid]
        return {"request_id": rid, "final_status": request.final_status,
                "complete_after": request.timeline[-1][0]}

    @command
    def issue_token(self, lifetime=None):
        """A new access token, valid for ``lifetime`` seconds (None: until reset; 0: expired)."""
        token = self._make_token()
        self.tokens[token] = None if lifetime is None else self.now() + float(lifetime)
        return {"access_token": token}

    @command
    def revive_tokens(self):
        """Make every token issued so far valid again (after an ``expire_session`` fault)."""
        self.tokens = dict((token, None) for token in self.tokens)
        return {"tokens": len(self.tokens)}

    def describe(self):
        return {
            "access_token": self.initial_token, "performed_by": self.performed_by,
            "complete_after": self.complete_after, "samples": dict(self.samples),
        }


def build(sim):
    return [CustomerConnect(sim)]
