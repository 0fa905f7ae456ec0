# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to ZStack Cloud: the session (``logInByAccount`` with the SHA-512 digest of the
password, ``Authorization: OAuth <session>``, renewed once when ZStack says ``ID.1001``, logged
out at the end), the error body ``{"error": {code, description, details, cause}}``, queries
(``?q=field=value`` -> ``inventories``), and asynchronous APIs: 202 with a ``location`` to poll
(202 while running, 200 with the result, 503 with the error, 404 once the job has expired).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import threading
import uuid as uuidlib
from contextlib import contextmanager

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover
    from urllib import quote
    from urlparse import urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec, require_credentials, validate_connection,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, base_url, describe_text, parse_retry_after, vendor_text,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError, TransportError, WaitError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import (
    Status, WaitResult, wait_until,
)

API_ROOT = "/zstack/v1"
VENDOR = "ZStack"
ENV_PREFIX = "ZSTACK_"
DEFAULT_PORT = 8080
JOB_HEADER = "X-Job-UUID"
ERROR_AUTHENTICATION = "ID.1000"
ERROR_INVALID_SESSION = "ID.1001"
# ZStack answers every failed API call with 503 and its error body: that is a final answer,
# not an overloaded server. Only "management node unavailable" is worth asking again.
TRANSIENT_ERROR_CODES = frozenset(("SYS.1012",))
UUID_FORM = re.compile(r"^[0-9a-fA-F]{32}$")
UUID_TEXT = "a ZStack UUID (32 hexadecimal characters, no dashes)"
# Query operators that ZStack finds in a condition before '=': a value containing one of them
# cannot be matched with 'field=value'.
QUERY_OPERATORS = ("!=", ">=", "<=", "~=", "?=")
SECRET_FIELDS = frozenset(("authKey",))
MASK = "********"
# Below this length a secret is masked in its field only: masking it everywhere in the output
# would garble unrelated text.
MIN_NO_LOG_LENGTH = 6
# New logins after ID.1001 in one run: one per expired session, and no more than this in all
# (a session that keeps being refused is not worth a login storm).
RENEWALS_PER_RUN = 3


def argument_spec():
    spec = connection_spec(ENV_PREFIX)
    spec["session_uuid"] = dict(type="str", no_log=True,
                                fallback=(env_fallback, [ENV_PREFIX + "SESSION_UUID"]))
    return spec


