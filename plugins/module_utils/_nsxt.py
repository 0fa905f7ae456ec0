# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to VMware NSX: basic or certificate auth, the NSX error body (``error_code``,
``error_message``, ``related_errors``), the ``x-nsx-requestid`` correlation header, and what the
states of an IPsec VPN session mean in both API generations:

- Manager API (``/api/v1``, NSX-T 3.x/4.x; removed in NSX 9.0): the session state API and its
  ConfigurationState values, ``PUT`` with ``_revision``;
- Policy API (``/policy/api/v1``): session paths, realized entities of an intent (tied to one
  change by the intent's ``_last_modified_time``), and the tunnel's ``detailed-status``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from contextlib import contextmanager

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, vendor_text,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError, InputError
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import Status, WaitResult, wait_all

API_ROOT = "/api/v1"
POLICY_ROOT = "/policy/api/v1"
VENDOR = "NSX"
CORRELATION_HEADER = "x-nsx-requestid"
# NSX admits 100 requests/s per client (then 429, error_code "102") and 40 concurrent requests
# per client (then 503). Following many sessions, stay well inside both.
MAX_REQUESTS_PER_SECOND = 50
MAX_CONCURRENT_REQUESTS = 16

ERROR_SERVICE_DISABLED = "110199"
ERROR_NOT_FOUND = "600"
POLICY_NOT_FOUND_CODES = frozenset(("500090", "600"))
MASK = "********"

# ConfigurationState: "in_sync" = the host has received the configuration; "success" = it is in
# effect. States named *FAILED*/*ERROR* (and partial_success, orphaned) are final failures;
# everything else (pending, in_progress, unknown, NOT_AVAILABLE, ...) is still moving.
REALIZED_STATES = frozenset(("in_sync", "success"))
IN_EFFECT_STATES = frozenset(("success",))
FAILED_STATES = frozenset(("error", "failed", "partial_success", "orphaned"))


def argument_spec():
    return connection_spec("NSXT_", host_env="NSXT_MANAGER_HOST", client_cert=True)


def parse_error(body):
    """(code, message, correlation id) of an NSX ApiError body."""
    if not isinstance(body, dict):
        return None, None, None
    message = vendor_text(body.get("error_message"))
    related = body.get("related_errors")
    extra = [vendor_text(r.get("error_message")) for r in related if isinstance(r, dict)] \
        if isinstance(related, list) else []
    extra = [text for text in extra if text]
    if extra:
        message = "%s (%s)" % (message or "", "; ".join(extra))
    return vendor_text(body.get("error_code")), message, None


def make_client(module, pool_size=1, **kwargs):
    """An ``ApiClient`` for NSX (``kwargs``: clock, sleep, rng for tests)."""
    return ApiClient.basic_or_certificate(module.params, module._name, API_ROOT, vendor=VENDOR,
                                          parse_error=parse_error, correlation_header=CORRELATION_HEADER,
                                          pool_size=pool_size, **kwargs)


@contextmanager
def connect(module, pool_size=1):
    """An ``ApiClient`` for NSX Manager, closed when the block ends."""
    with make_client(module, pool_size=pool_size) as client:
        yield client


def session_state_path(session_id):
    return "%s/vpn/ipsec/sessions/%s/state" % (API_ROOT, quote(session_id, safe=""))


def is_failed_state(state):
    text = str(state or "")
    return text in FAILED_STATES or "FAILED" in text.upper() or "ERROR" in text.upper()


def describe_failure(state_body):
    """The overall state and message, then each transport node that reported a problem."""
    head = "state %s" % state_body.get("state")
    if state_body.get("failure_code") is not None:
        head += " (failure_code %s)" % state_body["failure_code"]
    if state_body.get("failure_message"):
        head += ": %s" % state_body["failure_message"]
    nodes = []
    for node in state_body.get("details") or []:
        if not isinstance(node, dict):
            continue
        if node.get("state") in REALIZED_STATES and not node.get("failure_message"):
            continue
        nodes.append("%s %s is %s%s" % (
            node.get("sub_system_type") or "node", node.get("sub_system_id") or "?",
            node.get("state"), ": %s" % node["failure_message"] if node.get("failure_message") else ""))
    return " ".join([head.rstrip(".") + "."] + [n.rstrip(".") + "." for n in nodes])


def is_not_found(exc):
    """A 404 of a session in NSX's own words: Manager error 600, Policy 500090 (or 600). A 404
    without NSX's error body (a proxy's page, a wrong path prefix in ``host``) is not one."""
    return getattr(exc, "status_code", None) == 404 and str(exc.vendor_code) in POLICY_NOT_FOUND_CODES


def explained(exc):
    """``exc``, or for a 404 that is not NSX's own a copy whose message says what it may be."""
    if getattr(exc, "status_code", None) != 404 or exc.vendor_code is not None:
        return exc
    return ApiError("%s. That is a 404 without NSX's error body, so it is not taken for a missing "
                    "session: is there a path prefix in host, or a proxy in front of NSX Manager that "
                    "does not lead to it?" % exc.msg.rstrip("."), **_context(exc))


def json_object(reply, method, path):
    """The body of a successful answer when it must be a JSON object (a session, a state, a
    list of results): anything else is a clear ``ApiError`` naming the request, worth asking
    again for a read. The body itself is not quoted: it may hold a pre-shared key."""
    body = reply.body
    if isinstance(body, dict):
        return body
    kind = {list: "a JSON list", str: "a JSON string", bool: "a JSON boolean", int: "a JSON number",
            float: "a JSON number"}.get(type(body), "an empty body" if body is None else "JSON")
    err = ApiError("%s %s: HTTP %s with %s where NSX sends a JSON object" % (method, path, reply.status, kind),
                   method=method, path=path, status_code=reply.status)
    err.transient = method == "GET"  # a garbled answer to a read is worth asking again
    raise err


def get_object(client, path, params=None):
    """GET ``path`` and return its body, a JSON object (``json_object``)."""
    return json_object(client.get(path, params=params), "GET", path)


def is_enabled(session):
    """A session's ``enabled``: NSX's default is true, so a session without it is enabled."""
    value = session.get("enabled")
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    raise ApiError("NSX IPsec VPN session %s: enabled is %r, where NSX sends true or false"
                   % (session.get("path") or session.get("id") or "?", value))


def modified_time(obj):
    """``_last_modified_time`` (epoch ms) of an NSX object, or None unless it is an integer."""
    value = obj.get("_last_modified_time") if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def session_path(session_id):
    return "%s/vpn/ipsec/sessions/%s" % (API_ROOT, quote(session_id, safe=""))


def session_status_path(session_id):
    return "%s/vpn/ipsec/sessions/%s/status" % (API_ROOT, quote(session_id, safe=""))


# -- secrets -----------------------------------------------------------------------------------
def psk_values(obj):
    """Every pre-shared key in a session object (Policy sessions carry ``psk``)."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "psk" and isinstance(value, str) and value and value != MASK:
                found.append(value)
            else:
                found.extend(psk_values(value))
    elif isinstance(obj, list):
        for item in obj:
            found.extend(psk_values(item))
    return found


def masked(obj):
    """A copy of ``obj`` with every ``psk`` replaced by a mask (for results only, never sent)."""
    if isinstance(obj, dict):
        return dict((k, MASK if k == "psk" and v else masked(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [masked(item) for item in obj]
    return obj


# -- Policy paths ---------------------------------------------------------------------------------
_SEGMENT = r"[^/?#%\s]+"
POLICY_SESSION_PATH = re.compile(
    r"^(?:%(root)s)?(?P<path>(?P<scope>/orgs/(?P<org>%(s)s)/projects/(?P<project>%(s)s))?"
    r"/infra/tier-(?P<tier>[01])s/(?P<gateway>%(s)s)(?:/locale-services/%(s)s)?"
    r"/ipsec-vpn-services/(?P<service>%(s)s)/sessions/(?P<session>%(s)s))/?$"
    % {"root": re.escape(POLICY_ROOT), "s": _SEGMENT})
PATH_FORMS = ("/infra/tier-0s/<tier-0>/ipsec-vpn-services/<service>/sessions/<session>, the same under "
              "tier-1s, or /orgs/<org>/projects/<project>/infra/tier-1s/..., with or without the "
              "%s prefix" % POLICY_ROOT)


class PolicyPath:
    """A Policy path of an IPsec VPN session, checked before any request is sent."""

    __slots__ = ("path", "scope", "session_id", "tier")

    def __init__(self, path, scope, session_id, tier):
        self.path = path              # without the /policy/api/v1 prefix: NSX's own ``path``
        self.scope = scope or ""      # /orgs/<org>/projects/<project> of a project session, or ""
        self.session_id = session_id
        self.tier = tier

    @property
    def url(self):
        return POLICY_ROOT + quote(self.path, safe="/:")

    @property
    def detailed_status_url(self):
        return self.url + "/detailed-status"

    def realized_entities(self):
        """(request path, query) of the realized entities of this intent; a project's objects
        are read in their project's scope, with the full intent path."""
        return (POLICY_ROOT + self.scope + "/infra/realized-state/realized-entities",
                {"intent_path": self.path})

    def __str__(self):
        return self.path


def parse_session_path(value, option="session_path"):
    """A ``PolicyPath`` from what the user wrote, or ``InputError`` naming ``option``."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(option, "must be the Policy path of an IPsec VPN session (%s), got an empty "
                                 "string" % PATH_FORMS)
    if "?" in value or "#" in value:
        raise InputError(option, "must be a Policy path without a query string or fragment, got %r" % value)
    if "://" in value:
        raise InputError(option, "must be a Policy path, not a URL (the host goes in host), got %r" % value)
    segments = value.split("/")
    if ".." in segments or "." in segments or "//" in value:
        raise InputError(option, "must be a Policy path without '.', '..' or empty segments, got %r" % value)
    match = POLICY_SESSION_PATH.match(value)
    if match is None:
        raise InputError(option, "must be the Policy path of an IPsec VPN session (%s), got %r"
                         % (PATH_FORMS, value))
    if match.group("scope") and match.group("tier") != "1":
        raise InputError(option, "a project's IPsec VPN sessions live under tier-1s, got %r" % value)
    return PolicyPath(match.group("path"), match.group("scope"), match.group("session"),
                      "tier-%ss" % match.group("tier"))


# -- Policy realization ------------------------------------------------------------------------------
ENTITY_REALIZED = "REALIZED"
ENTITY_ERROR = "ERROR"
# What the whole intent is when no entity counts (yet): none at all, or only ones from before
# the change being followed (changed_since).
NO_ENTITY = "NO_ENTITY"
STALE = "STALE"


def _alarm_messages(entity):
    messages = []
    for alarm in entity.get("alarms") or []:
        if not isinstance(alarm, dict):
            continue
        text = vendor_text(alarm.get("message"))
        details = alarm.get("error_details")
        if not text and isinstance(details, dict):
            text = vendor_text(details.get("error_message"))
        if text:
            messages.append(text)
    return messages


def evaluate_realization(body, changed_since=None):
    """What the realized entities of an intent say, as a dict:

    ``state`` (REALIZED when every counted entity is; ERROR when any is; else the least advanced
    state: UNREALIZED, UNAVAILABLE, NO_ENTITY or STALE), ``entities`` (those counted, alarms kept),
    ``ignored_entities`` (how many were last modified before ``changed_since``, epoch ms) and
    ``failure`` (every alarm's message, when ERROR).
    """
    results = body.get("results") if isinstance(body, dict) else None
    results = [e for e in results or [] if isinstance(e, dict)]
    # After a change, an entity counts only when it is provably from after it: one without an
    # integer _last_modified_time cannot be, so it is ignored like one from before.
    counted = [e for e in results if changed_since is None
               or (modified_time(e) is not None and modified_time(e) >= changed_since)]
    report = dict(entities=counted, ignored_entities=len(results) - len(counted), failure=None)
    states = [str(e.get("state") or "UNAVAILABLE").upper() for e in counted]
    if not counted:
        report["state"] = STALE if results else NO_ENTITY
    elif ENTITY_ERROR in states:
        report["state"] = ENTITY_ERROR
        messages = []
        for entity in counted:
            if str(entity.get("state")).upper() != ENTITY_ERROR:
                continue
            found = _alarm_messages(entity) or ["(no alarm message)"]
            name = entity.get("entity_type") or entity.get("display_name") or entity.get("id") or "entity"
            messages.extend("%s: %s" % (name, text.rstrip(".")) for text in found)
        report["failure"] = "; ".join(messages) + "."
    elif all(state == ENTITY_REALIZED for state in states):
        report["state"] = ENTITY_REALIZED
    else:
        report["state"] = "UNREALIZED" if "UNREALIZED" in states else \
            next(state for state in states if state != ENTITY_REALIZED)
    return report


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# -- the tunnel ----------------------------------------------------------------------------------
def parse_tunnel(body):
    """The ``tunnel`` dict of a Policy ``detailed-status`` (one result per enforcement point) or a
    Manager ``status``: ``runtime_status`` (UP when every point is UP, DOWN when every one is
    DOWN, else DEGRADED), ``ike_session_state``, ``fail_reason``, tunnel counts summed, and
    ``enforcement_points`` (each point's own figures)."""
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        points = [r for r in body["results"] if isinstance(r, dict)]
    elif isinstance(body, dict):
        points = [body]
    else:
        points = []
    entries = []
    for point in points:
        ike = point.get("ike_status") if isinstance(point.get("ike_status"), dict) else {}
        entries.append(dict(
            enforcement_point_path=point.get("enforcement_point_path"),
            runtime_status=str(point.get("runtime_status") or point.get("session_status") or "UNKNOWN").upper(),
            ike_session_state=ike.get("ike_session_state"),
            fail_reason=vendor_text(ike.get("fail_reason")),
            total_tunnels=_as_int(point.get("total_tunnels")) if point.get("total_tunnels") is not None else None,
            negotiated_tunnels=_as_int(point.get("negotiated_tunnels"))
            if point.get("negotiated_tunnels") is not None else None,
            failed_tunnels=_as_int(point.get("failed_tunnels")) if point.get("failed_tunnels") is not None else None,
        ))
    statuses = set(e["runtime_status"] for e in entries)
    if not entries:
        runtime = "UNKNOWN"
    elif len(statuses) == 1:
        runtime = statuses.pop()
    else:
        runtime = "DEGRADED"
    ike_states = [e["ike_session_state"] for e in entries if e["ike_session_state"]]
    reasons = [e["fail_reason"] for e in entries if e["fail_reason"]]

    def total(key):
        values = [e[key] for e in entries if e[key] is not None]
        return sum(values) if values else None

    return dict(runtime_status=runtime,
                ike_session_state=ike_states[0] if len(set(ike_states)) == 1 else (
                    ", ".join(ike_states) if ike_states else None),
                fail_reason="; ".join(reasons) if reasons else None,
                total_tunnels=total("total_tunnels"), negotiated_tunnels=total("negotiated_tunnels"),
                failed_tunnels=total("failed_tunnels"), enforcement_points=entries)


def tunnel_done(tunnel, wanted):
    """Whether every enforcement point reports ``wanted`` (UP or DOWN)."""
    points = tunnel.get("enforcement_points") or []
    return bool(points) and all(p["runtime_status"] == wanted for p in points)


def describe_tunnel(tunnel):
    text = "runtime_status %s, ike_session_state %s" % (tunnel.get("runtime_status"),
                                                        tunnel.get("ike_session_state"))
    if tunnel.get("fail_reason"):
        text += ", fail_reason: %s" % tunnel["fail_reason"]
    return text


# -- polls: one read of one session, and what it means for the wait ---------------------------------
# Each poll returns a waiter ``Status`` whose ``obj`` is a dict of what was read: ``realization``
# and/or ``tunnel`` (and ``deleted``). Both modules follow sessions through these, so the meaning
# of NSX's states lives here once.
WAIT_GOALS = {
    "realized": "to be realized",
    "in_effect": "to be in effect (success)",
    "deleted": "to be deleted (404)",
    "tunnel_up": "to have its tunnel up (runtime_status UP)",
    "tunnel_down": "to have its tunnel down (runtime_status DOWN)",
}
TUNNEL_WANTED = {"tunnel_up": "UP", "tunnel_down": "DOWN"}
MANAGER_GOAL = dict(WAIT_GOALS, realized="to be realized (in_sync or success)",
                    deleted="to be deleted (404, error code 600)")
POLICY_GOAL = dict(WAIT_GOALS, realized="to be realized (every realized entity REALIZED)")


def _context(exc):
    return dict(exc.context)


def _read_tunnel(client, url):
    # source=realtime: NSX asks the edges now; a cached status could show the tunnel of before.
    return parse_tunnel(get_object(client, url, params={"source": "realtime"}))


def _tunnel_status(tunnel, wanted):
    return Status(tunnel["runtime_status"], obj={"tunnel": tunnel}, done=tunnel_done(tunnel, wanted),
                  detail=describe_tunnel(tunnel))


def manager_poll(client, session_id, request_id, wait_for):
    """Follow a session by Manager id: the state API (with ``request_id``), or its status."""
    path = session_state_path(session_id)
    query = {"request_id": request_id} if request_id else None
    label = "NSX IPsec VPN session %s" % session_id

    def poll():
        try:
            if wait_for in TUNNEL_WANTED:
                return _tunnel_status(_read_tunnel(client, session_status_path(session_id)),
                                      TUNNEL_WANTED[wait_for])
            body = get_object(client, path, params=query)
        except ApiError as exc:
            if exc.status_code == 404 and str(exc.vendor_code) == ERROR_NOT_FOUND:
                if wait_for == "deleted":
                    return Status("deleted", obj={"realization": exc.error, "deleted": True}, done=True)
                raise ApiError("%s not found: %s (to wait for a deletion, use wait_for: deleted)"
                               % (label, exc.msg), **_context(exc))
            if exc.status_code == 400 and exc.vendor_code == ERROR_SERVICE_DISABLED:
                raise ApiError("%s: %s. Hint: enable the IPsec VPN service of this session "
                               "before waiting for its realization." % (label, exc.msg),
                               **_context(exc))
            raise explained(exc)
        state = body.get("state")
        obj = {"realization": body}
        if wait_for == "deleted":
            return Status(state, obj=obj, detail="the session still exists")
        if is_failed_state(state):
            return Status(state, obj=obj, failure="%s failed to realize: %s" % (label, describe_failure(body)))
        wanted = IN_EFFECT_STATES if wait_for == "in_effect" else REALIZED_STATES
        return Status(state, obj=obj, done=state in wanted, detail=body.get("failure_message"))

    return poll


def policy_poll(client, policy_path, wait_for, changed_since=None):
    """Follow a session by Policy path: its realized entities (counting only those modified at or
    after ``changed_since``), its ``detailed-status``, or a 404 of the path."""
    label = "NSX IPsec VPN session %s" % policy_path.path

    def not_found(exc):
        return ApiError("%s not found: %s (to wait for a deletion, use wait_for: deleted)"
                        % (label, exc.msg), **_context(exc))

    def poll():
        if wait_for == "deleted":
            try:
                client.get(policy_path.url)
            except ApiError as exc:
                if is_not_found(exc):
                    return Status("deleted", obj={"realization": {"state": "DELETED"}, "deleted": True},
                                  done=True)
                raise explained(exc)
            return Status("exists", obj={"realization": {}}, detail="the session still exists")
        if wait_for in TUNNEL_WANTED:
            try:
                tunnel = _read_tunnel(client, policy_path.detailed_status_url)
            except ApiError as exc:
                if is_not_found(exc):
                    raise not_found(exc)
                raise explained(exc)
            return _tunnel_status(tunnel, TUNNEL_WANTED[wait_for])
        url, query = policy_path.realized_entities()
        report = evaluate_realization(get_object(client, url, params=query), changed_since)
        failure = report.pop("failure")
        state = report["state"]
        obj = {"realization": report}
        if state == NO_ENTITY:
            try:  # nothing realized at all: is there an intent to realize?
                client.get(policy_path.url)
            except ApiError as exc:
                if is_not_found(exc):
                    raise not_found(exc)
                raise explained(exc)
        if state == ENTITY_ERROR:
            return Status(state, obj=obj, failure="%s failed to realize: %s" % (label, failure))
        detail = None
        if report["ignored_entities"]:
            detail = "%d realized entities from before changed_since %s (or without a time) ignored" % (
                report["ignored_entities"], changed_since)
        return Status(state, obj=obj, done=state == ENTITY_REALIZED, detail=detail)

    return poll


# -- following sessions (both modules) ---------------------------------------------------------
def read_once(poll):
    """wait: false - one read, reported as it is (a failed state is data, not a failure)."""
    try:
        status = poll()
    except HybridCloudError as exc:
        return exc
    once = WaitResult()
    once.obj, once.state, once.polls, once.done = status.obj, status.state, 1, status.done
    once.history = [{"state": status.state, "elapsed": 0.0}]
    return once


def outcome_fields(outcome, wait_for):
    """What the user gets back for one session, from a WaitResult or the error that ended it.

    ``realization`` and ``in_sync`` only when the realization was read: a tunnel wait reads the
    tunnel alone, and says nothing about the realization (``in_sync: false`` would be a claim)."""
    result = outcome if isinstance(outcome, WaitResult) else getattr(outcome, "result", None)
    obj = (result.obj if result is not None else None) or {}
    fields = dict(
        elapsed=result.elapsed if result else 0.0,
        polls=result.polls if result else 0,
        history=result.history if result else [],
    )
    if wait_for not in TUNNEL_WANTED:
        realization = obj.get("realization") or {}
        fields["realization"] = realization
        fields["in_sync"] = realization.get("state") in REALIZED_STATES | {ENTITY_REALIZED}
    if "tunnel" in obj:
        fields["tunnel"] = obj["tunnel"]
    if wait_for == "deleted":
        fields["deleted"] = bool(obj.get("deleted"))
    return fields


def follow(client, targets, wait_for, params, changed_since=None):
    """Follow every target, ``(kind, target, request_id)`` with kind ``path`` (a PolicyPath) or
    ``id`` (a Manager id), through the shared waiter; one outcome per target."""
    polls, what = [], []
    for kind, target, request_id in targets:
        if kind == "path":
            polls.append(policy_poll(client, target, wait_for, changed_since))
            what.append("NSX IPsec VPN session %s %s" % (target.path, POLICY_GOAL[wait_for]))
        else:
            polls.append(manager_poll(client, target, request_id, wait_for))
            what.append("NSX IPsec VPN session %s %s" % (target, MANAGER_GOAL[wait_for]))
    if not params["wait"]:
        return [read_once(poll) for poll in polls]
    return wait_all(polls, what, timeout=params["wait_timeout"], sleep_cap=params["wait_sleep"],
                    client=client, max_workers=min(len(polls), MAX_CONCURRENT_REQUESTS),
                    max_rate=MAX_REQUESTS_PER_SECOND if len(polls) > 1 else None)
