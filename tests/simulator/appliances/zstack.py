"""ZStack Cloud: sessions, IPsec connections, and the asynchronous API jobs that change them.

Faithful to the ZStack REST manual (api-specs/RestIntroduction_zh_cn.md), the API page of
ChangeIPSecConnectionState (api-docs/) and the behaviour of ZStack's RestServer:

- plain HTTP on the first port like a real management node on 8080 (HTTPS on a second one),
  everything under ``/zstack/v1``;
- ``PUT /zstack/v1/accounts/login`` with ``{"logInByAccount": {accountName, password}}``, the
  password as its SHA-512 hex digest; ``DELETE /zstack/v1/accounts/sessions/{uuid}`` logs out;
- ``Authorization: OAuth <session uuid>``; a missing or malformed header is a plain-text 400 from
  the REST layer; an invalid or expired session is API error ``ID.1001`` - at once (503) for a
  synchronous call such as a query, and as the failure of the job for an asynchronous one;
- queries (``GET /zstack/v1/ipsec?q=name=...``, ``GET /zstack/v1/ipsec/{uuid}``) answer
  ``{"inventories": [...]}``, an empty list when nothing matches;
- the state change is an asynchronous API: 202 with ``{"location": ".../v1/api-jobs/<job>"}``
  built on the management node's own (internal) base URL; the job uuid is the client's
  ``X-Job-UUID`` when it sends one (32 characters, else a plain-text 400; a job uuid used twice
  is a database error, 500);
- ``GET /zstack/v1/api-jobs/{uuid}`` (no session needed): 202 with an empty body while the job
  runs, 200 with the result, 503 with ``{"error": {code, description, details, cause}}`` when it
  failed, and a plain-text 404 when the job is unknown or has expired;
- every error of the REST layer itself (unknown path, wrong method, faults) is plain text.

Scenario knobs: ``--option zstack.job_seconds=N`` (default 2), ``zstack.location_base``,
``zstack.job_ttl``, ``zstack.session_seconds``; ``configure(next_session_seconds=N)`` makes only
the next login's session short-lived; per connection through the control commands below (``create_connections``
makes many, each with its own job duration and outcome). Queries take ``=``, ``!=``, ``?=``,
``!?=``, ``~=``/``!~=`` (``%`` and ``_`` wildcards), comparisons, ``is null``/``not null``, and
``limit``, ``start``, ``count=true``, ``replyWithCount=true``.
"""

import hashlib
import hmac
import json
import random
import re
import secrets
import time
from datetime import datetime

from simulator.core import Appliance, Reply, command, route

API = "/zstack/v1"
# The order in which ZStack's RestServer looks for a query operator in a condition: an
# operator contained in another must come after it.
QUERY_OPERATORS = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<", " is null", " not null")
INVENTORY_FIELDS = frozenset((
    "uuid", "name", "description", "l3NetworkUuid", "peerAddress", "authMode", "authKey", "vipUuid",
    "ikeAuthAlgorithm", "ikeEncryptionAlgorithm", "ikeDhGroup", "policyAuthAlgorithm",
    "policyEncryptionAlgorithm", "pfs", "policyMode", "transformProtocol", "ikeVersion", "idType",
    "state", "status", "createDate", "lastOpDate", "__systemTag__", "__userTag__"))
ERRORS = {
    "ID.1000": "Authentication error",
    "ID.1001": "Invalid session",
    "SYS.1000": "An internal error happened in system",
    "SYS.1006": "An operation failed",
    "SYS.1007": "One or more API argument is invalid",
}


def zstack_date(epoch=None):
    """ZStack's Java default date format, e.g. 'Nov 23, 2025 3:02:11 PM'."""
    stamp = datetime.fromtimestamp(time.time() if epoch is None else epoch)
    return "%s %d, %d %d:%s" % (stamp.strftime("%b"), stamp.day, stamp.year, stamp.hour % 12 or 12,
                                stamp.strftime("%M:%S %p"))