def parse_error(body):
    """(code, message, correlation id) of a ZStack error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    return vendor_text(error.get("code")), describe_error(error), None


def describe_error(error):
    """'description: details', then each cause, of a ZStack ``ErrorCode``."""
    parts = []
    current = error
    for depth in range(5):
        if not isinstance(current, dict):
            break
        description = (vendor_text(current.get("description")) or "").strip().rstrip(".")
        details = (vendor_text(current.get("details")) or "").strip()
        text = description
        if details and details != description:
            text = "%s: %s" % (description, details) if description else details
        if depth:
            text = "caused by %s: %s" % (vendor_text(current.get("code")), text)
        parts.append(text or "(no description)")
        current = current.get("cause")
    return "; ".join(parts)


def password_digest(password):
    """What ZStack expects as the password: its SHA-512 hex digest."""
    return hashlib.sha512(password.encode("utf-8")).hexdigest()


def new_job_uuid():
    """An ``X-Job-UUID``: a random (v4) UUID without dashes."""
    return uuidlib.uuid4().hex


def job_path(job_uuid):
    return "%s/api-jobs/%s" % (API_ROOT, quote(job_uuid, safe=""))


def job_uuid_from(location):
    """The job uuid in a ``location`` such as ``http://10.0.0.5:8080/zstack/v1/api-jobs/<uuid>``.

    Only the uuid is kept: the host in ``location`` is the management node's own address, which
    may not be reachable from here, so the polling URL is rebuilt on the user's base URL.
    """
    if not isinstance(location, str):
        return None
    path = urlsplit(location.strip()).path.rstrip("/")
    head, tail = path.rsplit("/", 1) if "/" in path else ("", path)
    if head.endswith("/api-jobs") and UUID_FORM.match(tail):
        return tail
    return None


def masked(inventory):
    """A copy of an inventory with its secrets (the IPsec pre-shared ``authKey``) masked."""
    if isinstance(inventory, dict):
        return dict((k, MASK if k in SECRET_FIELDS and v else masked(v)) for k, v in inventory.items())
    if isinstance(inventory, list):
        return [masked(v) for v in inventory]
    return inventory


def protect(module, inventory):
    """Keep the secrets of an inventory out of every output, wherever they might be echoed."""
    if isinstance(inventory, dict):
        for key, value in inventory.items():
            if key in SECRET_FIELDS and isinstance(value, str) and len(value) >= MIN_NO_LOG_LENGTH:
                module.no_log_values.add(value)
            else:
                protect(module, value)
    elif isinstance(inventory, list):
        for value in inventory:
            protect(module, value)


def check_uuid(params, option):
    value = params.get(option)
    if value is not None and not UUID_FORM.match(value):
        shown = "" if option == "session_uuid" else ", got %r" % value  # never echo a secret
        raise InputError(option, "must be %s%s" % (UUID_TEXT, shown))


def check_query_value(params, option):
    value = params.get(option)
    if value is None:
        return
    if not value.strip():
        raise InputError(option, "must not be empty")
    found = [op for op in QUERY_OPERATORS if op in value]
    if found:
        raise InputError(option, "ZStack's query syntax cannot match a value containing %s, got %r; "
                                 "use the uuid instead" % (" or ".join(repr(op) for op in found), value))


def query(client, resource, conditions=None):
    """The ``inventories`` of a ZStack query, e.g. ``query(client, "ipsec", ["name=x"])``."""
    reply = client.get("%s/%s" % (API_ROOT, resource), params={"q": conditions} if conditions else None)
    body = reply.body if isinstance(reply.body, dict) else {}
    return [i for i in body.get("inventories") or [] if isinstance(i, dict)]


# Rows asked for per query page, and values put in one ``?=`` list (keeps the URL short).
PAGE_SIZE = 1000
LIST_CHUNK = 100


def query_all(client, resource, conditions=None, page_size=None):
    """Every inventory matching ``conditions`` (ANDed), page by page (``limit``/``start`` with
    ``replyWithCount``, ``PAGE_SIZE`` rows unless told), so a large result is never cut at
    ZStack's default limit."""
    page_size = page_size or PAGE_SIZE
    found = []
    while True:
        params = {"limit": page_size, "start": len(found), "replyWithCount": "true"}
        if conditions:
            params["q"] = list(conditions)
        reply = client.get("%s/%s" % (API_ROOT, resource), params=params)
        body = reply.body if isinstance(reply.body, dict) else {}
        page = [i for i in body.get("inventories") or [] if isinstance(i, dict)]
        found.extend(page)
        total = body.get("total")
        if not page or len(page) < page_size or not isinstance(total, int) or len(found) >= total:
            return found


def query_in(client, resource, field, values):
    """Every inventory whose ``field`` is one of ``values``: one ``field?=a,b,...`` query per
    ``LIST_CHUNK`` values (a value containing a comma cannot be in such a list: it gets a
    ``field=value`` query of its own)."""
    values = list(dict.fromkeys(values))
    listed = [v for v in values if "," not in v]
    found = []
    for start in range(0, len(listed), LIST_CHUNK):
        chunk = listed[start:start + LIST_CHUNK]
        found.extend(query_all(client, resource, ["%s?=%s" % (field, ",".join(chunk))]))
    for value in values:
        if "," in value:
            found.extend(query_all(client, resource, ["%s=%s" % (field, value)]))
    return found


class ErrorPolicy:
    """ZStack's view of an error: a 503 carrying a ZStack error body is ZStack's final word
    (only a few codes are worth asking again), and an invalid session gets a hint."""

    # What to tell the user when ZStack says the session is invalid (set by ``Session``).
    invalid_session_hint = None

    def __call__(self, err):
        if isinstance(err.error, dict) and isinstance(err.error.get("error"), dict):
            err.transient = err.vendor_code in TRANSIENT_ERROR_CODES
            if err.vendor_code == ERROR_INVALID_SESSION and self.invalid_session_hint:
                err.msg = "%s (%s)" % (err.msg, self.invalid_session_hint)


class Session:
    """The ZStack session of one module run.

    Either ours (logged in with username and password, replaced by a new login when ZStack
    reports it invalid, logged out at the end) or the user's (``session_uuid``: used as it is,
    never renewed nor logged out). Requests on several threads that find the session expired
    share one new login.
    """

    def __init__(self, module, client):
        params = module.params
        self.module = module
        self.client = client
        self.own = not params.get("session_uuid")
        self.username = params.get("username")
        self._digest = password_digest(params["password"]) if self.own else None
        if self._digest:
            module.no_log_values.add(self._digest)
        self.uuid = None
        self.renewals = 0
        # Reentrant: the login of a renewal goes through the client, whose hook is this object.
        self._lock = threading.RLock()
        if not self.own:
            self._use(params["session_uuid"])
            client.refine_error.invalid_session_hint = (
                "the session given in session_uuid is invalid or has expired: log in again and pass "
                "the new session uuid")

    def _use(self, session_uuid):
        self.uuid = session_uuid
        self.module.no_log_values.add(session_uuid)
        self.client.session.headers["Authorization"] = "OAuth %s" % session_uuid

    def login(self):
        body = {"logInByAccount": {"accountName": self.username, "password": self._digest}}
        try:
            reply = self.client.put(API_ROOT + "/accounts/login", json=body)
        except ApiError as exc:
            hint = " (check username and password)" if exc.vendor_code == ERROR_AUTHENTICATION else ""
            raise ApiError("ZStack login as %r failed%s: %s" % (self.username, hint, exc.msg),
                           **exc.context)
        inventory = (reply.body or {}).get("inventory") if isinstance(reply.body, dict) else None
        session_uuid = (inventory or {}).get("uuid")
        if not session_uuid:
            raise ApiError("PUT %s/accounts/login: ZStack answered without a session uuid: %s"
                           % (API_ROOT, describe_text(str(reply.body))), status_code=reply.status)
        self._use(session_uuid)

    def renew(self, exc, generation):
        """The client's ``renew_login`` hook: when ZStack says our session is invalid, log in
        again - once per expired session, however many requests found it expired at once. A
        request sent before another one renewed the session is just sent again (``True``)."""
        if not self.own or getattr(exc, "vendor_code", None) != ERROR_INVALID_SESSION:
            return False
        with self._lock:
            if self.client.login_generation != generation:
                return True  # renewed since this request went out: send it with the new session
            if self.renewals >= RENEWALS_PER_RUN:
                return False
            self.renewals += 1
            self.uuid = None  # the expired session needs no logout
            self.login()
            self.client.login_generation += 1
            return True

    def logout(self):
        """Close the session we opened (``DELETE /zstack/v1/accounts/sessions/{uuid}``)."""
        if not self.own or self.uuid is None:
            return
        session_uuid, self.uuid = self.uuid, None
        try:
            self.client.delete("%s/accounts/sessions/%s" % (API_ROOT, session_uuid), expect_json=False)
        except HybridCloudError as exc:
            # The path holds the session uuid: say what failed without it.
            self.module.warn("Could not log out of the ZStack session opened by this task "
                             "(HTTP %s): %s" % (getattr(exc, "status_code", None) or "no answer",
                                                exc.msg.replace(session_uuid, MASK)))