def api_error(code, details, cause=None):
    error = {"code": code, "description": ERRORS.get(code, "An error happened"), "details": details}
    if cause is not None:
        error["cause"] = cause
    return {"error": error}


def like(pattern, value):
    """MySQL LIKE: % any run of characters, _ one character."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


class Job:
    """One asynchronous API call: when it ends, and how."""

    def __init__(self, uuid, started, seconds, connection_uuid=None, state_event=None, error=None):
        self.uuid = uuid
        self.started = started
        self.seconds = float(seconds)
        self.connection_uuid = connection_uuid
        self.state_event = state_event
        self.error = error          # the failure it ends with, or None
        self.result = None          # the event body once it succeeded
        self.finished_at = None
        self.expired = False

    def due(self, now):
        return now >= self.started + self.seconds


class ZStack(Appliance):
    name = "zstack"
    tls = False
    # Plain HTTP first (the url and host in simulator.json), like a management node on 8080.
    schemes = ("http", "https")

    def __init__(self, sim):
        self.options = getattr(sim, "options", {}) or {}
        self.username = "admin"
        self.password = "Zs-%s!" % secrets.token_hex(8)
        self.account_uuid = "%032x" % random.Random("%s-zstack-account" % sim.seed).getrandbits(128)
        super().__init__(sim)

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.job_seconds = float(self.options.get("zstack.job_seconds", 2.0))
        self.job_ttl = float(self.options.get("zstack.job_ttl", 2 * 24 * 3600))
        self.session_seconds = float(self.options.get("zstack.session_seconds", 7200))
        self.next_session_seconds = None  # the lifetime of the next session only (then the default)
        # What RESTFacade.getBaseUrl() says: the management node's own, internal address.
        self.location_base = self.options.get("zstack.location_base", "http://172.20.11.5:8080/zstack")
        self.sessions = {}      # uuid -> {"expires": monotonic, "inventory": {...}}
        self.logged_out = []
        self.jobs = {}
        self.connections = {}   # uuid -> {"inventory": {...}, scenario knobs...}
        self.retry_after = None
        self.samples = {}
        self.auth_keys = {}
        enabled = self._new_connection("dc-to-branch-01", state="Enabled")
        disabled = self._new_connection("dc-to-branch-02", state="Disabled")
        dup_a = self._new_connection("partner-shared", state="Enabled", peer="198.51.100.40")
        dup_b = self._new_connection("partner-shared", state="Disabled", peer="198.51.100.41")
        not_ready = self._new_connection("dc-to-lab", state="Disabled", status="Disconnected")
        failing = self._new_connection("dc-to-legacy", state="Disabled", fail=True)
        self.samples = {
            "enabled_uuid": enabled, "enabled_name": "dc-to-branch-01",
            "disabled_uuid": disabled, "disabled_name": "dc-to-branch-02",
            "duplicate_name": "partner-shared", "duplicate_uuids": [dup_a, dup_b],
            "not_ready_uuid": not_ready, "failing_uuid": failing,
        }

    def _new_connection(self, name, state="Enabled", status="Ready", peer=None, job_seconds=None,
                        fail=False, immediate=False, auth_key=None, uuid=None):
        uuid = uuid or self.new_uuid()
        now = time.time()
        key = auth_key or "PSK-%s-%s" % (name.replace(" ", "_")[:12], secrets.token_hex(12))
        l3 = self.new_uuid()
        self.connections[uuid] = {
            "inventory": {
                "uuid": uuid, "name": name, "description": "IPsec tunnel %s" % name,
                "l3NetworkUuid": l3, "peerAddress": peer or "203.0.113.%d" % (10 + len(self.connections)),
                "authMode": "psk", "authKey": key, "vipUuid": self.new_uuid(),
                "ikeAuthAlgorithm": "sha256", "ikeEncryptionAlgorithm": "aes-256", "ikeDhGroup": 14,
                "policyAuthAlgorithm": "sha256", "policyEncryptionAlgorithm": "aes-256",
                "pfs": "dh-group14", "policyMode": "tunnel", "transformProtocol": "esp",
                "ikeVersion": "ike", "idType": "ip", "state": state, "status": status,
                "createDate": zstack_date(now - 86400), "lastOpDate": zstack_date(now - 3600),
                "peerCidrs": [{"uuid": self.new_uuid(), "cidr": "10.%d.0.0/16" % (20 + len(self.connections)),
                               "connectionUuid": uuid, "createDate": zstack_date(now - 86400),
                               "lastOpDate": zstack_date(now - 86400)}],
                "l3NetworkRefs": [{"uuid": self.new_uuid(), "connectionUuid": uuid, "l3NetworkUuid": l3,
                                   "createDate": zstack_date(now - 86400), "lastOpDate": zstack_date(now - 86400)}],
            },
            "job_seconds": job_seconds, "fail": fail, "immediate": bool(immediate),
        }
        self.auth_keys[uuid] = key
        return uuid

    def new_uuid(self):
        """A ZStack uuid (32 hex characters), from the seeded generator."""
        return "%032x" % self.rng.getrandbits(128)

    # -- the REST layer ------------------------------------------------------------------------
    def error_reply(self, status, message, code=None):
        """RestServer's own errors (and faults, unknown paths) are plain text."""
        return Reply(status, message, content_type="text/plain;charset=UTF-8")

    def expire_sessions(self):
        for session in self.sessions.values():
            session["expires"] = self.now() - 1

    def _session(self, req):
        """(session uuid, None) or (None, plain-text 400) from the Authorization header."""
        header = req.headers.get("Authorization")
        if header is None:
            return None, self.error_reply(400, "missing header 'Authorization'")
        header = header.strip()
        if not header.startswith("OAuth"):
            return None, self.error_reply(400, "Authorization type must be 'OAuth'")
        return header.replace("OAuth", "", 1).strip(), None

    def _session_error(self, session_uuid):
        """The ID.1001 error body when the session is not valid, else None."""
        session = self.sessions.get(session_uuid)
        if session is None:
            return api_error("ID.1001", "Session[uuid:%s] not found. Please log in again" % session_uuid)
        if self.now() >= session["expires"]:
            return api_error("ID.1001", "Session expired. Please log in again")
        return None

    def _advance(self):
        """Finish every job whose time has come (state changes happen when the job ends)."""
        now = self.now()
        for job in self.jobs.values():
            if job.finished_at is None and job.due(now):
                job.finished_at = now
                if job.error is None:
                    conn = self.connections.get(job.connection_uuid)
                    if conn is None:
                        job.error = api_error("SYS.1007", "invalid field[uuid], resource[uuid:%s, type:"
                                              "IPsecConnectionVO] not found" % job.connection_uuid)["error"]
                        continue
                    inventory = conn["inventory"]
                    inventory["state"] = "Enabled" if job.state_event == "enable" else "Disabled"
                    inventory["lastOpDate"] = zstack_date()
                    job.result = {"inventory": dict(inventory)}
            if job.finished_at is not None and now - job.finished_at >= self.job_ttl:
                job.expired = True

    # -- API: sessions -----------------------------------------------------------------------------
    @route("PUT", API + r"/accounts/login")
    def login(self, req):
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(500, "Expected BEGIN_OBJECT but was STRING at line 1 column 1")
        params = body.get("logInByAccount") if isinstance(body, dict) else None
        if not isinstance(params, dict) or not params.get("accountName"):
            return Reply(503, api_error("SYS.1007", "missing mandatory field[accountName]"))
        if not params.get("password"):
            return Reply(503, api_error("SYS.1007", "missing mandatory field[password]"))
        digest = hashlib.sha512(self.password.encode()).hexdigest()
        if not (hmac.compare_digest(params["accountName"], self.username)
                and hmac.compare_digest(str(params["password"]).lower(), digest)):
            return Reply(503, api_error("ID.1000", "wrong account name or password"))
        uuid = secrets.token_hex(16)
        now = time.time()
        lifetime, self.next_session_seconds = self.next_session_seconds or self.session_seconds, None
        inventory = {"uuid": uuid, "accountUuid": self.account_uuid, "userUuid": self.account_uuid,
                     "expiredDate": zstack_date(now + lifetime), "createDate": zstack_date(now)}
        self.sessions[uuid] = {"expires": self.now() + lifetime, "inventory": inventory}
        return Reply(200, {"inventory": inventory})

    @route("DELETE", API + r"/accounts/sessions/(?P<uuid>[^/]+)")
    def logout(self, req, uuid):
        # APILogOutMsg: logging out of a session that is gone or expired succeeds too.
        if self.sessions.pop(uuid, None) is not None:
            self.logged_out.append(uuid)
        return Reply(200, None)

    # -- API: IPsec connections --------------------------------------------------------------
    @route("GET", API + r"/ipsec")
    def query_connections(self, req):
        return self._query(req, None)

    @route("GET", API + r"/ipsec/(?P<uuid>[^/]+)")
    def get_connection(self, req, uuid):
        return self._query(req, uuid)

    def _query(self, req, uuid):
        session, denied = self._session(req)
        if denied is not None:
            return denied
        error = self._session_error(session)
        if error is not None:
            return Reply(503, error)
        self._advance()
        rows = [c["inventory"] for c in self.connections.values()]
        if uuid is not None:
            rows = [r for r in rows if r["uuid"] == uuid]
        else:
            for cond in req.query_lists.get("q", []):
                matched = self._condition(cond)
                if isinstance(matched, Reply):
                    return matched
                rows = [r for r in rows if matched(r)]
        total = len(rows)
        try:
            start = int(req.query.get("start", 0))
            limit = int(req.query.get("limit", 1000))
        except ValueError:
            return self.error_reply(400, "Invalid query parameter. 'limit' must be an integer")
        if req.query.get("count") == "true":
            return Reply(200, {"total": total})
        body = {"inventories": [dict(r) for r in rows[start:start + limit]]}
        if req.query.get("replyWithCount") == "true":
            body["total"] = total
        return Reply(200, body)

    def _condition(self, cond):
        """A predicate for one ``q`` condition, parsed the way RestServer does."""
        op = next((o for o in QUERY_OPERATORS if o in cond), None)
        if op is None:
            return self.error_reply(400, "Invalid query parameter. The '%s' in the parameter[q] doesn't "
                                         "contain any query operator." % cond)
        field, value = cond.split(op, 1)
        field = field.strip()
        if field not in INVENTORY_FIELDS:
            return Reply(503, api_error("SYS.1007", "condition name[%s] is invalid, no such field on "
                                                    "inventory class[IPsecConnectionInventory]" % field))

        def test(row):
            actual = row.get(field)
            text = "" if actual is None else str(actual)
            if op == "=":
                return text == value
            if op == "!=":
                return text != value
            if op == "~=":
                return like(value, text)
            if op == "!~=":
                return not like(value, text)
            if op == "?=":
                return text in value.split(",")
            if op == "!?=":
                return text not in value.split(",")
            if op == " is null":
                return actual is None
            if op == " not null":
                return actual is not None
            return {">": text > value, "<": text < value, ">=": text >= value, "<=": text <= value}[op]
        return test

    @route("PUT", API + r"/ipsec/(?P<uuid>[^/]+)/actions")
    def connection_actions(self, req, uuid):
        session, denied = self._session(req)
        if denied is not None:
            return denied
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(500, "Expected BEGIN_OBJECT but was STRING at line 1 column 1")
        action = body.get("changeIPSecConnectionState") if isinstance(body, dict) else None
        if action is None:
            return self.error_reply(400, "the body doesn't contain action mapping to the URL[/v1/ipsec/%s/actions]"
                                    % uuid)
        job_uuid = req.headers.get("X-Job-UUID")
        if job_uuid is not None and len(job_uuid) != 32:
            return self.error_reply(400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
        job_uuid = job_uuid or self.new_uuid()
        if job_uuid in self.jobs:
            return self.error_reply(500, "could not execute statement; SQL [n/a]; constraint [PRIMARY]; nested "
                                         "exception is org.hibernate.exception.ConstraintViolationException: "
                                         "Duplicate entry '%s' for key 'PRIMARY'" % job_uuid)
        self._advance()
        now = self.now()
        event = action.get("stateEvent") if isinstance(action, dict) else None
        conn = self.connections.get(uuid)
        error, seconds = None, 0.0
        # The API mediator's checks, in its order: session, parameters, resource, status.
        session_error = self._session_error(session)
        if session_error is not None:
            error = session_error["error"]
        elif event not in ("enable", "disable"):
            error = api_error("SYS.1007", "valid value for field[stateEvent] of APIChangeIPSecConnectionStateMsg "
                                          "are [enable, disable], but %s found" % event)["error"]
        elif conn is None:
            error = api_error("SYS.1007", "invalid field[uuid], resource[uuid:%s, type:IPsecConnectionVO] not "
                                          "found" % uuid)["error"]
        elif conn["inventory"]["status"] != "Ready":
            error = api_error("SYS.1006", "the IPsec connection[uuid:%s] is not Ready, its status is %s; it "
                                          "cannot be %sd now" % (uuid, conn["inventory"]["status"], event))["error"]
        else:
            seconds = self.job_seconds if conn["job_seconds"] is None else float(conn["job_seconds"])
            if conn["fail"]:
                error = api_error(
                    "SYS.1006", "failed to %s the IPsec connection[uuid:%s] on virtual router[uuid:%s]"
                    % (event, uuid, conn["inventory"]["vipUuid"]),
                    cause={"code": "SYS.1000", "description": ERRORS["SYS.1000"],
                           "details": "strongswan: ipsec reload failed: /etc/ipsec.conf line 14: syntax error"}
                )["error"]
        job = Job(job_uuid, now, seconds, connection_uuid=uuid, state_event=event, error=error)
        self.jobs[job_uuid] = job
        if conn is not None and conn["immediate"] and error is None:
            job.seconds = 0
            self._advance()
            return Reply(200, job.result)
        return Reply(202, {"location": "%s/v1/api-jobs/%s" % (self.location_base.rstrip("/"), job_uuid)})

    # -- API: jobs --------------------------------------------------------------------------------
    @route("GET", API + r"/api-jobs/(?P<uuid>[^/]+)")
    def job(self, req, uuid):
        # RestServer answers job queries without looking at the session.
        self._advance()
        job = self.jobs.get(uuid)
        if job is None or job.expired:
            return self.error_reply(404, "the job has been expired")
        if job.finished_at is None:
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
            return Reply(202, None, headers=headers)
        if job.error is not None:
            return Reply(503, {"error": job.error})
        return Reply(200, job.result)

    # -- control commands (tests, demo) -----------------------------------------------------------
    @command
    def create_connection(self, connection_name=None, state="Enabled", status="Ready", job_seconds=None,
                          fail=False, immediate=False, auth_key=None, uuid=None):
        """A new IPsec connection (named ``sim-ipsec-<random>`` unless ``connection_name`` is
        given); its state-change jobs take ``job_seconds`` (default: the appliance's)."""
        made = self._new_connection(connection_name or "sim-ipsec-%s" % secrets.token_hex(4), state=state,
                                    status=status, job_seconds=job_seconds, fail=fail, immediate=immediate,
                                    auth_key=auth_key, uuid=uuid)
        inventory = self.connections[made]["inventory"]
        return {"uuid": made, "name": inventory["name"], "auth_key": inventory["authKey"]}

    @command
    def create_connections(self, count, prefix=None, state="Enabled", job_seconds=None, fail=(),
                           job_seconds_each=None):
        """``count`` new connections named ``<prefix>-001`` ... (prefix random unless given), each
        with its own job: ``job_seconds`` for all, or ``job_seconds_each`` (a list, one per
        connection); the ones whose 0-based index is in ``fail`` fail their jobs."""
        prefix = prefix or "sim-bulk-%s" % secrets.token_hex(3)
        failing = set(int(i) for i in fail or ())
        made = []
        for i in range(int(count)):
            seconds = job_seconds_each[i] if job_seconds_each else job_seconds
            uuid = self._new_connection("%s-%03d" % (prefix, i + 1), state=state, job_seconds=seconds,
                                        fail=i in failing)
            inventory = self.connections[uuid]["inventory"]
            made.append({"uuid": uuid, "name": inventory["name"], "auth_key": inventory["authKey"]})
        return {"prefix": prefix, "connections": made}

    @command
    def set_connection(self, uuid, state=None, status=None, job_seconds=None, fail=None, immediate=None):
        conn = self.connections[uuid]
        if state is not None:
            conn["inventory"]["state"] = state
        if status is not None:
            conn["inventory"]["status"] = status
        if job_seconds is not None:
            conn["job_seconds"] = float(job_seconds)
        if fail is not None:
            conn["fail"] = bool(fail)
        if immediate is not None:
            conn["immediate"] = bool(immediate)
        return self.connection(uuid)

    @command
    def connection(self, uuid):
        """The connection as it is now (without asking for a session)."""
        self._advance()
        inventory = self.connections[uuid]["inventory"]
        return {"uuid": uuid, "state": inventory["state"], "status": inventory["status"],
                "lastOpDate": inventory["lastOpDate"]}

    @command
    def configure(self, job_seconds=None, retry_after=None, location_base=None, job_ttl=None,
                  next_session_seconds=None):
        """Appliance-wide knobs: default job duration, Retry-After on running jobs, location base,
        seconds a finished job is kept (then its polling address answers 404), and the lifetime of
        the next session made by a login (a session that expires in the middle of a run)."""
        if next_session_seconds is not None:
            self.next_session_seconds = float(next_session_seconds)
        if job_seconds is not None:
            self.job_seconds = float(job_seconds)
        if job_ttl is not None:
            self.job_ttl = float(job_ttl)
        if retry_after is not None:
            self.retry_after = retry_after or None
        if location_base is not None:
            self.location_base = location_base
        return {"job_seconds": self.job_seconds, "retry_after": self.retry_after,
                "location_base": self.location_base, "job_ttl": self.job_ttl,
                "next_session_seconds": self.next_session_seconds}

    @command
    def expire_jobs(self):
        """Every finished job expires (its polling address answers 404 from now on)."""
        self._advance()
        count = 0
        for job in self.jobs.values():
            if job.finished_at is not None and not job.expired:
                job.expired = True
                count += 1
        return {"expired": count}

    @command
    def jobs(self, connection_uuid=None):
        self._advance()
        return {"jobs": [{"uuid": j.uuid, "connection_uuid": j.connection_uuid, "state_event": j.state_event,
                          "finished": j.finished_at is not None, "failed": j.error is not None,
                          "error_code": (j.error or {}).get("code")}
                         for j in self.jobs.values()
                         if connection_uuid is None or j.connection_uuid == connection_uuid]}

    @command
    def sessions(self):
        """Sessions still open (uuids) and those logged out, in order."""
        now = self.now()
        return {"open": [u for u, s in self.sessions.items() if s["expires"] > now],
                "expired": [u for u, s in self.sessions.items() if s["expires"] <= now],
                "logged_out": list(self.logged_out)}

    @command
    def login_session(self):
        """A session made as a user would with zstack-cli, for the session_uuid option."""
        reply = self.login(_Fake({"logInByAccount": {
            "accountName": self.username, "password": hashlib.sha512(self.password.encode()).hexdigest()}}))
        return {"session_uuid": reply.body["inventory"]["uuid"]}

    def describe(self):
        return {
            "username": self.username, "password": self.password,
            "api_root": API, "location_base": self.location_base, "job_seconds": self.job_seconds,
            "samples": dict(self.samples), "auth_keys": dict(self.auth_keys),
        }


class _Fake:
    """A request made by the simulator itself (control commands)."""

    def __init__(self, body):
        self.body = json.dumps(body).encode()
        self.headers = {}

    def json(self):
        return json.loads(self.body.decode())


def build(sim):
    return [ZStack(sim)]