def make_client(module, **kwargs):
    """Check the connection options and build the client (no request is sent)."""
    params = module.params
    validate_connection(params)
    check_uuid(params, "session_uuid")
    require_credentials(params, alternative="session_uuid")
    base = base_url(params["host"], default_scheme="http", default_port=DEFAULT_PORT, api_root=API_ROOT)
    # As many pooled connections as requests may be in flight, so none is opened per request.
    kwargs.setdefault("pool_size", max(10, params.get("max_concurrent") or 0))
    client = ApiClient.from_params(params, module._name, base, vendor=VENDOR, parse_error=parse_error,
                                   **kwargs)
    client.refine_error = ErrorPolicy()
    return client


@contextmanager
def connect(module, client=None):
    """A logged-in ``ApiClient``; the session we opened is logged out however the block ends."""
    client = client or make_client(module)
    session = Session(module, client)
    client.renew_login = session.renew
    try:
        if session.own:
            session.login()
        yield client
    finally:
        try:
            session.logout()
        finally:
            client.close()


class AsyncCall:
    """One call of an asynchronous ZStack API and the job that carries it out.

    The call carries our own ``X-Job-UUID``: when its reply is lost, the job is followed by that
    uuid instead of sending the call again. It is sent again only when ZStack did not run it:
    the client re-sends it (same uuid) after an ``ID.1001`` answer and a new login, a 429 or a
    refused connection; and ``_failed`` re-sends it once (new uuid) when the job itself failed with
    ``ID.1001`` and a fresh read shows the change is not in place. Each repeat is of a call ZStack
    did not run, and a state change sent again changes nothing.

    ``taken`` says whether ZStack may have taken the call (it accepted it, or the reply was lost);
    ``unapplied`` that it is known the change was not made (the job failed, or never existed).
    """

    def __init__(self, client, path, body):
        self.client = client
        self.path = path
        self.body = body
        self.job_uuid = None
        self.taken = False
        self.unapplied = False
        self.generation = None   # the client's login generation when the call was sent
        self.lost_at = None      # when the reply to the call was given up on
        self.lost = False        # no reply to the call: the job may or may not exist
        self.result = None       # the body of the job's (or the call's immediate) success
        self.error = None        # the ``error`` of a failed job
        self.renewed = False     # the session was renewed for this job's ID.1001
        self.resent = False
        self.gone = None         # ZStack's text when it no longer knows the job (404)
        self.warnings = []

    def send(self):
        """PUT the call with a fresh job uuid; note an immediate result or a lost reply. An
        error that shows ZStack did not take the call is raised as it is."""
        self.generation = self.client.login_generation
        previous, self.job_uuid = self.job_uuid, new_job_uuid()
        self.lost = False
        self.result = self.error = None
        try:
            reply = self.client.put(self.path, json=self.body, headers={JOB_HEADER: self.job_uuid},
                                    idempotent=False, ok=(200, 202), expect_json=False)
        except TransportError as exc:
            if exc.refused or exc.tls:
                self._refused(previous)
                raise  # it never reached ZStack
            self._lost(exc)
            return
        except ApiError as exc:
            # A gateway's 502/504 (or a 503 without ZStack's error body) may come after ZStack took
            # the call: follow the job by our uuid. ZStack's own errors and 429 mean it did not.
            if not exc.transient or exc.status_code == 429:
                self._refused(previous)
                raise
            self._lost(exc)
            return
        self.taken = True
        body = reply.body if isinstance(reply.body, dict) else None
        if reply.status == 200:
            self.result = body or {}
            return
        located = job_uuid_from((body or {}).get("location"))
        if located is None:
            self.warnings.append("ZStack accepted PUT %s without a usable location (%s); following job %s "
                                 "by the X-Job-UUID sent."
                                 % (self.path, describe_text(reply.text or ""), self.job_uuid))
        self.job_uuid = located or self.job_uuid

    def _refused(self, previous):
        # ZStack did not take this call, and an earlier one (a job refused for its session) did
        # nothing either: there is no job of ours to report.
        self.job_uuid = previous
        self.taken = False
        self.unapplied = True

    def _lost(self, exc):
        self.lost, self.lost_at, self.taken = True, self.client.clock(), True
        self.warnings.append("The reply to PUT %s was lost (%s); followed ZStack job %s instead of "
                             "sending the call again." % (self.path, exc.msg, self.job_uuid))

    def check(self):
        """Read the job once: ``(state, retry_after)`` with state one of processing, succeeded,
        failed or unknown (404: never registered, or expired)."""
        path = job_path(self.job_uuid)
        reply = self.client.get(path, ok=(200, 202, 404, 503), expect_json=False)
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        body = reply.body if isinstance(reply.body, dict) else None
        if reply.status == 202:
            return "processing", retry_after
        if reply.status == 404:
            self.gone = describe_text(reply.text or "")
            return "unknown", retry_after
        if reply.status == 200 and body is not None:
            self.result = body
            return "succeeded", retry_after
        if reply.status == 503 and body is not None and isinstance(body.get("error"), dict):
            self.error = body["error"]
            return "failed", retry_after
        # A garbled body, or a proxy's 503 page: not the job's answer, ask again.
        err = ApiError("GET %s: HTTP %d without a ZStack job answer: %s"
                       % (path, reply.status, describe_text(reply.text or "")),
                       method="GET", path=path, status_code=reply.status,
                       error={"text": (reply.text or "")[:2000]}, retry_after=retry_after)
        err.transient = True
        raise err

    def job_error(self):
        """The failed job's error as an ``ApiError`` (what the renew hook looks at)."""
        return ApiError("ZStack job %s failed: %s error %s: %s"
                        % (self.job_uuid, VENDOR, self.error.get("code"), describe_error(self.error)),
                        method="GET", path=job_path(self.job_uuid), status_code=503,
                        error={"error": self.error}, vendor_code=self.error.get("code"))


def run_async(client, path, body, what, wait, timeout, sleep_cap, settled, current, result_key=None):
    """Call an asynchronous ZStack API and, with ``wait``, follow its job to the end.

    ``what`` says what the call is for (used in messages). ``settled()`` reads the resource and
    returns its masked inventory when the change is visible, else None: it tells what a job
    that ZStack no longer knows (404) meant, and whether a job refused for an expired session
    must be sent again. ``current`` (masked) is reported while the job runs and on timeout
    (under ``result_key`` in the failure). Returns ``(call, WaitResult)``; the result's ``obj``
    is the masked inventory.
    """
    call = AsyncCall(client, path, body)
    call.send()
    if call.result is not None:  # answered at once
        return call, _immediate(call, settled, current)
    if not wait and not call.lost:
        result = WaitResult()
        result.obj, result.state = current, "accepted"
        result.history = [{"state": "accepted", "elapsed": 0.0}]
        return call, result
    poll = _job_poll(call, what, settled, current, accepted_is_enough=not wait)
    try:
        result = wait_until(poll, "ZStack job %s (%s)" % (call.job_uuid, what), timeout, sleep_cap,
                            result_key=result_key, client=client,
                            clock=client.clock, sleep=client.sleep, rng=client.rng)
    except HybridCloudError as exc:
        exc.context["job_uuid"] = call.job_uuid
        if isinstance(exc, WaitError) and call.error is not None:
            exc.context.update(status_code=503, error={"error": call.error},
                               vendor_code=call.error.get("code"))
        raise
    return call, result


def async_poll(client, path, body, what, wait, settled, current):
    """``(call, poll)`` for one of many asynchronous calls followed together by ``wait_all``.

    The call is sent by the poll's first run, so the waiter's worker budget also bounds the
    calls in flight; after that the poll follows the job as ``run_async`` does. An error of the
    call itself ends that item (the waiter does not send it again), and a call whose turn comes
    after the shared deadline is not sent at all."""
    call = AsyncCall(client, path, body)
    follow = []

    def poll():
        if follow:
            return follow[0]()
        if client.deadline is not None and client.clock() >= client.deadline:
            # Its turn came after the shared deadline: a change sent now could not be followed.
            raise HybridCloudError("Not sent: wait_timeout had passed before its turn came (raise wait_timeout, "
                                   "or max_concurrent); nothing was changed. Run the task again to change it.")
        try:
            call.send()
        except HybridCloudError as exc:
            exc.transient = False  # the waiter must not run the send again
            raise
        if call.result is not None:
            done = _immediate(call, settled, current)
            return Status(done.state, obj=done.obj, done=True)
        if not wait and not call.lost:
            return Status("accepted", obj=current, done=True)
        follow.append(_job_poll(call, what, settled, current, accepted_is_enough=not wait))
        return Status("sent", obj=current, detail="sent as ZStack job %s" % call.job_uuid)

    return call, poll


def _immediate(call, settled, current):
    result = WaitResult()
    inventory = call.result.get("inventory")
    result.obj = masked(inventory) if isinstance(inventory, dict) else (settled() or current)
    result.state, result.done = "succeeded", True
    result.history = [{"state": "succeeded", "elapsed": 0.0}]
    return result


def _job_poll(call, what, settled, current, accepted_is_enough=False):
    """The waiter's view of the job: one ``Status`` per read."""
    client = call.client
    # A call whose reply was lost may still be on its way through ZStack: for as long again as
    # the call itself was given (the request timeout), a 404 means "not registered yet".
    grace = client.timeout

    def poll():
        state, retry_after = call.check()
        if state == "processing":
            return Status("processing", obj=current, done=accepted_is_enough, retry_after=retry_after,
                          detail="ZStack job %s is still running" % call.job_uuid)
        if state == "succeeded":
            if accepted_is_enough:
                return Status("succeeded", obj=current, done=True)
            inventory = call.result.get("inventory")
            return Status("succeeded", obj=masked(inventory) if isinstance(inventory, dict)
                          else (settled() or current), done=True)
        if state == "failed":
            return _failed(call, what, settled, current)
        if call.lost and client.clock() - call.lost_at < grace:
            return Status("not_registered", obj=current, retry_after=retry_after,
                          detail="ZStack has no job %s yet; the lost call may still be in flight" % call.job_uuid)
        inventory = settled()
        if inventory is not None:
            call.warnings.append("ZStack no longer knows job %s (HTTP 404: %s), but the change is in place."
                                 % (call.job_uuid, call.gone))
            return Status("done", obj=inventory, done=True)
        call.unapplied = True
        if call.lost:
            why = ("was never registered: the reply to the call was lost and ZStack still did not know the "
                   "job %s s later, so the change was not made. Nothing was sent again: run the task again"
                   % grace)
        else:
            why = ("is no longer known to ZStack (HTTP 404: %s; finished jobs expire) and the change is not "
                   "in place" % call.gone)
        return Status("unknown", obj=current, failure="ZStack job %s (%s) %s." % (call.job_uuid, what, why))

    return poll


def _failed(call, what, settled, current):
    """A failed job; one whose session expired is looked at with a new session, then sent again once."""
    client = call.client
    if call.error.get("code") == ERROR_INVALID_SESSION:
        if not call.renewed:
            call.renewed = True
            if client.renew_login is not None and client.renew_login(call.job_error(), call.generation):
                # Read the job again with the new session: it may be running after all.
                return Status("session_renewed", obj=current)
        elif not call.resent:
            inventory = settled()
            if inventory is not None:
                return Status("done", obj=inventory, done=True)
            call.resent = True
            call.send()
            if call.result is not None:
                inventory = call.result.get("inventory")
                return Status("succeeded", obj=masked(inventory) if isinstance(inventory, dict)
                              else (settled() or current), done=True)
            return Status("resent", obj=current,
                          detail="sent again as ZStack job %s after a new login" % call.job_uuid)
    call.unapplied = True
    hint = ""
    if call.error.get("code") == ERROR_INVALID_SESSION and client.refine_error.invalid_session_hint:
        hint = " (%s)" % client.refine_error.invalid_session_hint
    return Status("failed", obj=current, failure="ZStack job %s (%s) failed%s: %s error %s: %s" % (
        call.job_uuid, what, hint, VENDOR, call.error.get("code"), describe_error(call.error)))
