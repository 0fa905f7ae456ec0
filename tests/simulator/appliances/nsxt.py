"""VMware NSX-T Manager: IPsec VPN sessions, services, and their realization over time.

Two API generations, as NSX has them:

- the Manager API (``/api/v1``, deprecated since NSX-T 3.2, removed in 9.0), faithful to the
  NSX-T 3.1 API (api-specs/nsx_api_3.1.0_ipsec_sessions_subset.json) and the realization-state
  guide;
- the Policy API (``/policy/api/v1``): sessions under tier-0, tier-1 and project tier-1 paths with
  ``_revision``/``_last_modified_time`` and a ``psk``; ``realized-state/realized-entities`` that,
  after a change, keep serving the REALIZED left from before for a stale window, then UNREALIZED,
  then the new REALIZED (or ERROR with alarms) with a new ``_last_modified_time``; and
  ``detailed-status`` whose tunnel goes DOWN -> NEGOTIATING -> UP (or never up, with a reason).

Manager API: a configuration change (PUT) answers with an ``x-nsx-requestid``; the
session's state then moves pending -> in_progress -> unknown -> in_progress -> in_sync (then
success), or ends in error with per-transport-node failure messages. A disabled VPN service
gives 400/110199; a deleted session gives 404/600. 100 requests/s and 40 concurrent requests
per client, as NSX enforces (429 error_code "102", then 503).
"""

import base64
import hmac
import secrets
import time
from urllib.parse import unquote

from simulator.core import Appliance, Reply, command, route

SESSIONS = r"/api/v1/vpn/ipsec/sessions"
STATUS_TEXT = {400: "BAD_REQUEST", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
               412: "PRECONDITION_FAILED", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR",
               503: "SERVICE_UNAVAILABLE"}
NODE_FAILURES = (
    "CCP Id:ab5958df-d98a-468e-a72b-d89dcdae5346, Message: IKE negotiation with peer %s failed: "
    "NO_PROPOSAL_CHOSEN.",
    "CCP Id:ab5958df-d98a-468e-a72b-d89dcdae5346, Message: Local endpoint %s has no route to the peer.",
)


class Change:
    """One configuration change and how its realization unfolds."""

    def __init__(self, request_id, started, realize_after, outcome, unknown_phase, success_after):
        self.request_id = request_id
        self.started = started
        self.realize_after = float(realize_after)
        self.outcome = outcome
        self.unknown_phase = unknown_phase
        self.success_after = float(success_after)

    def phase(self, now):
        if self.started is None:  # the clock starts at the first read (tests that must see every state)
            self.started = now
        t = now - self.started
        total = self.realize_after
        if t >= total:
            if self.outcome == "success" and t < total + self.success_after:
                return "in_sync"
            return self.outcome
        if t < 0.15 * total:
            return "pending"
        if self.unknown_phase and 0.6 * total <= t < 0.75 * total:
            return "unknown"
        return "in_progress"


# -- Policy API shapes ------------------------------------------------------------------------
POLICY = r"/policy/api/v1"
SESSION_PATH = (r"(?P<path>(?:/orgs/[^/]+/projects/[^/]+)?/infra/tier-[01]s/[^/]+"
                r"/ipsec-vpn-services/[^/]+/sessions/[^/]+)")
REALIZED_ENTITIES = r"(?P<scope>/orgs/[^/]+/projects/[^/]+)?/infra/realized-state/realized-entities"
ENFORCEMENT_POINT = "/infra/sites/default/enforcement-points/default"
POLICY_ALARMS = (
    "IPSec VPN session realization failed on edge node %s: IKE negotiation with peer %s failed "
    "(NO_PROPOSAL_CHOSEN).",
    "Edge transport node %s: local endpoint has no route to peer %s.",
)


class PolicyChange:
    """One change of a Policy session's intent and how its realization unfolds.

    For ``stale_window`` seconds after the change the realized entities still show what was left
    from before (with the old ``_last_modified_time``), as NSX does while the change travels to the
    edges; then UNREALIZED; then, ``realize_after`` seconds after the change, ``outcome``
    (REALIZED or ERROR) with a new ``_last_modified_time``. The tunnel follows the realization:
    when enabled it negotiates and comes UP ``tunnel_up_after`` seconds later (None: never).
    A change made with ``changed=None`` starts its clock at the first read of its realization or
    tunnel (tests that must see every state, whatever the start-up time of Ansible)."""

    def __init__(self, changed, changed_ms, previous, enabled, stale_window=1.0, realize_after=3.0,
                 outcome="REALIZED", tunnel_up_after=2.0, fail_reason=None):
        self.changed = changed
        self.changed_ms = changed_ms
        self.previous = previous
        self.enabled = bool(enabled)
        self.stale_window = float(stale_window)
        # The stale window of a first change (a creation) is empty: there is nothing from before.
        self.realize_after = float(realize_after) if previous is None \
            else max(float(realize_after), self.stale_window)
        self.outcome = outcome
        self.tunnel_up_after = None if tunnel_up_after is None else float(tunnel_up_after)
        self.fail_reason = fail_reason

    def start(self, now):
        if self.changed is None:
            self.changed = now
            self.changed_ms = int(time.time() * 1000)

    @property
    def realized_ms(self):
        return self.changed_ms + int(self.realize_after * 1000)

    def realized(self, now):
        self.start(now)
        return now - self.changed >= self.realize_after

    def entity_state(self, now):
        """(state, _last_modified_time, change it belongs to) of the realized entities."""
        self.start(now)
        t = now - self.changed
        if t >= self.realize_after:
            return self.outcome, self.realized_ms, self
        if t < self.stale_window and self.previous is not None:
            return self.previous.entity_state(self.changed)  # frozen as it was at the change
        return "UNREALIZED", self.changed_ms, self

    def tunnel(self, now):
        """(runtime_status, ike_session_state, fail_reason) of the tunnel at ``now``."""
        self.start(now)
        if not self.realized(now):
            if self.previous is not None:
                return self.previous.tunnel(now)
            return "DOWN", "DOWN", None
        if not self.enabled:
            return "DOWN", "DOWN", "Session is disabled"
        if self.outcome != "REALIZED":
            return "DOWN", "DOWN", "Session configuration is not realized"
        since = now - self.changed - self.realize_after
        if self.tunnel_up_after is None:
            return "DOWN", "NEGOTIATING" if int(since) % 4 < 2 else "DOWN", \
                self.fail_reason or "Peer not responding (IKE timeout)"
        if since >= self.tunnel_up_after:
            return "UP", "UP", None
        return "DOWN", "NEGOTIATING" if since >= 0.3 * self.tunnel_up_after else "DOWN", None


class NsxtManager(Appliance):
    name = "nsxt"
    rate_limit = 100
    concurrency_limit = 40
    client_auth = True

    def __init__(self, sim, name=None):
        self.username = "admin"
        self.password = "Nsx-%s!" % secrets.token_hex(8)
        self.principal = "ansible-principal@hybridcloud.example"
        super().__init__(sim, name)
        self.client_cert, self.client_key = sim.authority.client_certificate(self.name, self.principal)
        self.change_realize_after = float(sim.options.get("nsxt.realize_after", 3.0))

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.sessions = {}
        self.services = {}
        self.samples = {}
        now = self.now()
        steady = self._new_session("demo-office-to-dc", realize_after=0, started=now - 60)
        failing = self._new_session("branch-42-to-dc", realize_after=0, outcome="error", started=now - 60)
        disabled = self._new_session("lab-to-dc", realize_after=0, service_enabled=False, started=now - 60)
        gone = self._new_session("old-partner-to-dc", realize_after=0, started=now - 60)
        self.sessions[gone]["deleted_at"] = now - 30
        self.policy_sessions = {}
        start = now - 60
        policy_t1 = self._new_policy_session("tier-1", "t1-branch", "branch-vpn", "branch-office",
                                             realize_after=0, started=start)
        policy_t0 = self._new_policy_session("tier-0", "t0-edge", "dc-vpn", "dc-to-partner",
                                             realize_after=0, started=start)
        policy_project = self._new_policy_session("tier-1", "t1-tenant", "tenant-vpn", "tenant-a",
                                                  project="tenant-a", realize_after=0, started=start)
        policy_error = self._new_policy_session("tier-1", "t1-lab", "lab-vpn", "lab-broken",
                                                realize_after=0, outcome="ERROR", started=start)
        self.samples = {
            "session_id": steady, "request_id": self.sessions[steady]["changes"][-1].request_id,
            "error_session_id": failing, "disabled_session_id": disabled, "deleted_session_id": gone,
            "policy_session_path": policy_t1, "policy_tier0_session_path": policy_t0,
            "policy_project_session_path": policy_project, "policy_error_session_path": policy_error,
        }

    def _new_session(self, display_name, realize_after=2.0, outcome="in_sync", unknown_phase=True,
                     service_enabled=True, nodes=2, session_id=None, success_after=1.0, started=None,
                     start_on_first_read=False):
        service_id = self.new_id()
        self.services[service_id] = {
            "resource_type": "IPSecVPNService", "id": service_id, "display_name": "vpn-%s" % display_name,
            "logical_router_id": self.new_id(), "enabled": bool(service_enabled), "_revision": 0,
        }
        sid = session_id or self.new_id()
        self.sessions[sid] = {
            "resource": {
                "resource_type": "PolicyBasedIPSecVPNSession", "id": sid,
                "display_name": display_name, "vpn_service_id": service_id,
                "local_endpoint_id": self.new_id(), "peer_endpoint_id": self.new_id(),
                "enabled": True, "ipsec_vpn_service_id": service_id,
                "policy_rules": [], "tcp_mss_clamping": {"direction": "NONE"},
                "_create_time": int(time.time() * 1000), "_create_user": self.username,
                "_revision": 0, "_system_owned": False,
            },
            "nodes": [self.new_id() for _node in range(max(1, int(nodes)))],
            "changes": [],
            "deleted_at": None,
        }
        self._change(sid, realize_after, outcome, unknown_phase, success_after, started, start_on_first_read)
        return sid

    def _change(self, sid, realize_after, outcome="in_sync", unknown_phase=True, success_after=1.0,
                started=None, start_on_first_read=False):
        if start_on_first_read:
            started = None
        elif started is None:
            started = self.now()
        change = Change(self.new_id(), started, realize_after, outcome, unknown_phase, success_after)
        self.sessions[sid]["changes"].append(change)
        return change

    def _live(self, sid):
        session = self.sessions.get(sid)
        if session is None:
            return None
        if session["deleted_at"] is not None and self.now() >= session["deleted_at"]:
            return None
        return session

    # -- vendor shapes -----------------------------------------------------------------------
    def error_reply(self, status, message, code=None):
        if status == 429:
            code = "102"  # NSX sends this one as a string
        body = {"httpStatus": STATUS_TEXT.get(status, str(status)), "error_code": code if code is not None else status,
                "module_name": "common-services", "error_message": message}
        return Reply(status, body)

    def too_many(self, req):
        return self.error_reply(429, "Client '%s' exceeded request rate of %s per second"
                                % (self.username, self.rate_limit))

    def too_busy(self, req):
        return self.error_reply(503, "Client '%s' exceeded concurrency limit of %s"
                                % (self.username, self.concurrency_limit), code=98)

    def not_found(self, sid):
        return Reply(404, {
            "http_status": "NOT_FOUND", "error_code": 600, "module_name": "common-services",
            "error_message": "The operation failed because object identifier IPSecVPNSession/%s is "
                             "missing: Object identifiers are case sensitive.." % sid})

    def response_headers(self, req):
        return {"x-nsx-requestid": self.new_id()}

    def authenticate(self, req):
        if req.peer_cert:  # verified against our CA during the handshake
            return None
        header = req.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                user, _colon, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if hmac.compare_digest(user, self.username) and hmac.compare_digest(password, self.password):
                return None
        return self.error_reply(403, "The username/password combination is incorrect or the account "
                                     "specified has been locked.", code=403)

    def realization(self, session, change, now):
        phase = change.phase(now)
        nodes = session["nodes"]
        details = []
        for index, node in enumerate(nodes):
            entry = {"sub_system_type": "TransportNode", "sub_system_id": node}
            if phase in ("in_sync", "success"):
                entry["state"] = phase
            elif phase == "pending":
                entry["state"] = "pending"
            elif phase == "unknown" and index == 0:
                entry["state"] = "unknown"
                entry["failure_message"] = ("CCP Id:ab5958df-d98a-468e-a72b-d89dcdae5346, Message: Unable "
                                            "to get response from the node. Please retry operation after some time.")
            elif phase in ("error", "failed"):
                entry["state"] = "error" if index == 0 else "in_sync"
                if index == 0:
                    entry["failure_message"] = NODE_FAILURES[0] % "203.0.113.10"
                    entry["failure_code"] = 110001
            elif index == 0:
                entry["state"] = "in_progress"
                entry["failure_message"] = ("CCP Id:ab5958df-d98a-468e-a72b-d89dcdae5346, Message:State "
                                            "realization is in progress at the node.")
            else:
                entry["state"] = "in_sync"
            details.append(entry)
        body = {"details": details, "state": phase}
        messages = {
            "in_progress": "The state realization is in progress at transport nodes.",
            "unknown": "The state realization is unknown at transport nodes",
            "pending": "The state realization is pending at transport nodes.",
            "error": "The state realization failed at transport nodes.",
            "failed": "The state realization failed at transport nodes.",
        }
        if phase in messages:
            body["failure_message"] = messages[phase]
        if phase in ("error", "failed"):
            body["failure_code"] = 110001
        return body

    # -- API -------------------------------------------------------------------------------
    @route("GET", SESSIONS)
    def list_sessions(self, req):
        results = [s["resource"] for sid, s in sorted(self.sessions.items()) if self._live(sid)]
        return Reply(200, {"results": results, "result_count": len(results), "sort_ascending": True,
                           "sort_by": "display_name"})

    @route("GET", SESSIONS + r"/(?P<sid>[^/]+)")
    def get_session(self, req, sid):
        session = self._live(sid)
        if session is None:
            return self.not_found(sid)
        return Reply(200, session["resource"])

    @route("PUT", SESSIONS + r"/(?P<sid>[^/]+)")
    def update_session(self, req, sid):
        session = self._live(sid)
        if session is None:
            return self.not_found(sid)
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.", code=325)
        if "_revision" not in body:
            return self.error_reply(400, "Field level validation errors: {_revision is required}", code=255)
        resource = session["resource"]
        race = session.pop("race", None)
        if race is not None:  # someone else wrote first: the revision moved on
            if race.get("enabled") is not None:
                resource["enabled"] = bool(race["enabled"])
            resource["_revision"] += 1
            self._change(sid, self.change_realize_after)
        if body["_revision"] != resource["_revision"]:
            return self.error_reply(412, "The object was modified by somebody else.", code=244)
        for key in ("display_name", "description", "enabled", "policy_rules", "tags", "tcp_mss_clamping"):
            if key in body:
                resource[key] = body[key]
        resource["_revision"] += 1
        resource["_last_modified_time"] = int(time.time() * 1000)
        change = self._change(sid, self.change_realize_after)
        return Reply(200, resource, headers={"x-nsx-requestid": change.request_id})

    @route("DELETE", SESSIONS + r"/(?P<sid>[^/]+)")
    def delete_session_api(self, req, sid):
        session = self._live(sid)
        if session is None:
            return self.not_found(sid)
        session["deleted_at"] = self.now()
        return Reply(200, None)

    @route("GET", SESSIONS + r"/(?P<sid>[^/]+)/state")
    def session_state(self, req, sid):
        session = self._live(sid)
        if session is None:
            return self.not_found(sid)
        service = self.services.get(session["resource"]["vpn_service_id"])
        if service is not None and not service["enabled"]:
            return Reply(400, {
                "httpStatus": "BAD_REQUEST", "error_code": 110199, "module_name": "VPN",
                "error_message": "VPN service %s associated with the session %s is disabled. Can not get "
                                 "the realization status." % (service["id"], sid)})
        if session.get("delete_after_reads"):
            session["delete_after_reads"] -= 1
            if session["delete_after_reads"] == 0:
                session["deleted_at"] = self.now()
        wanted = req.query.get("request_id")
        changes = session["changes"]
        change = next((c for c in changes if c.request_id == wanted), changes[-1])
        return Reply(200, self.realization(session, change, self.now()))

    @route("GET", SESSIONS + r"/(?P<sid>[^/]+)/status")
    def session_status(self, req, sid):
        """IPSecVPNSessionStatus: UP once an enabled session's latest change is realized."""
        session = self._live(sid)
        if session is None:
            return self.not_found(sid)
        resource = session["resource"]
        realized = session["changes"][-1].phase(self.now()) in ("in_sync", "success")
        up = bool(resource["enabled"]) and realized
        ike = {"ike_session_state": "UP" if up else "DOWN", "transport_node_id": session["nodes"][0]}
        if not resource["enabled"]:
            ike["fail_reason"] = "Session is disabled"
        return Reply(200, {"ipsec_vpn_session_id": sid, "display_name": resource["display_name"],
                           "session_status": "UP" if up else "DOWN", "ike_status": ike,
                           "total_tunnels": 1, "negotiated_tunnels": 1 if up else 0,
                           "failed_tunnels": 0 if up else 1, "last_update_timestamp": int(time.time() * 1000)})

    @route("GET", r"/api/v1/vpn/ipsec/services/(?P<service_id>[^/]+)")
    def get_service(self, req, service_id):
        service = self.services.get(service_id)
        if service is None:
            return self.error_reply(404, "The operation failed because object identifier "
                                    "IPSecVPNService/%s is missing." % service_id, code=600)
        return Reply(200, service)

    # -- Policy API: state ----------------------------------------------------------------------
    def _policy_defaults(self):
        opts = self.sim.options
        return dict(stale_window=float(opts.get("nsxt.policy_stale_window", 1.0)),
                    realize_after=float(opts.get("nsxt.policy_realize_after", 3.0)),
                    outcome="REALIZED",
                    tunnel_up_after=float(opts.get("nsxt.tunnel_up_after", 2.0)),
                    fail_reason=None)

    def _new_policy_session(self, tier="tier-1", gateway=None, service="vpn-service", session_id=None,
                            project=None, org="default", enabled=True, display_name=None,
                            route_based=False, started=None, start_on_first_read=False, **behaviour):
        sid = session_id or self.new_id()
        gateway = gateway or ("t0-edge" if tier == "tier-0" else "t1-%s" % sid[:8])
        prefix = "/orgs/%s/projects/%s" % (org, project) if project else ""
        parent = "%s/infra/%ss/%s/ipsec-vpn-services/%s" % (prefix, tier.rstrip("s"), gateway, service)
        path = "%s/sessions/%s" % (parent, sid)
        now_ms = int(time.time() * 1000)
        psk = "Psk-%s" % secrets.token_hex(10)
        resource = {
            "resource_type": "RouteBasedIPSecVpnSession" if route_based else "PolicyBasedIPSecVpnSession",
            "id": sid, "display_name": display_name or "sim-policy-session", "enabled": bool(enabled),
            "peer_address": "203.0.113.%d" % (10 + len(self.policy_sessions) % 200),
            "peer_id": "203.0.113.%d" % (10 + len(self.policy_sessions) % 200),
            "authentication_mode": "PSK", "psk": psk, "compliance_suite": "NONE",
            "ike_profile_path": "/infra/ipsec-vpn-ike-profiles/nsx-default-l3vpn-ike-profile",
            "local_endpoint_path": parent + "/local-endpoints/le-1",
            "connection_initiation_mode": "INITIATOR",
            "path": path, "parent_path": parent, "relative_path": sid,
            "marked_for_delete": False, "_create_user": self.username, "_create_time": now_ms,
            "_last_modified_user": self.username, "_last_modified_time": now_ms,
            "_revision": 0, "_system_owned": False, "_protection": "NOT_PROTECTED",
        }
        settings = self._policy_defaults()
        settings.update((k, v) for k, v in behaviour.items() if v is not None or k == "tunnel_up_after")
        self.policy_sessions[path] = {"resource": resource, "changes": [], "next": {},
                                      "entities": [self.new_id(), self.new_id()], "race": None,
                                      "deleted_at": None}
        if start_on_first_read:
            change = PolicyChange(None, None, None, enabled, **settings)
        else:
            change = PolicyChange(self.now() if started is None else started, now_ms, None, enabled, **settings)
        self.policy_sessions[path]["changes"].append(change)
        return path

    def _policy_change(self, path, changed_keys=()):
        """The intent changed (PATCH, PUT or a command): a new revision and realization."""
        record = self.policy_sessions[path]
        resource = record["resource"]
        now_ms = max(int(time.time() * 1000), resource["_last_modified_time"] + 1)
        resource["_revision"] += 1
        resource["_last_modified_time"] = now_ms
        resource["_last_modified_user"] = self.username
        settings = self._policy_defaults()
        settings.update(record["next"])
        change = PolicyChange(self.now(), now_ms, record["changes"][-1], resource["enabled"], **settings)
        record["changes"].append(change)
        return change

    def _policy_live(self, path):
        record = self.policy_sessions.get(path)
        if record is None:
            return None
        if record["deleted_at"] is not None and self.now() >= record["deleted_at"]:
            return None
        return record

    def _policy_not_found(self, path):
        return Reply(404, {"httpStatus": "NOT_FOUND", "error_code": 500090, "module_name": "Policy",
                           "error_message": "The path=[%s] is invalid" % path})

    def _policy_race(self, record):
        """Someone else wrote first (a race_next_write command): a change of theirs, with a new
        revision. The write being handled then meets it as NSX would: a PUT (or a PATCH that
        carries a _revision) is refused with 412, a PATCH without one is applied over it."""
        race, record["race"] = record["race"], None
        if race.get("enabled") is not None:
            record["resource"]["enabled"] = bool(race["enabled"])
        self._policy_change(record["resource"]["path"])

    # -- Policy API: routes ---------------------------------------------------------------------
    @route("GET", POLICY + SESSION_PATH)
    def policy_get_session(self, req, path):
        record = self._policy_live(path)
        if record is None:
            return self._policy_not_found(path)
        return Reply(200, record["resource"])

    @route("PATCH", POLICY + SESSION_PATH)
    def policy_patch_session(self, req, path):
        record = self._policy_live(path)
        if record is None:
            return self._policy_not_found(path)
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.", code=325)
        if record["race"] is not None:
            self._policy_race(record)  # someone else's write lands first
        resource = record["resource"]
        # A partial PATCH is applied over whatever is there; only a _revision it carries is checked.
        if "_revision" in body and body["_revision"] != resource["_revision"]:
            return self.error_reply(412, "The object was modified by somebody else.", code=244)
        self._apply_policy_body(resource, body)
        self._policy_change(path)
        return Reply(200, None)

    @route("PUT", POLICY + SESSION_PATH)
    def policy_put_session(self, req, path):
        record = self._policy_live(path)
        if record is None:
            return self._policy_not_found(path)
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.", code=325)
        if record["race"] is not None:
            self._policy_race(record)  # someone else's write lands first: our _revision is stale
        resource = record["resource"]
        if body.get("_revision") != resource["_revision"]:
            return self.error_reply(412, "The object was modified by somebody else.", code=244)
        self._apply_policy_body(resource, body)
        self._policy_change(path)
        return Reply(200, resource)

    @staticmethod
    def _apply_policy_body(resource, body):
        for key in ("display_name", "description", "enabled", "psk", "peer_address", "peer_id", "tags",
                    "connection_initiation_mode", "compliance_suite"):
            if key in body:
                resource[key] = body[key]

    @route("DELETE", POLICY + SESSION_PATH)
    def policy_delete_session(self, req, path):
        record = self._policy_live(path)
        if record is not None:
            record["deleted_at"] = self.now()
        return Reply(200, None)

    @route("GET", POLICY + REALIZED_ENTITIES)
    def policy_realized_entities(self, req, scope=None):
        intent = unquote(req.query.get("intent_path") or "")
        if not intent:
            return self.error_reply(400, "Required parameter intent_path is missing.", code=500012)
        record = self._policy_live(intent)
        # A project's objects are realized in its own scope: asked at another scope's URL (the
        # global one included), NSX knows no realized entity of that intent.
        if record is None or not intent.startswith((scope or "") + "/infra/"):
            return Reply(200, {"results": [], "result_count": 0})
        now = self.now()
        state, modified, change = record["changes"][-1].entity_state(now)
        runtime = change.tunnel(now)[0] if change.realized(now) else "UNKNOWN"
        sid = record["resource"]["id"]
        results = []
        for index, (entity_id, kind) in enumerate(zip(record["entities"],
                                                      ("RealizedIPSecVpnSession", "RealizedIPSecVpnSessionOnEdge"))):
            entity = {
                "resource_type": "GenericPolicyRealizedResource", "id": "%s-%d" % (sid, index),
                "display_name": "%s-%d" % (sid, index), "entity_type": kind, "state": state,
                "intent_paths": [intent], "enforcement_point_path": ENFORCEMENT_POINT,
                "realization_specific_identifier": entity_id, "runtime_status": runtime,
                "path": "/infra/realized-state/enforcement-points/default/ipsec-vpn-sessions/%s-%d" % (sid, index),
                "alarms": [], "_last_modified_time": modified, "_revision": len(record["changes"]) - 1,
            }
            if state == "ERROR":
                message = POLICY_ALARMS[index % len(POLICY_ALARMS)] % (entity_id[:8], record["resource"]["peer_address"])
                entity["alarms"] = [{"message": message, "source_reference": entity_id,
                                     "error_details": {"error_code": 8407, "module_name": "vpn",
                                                       "error_message": message}}]
            results.append(entity)
        return Reply(200, {"results": results, "result_count": len(results)})

    @route("GET", POLICY + SESSION_PATH + r"/detailed-status")
    def policy_detailed_status(self, req, path):
        record = self._policy_live(path)
        if record is None:
            return self._policy_not_found(path)
        now = self.now()
        runtime, ike, reason = record["changes"][-1].tunnel(now)
        up = runtime == "UP"
        ike_status = {"ike_session_state": ike}
        if reason:
            ike_status["fail_reason"] = reason
        status = {
            "resource_type": "IPSecVpnSessionStatusNsxT", "display_name": record["resource"]["display_name"],
            "enforcement_point_path": ENFORCEMENT_POINT, "runtime_status": runtime, "ike_status": ike_status,
            "total_tunnels": 1, "negotiated_tunnels": 1 if up else 0, "failed_tunnels": 0 if up else 1,
            "last_update_timestamp": int(time.time() * 1000),
            "aggregate_traffic_counters": {"bytes_in": 0, "bytes_out": 0, "packets_in": 0, "packets_out": 0},
        }
        return Reply(200, {"results": [status], "intent_path": path})

    # -- Policy API: control commands -----------------------------------------------------------
    @command
    def create_policy_session(self, tier="tier-1", gateway=None, service="vpn-service", session_id=None,
                              project=None, org="default", enabled=True, display_name=None,
                              stale_window=None, realize_after=0.0, outcome=None,
                              tunnel_up_after=0.0, fail_reason=None, route_based=False, start_on_first_read=False):
        """A Policy session whose creation realizes ``realize_after`` seconds from now (or from the
        first read of its realization or tunnel, with ``start_on_first_read``); its tunnel comes up
        ``tunnel_up_after`` seconds after that (None: never). The settings also apply to the next
        changes, unless ``configure_policy_session`` says otherwise."""
        behaviour = dict(stale_window=stale_window, realize_after=realize_after, outcome=outcome,
                         tunnel_up_after=tunnel_up_after, fail_reason=fail_reason)
        path = self._new_policy_session(tier, gateway, service, session_id, project, org, enabled,
                                        display_name, route_based, start_on_first_read=start_on_first_read,
                                        **behaviour)
        record = self.policy_sessions[path]
        record["next"] = dict((k, v) for k, v in behaviour.items()
                              if v is not None or k == "tunnel_up_after")
        record["next"]["realize_after"] = float(self.sim.options.get("nsxt.policy_realize_after", 3.0)) \
            if not realize_after else realize_after
        resource = record["resource"]
        return {"path": path, "session_id": resource["id"], "psk": resource["psk"],
                "_revision": resource["_revision"], "_last_modified_time": resource["_last_modified_time"]}

    @command
    def configure_policy_session(self, path, stale_window=None, realize_after=None, outcome=None,
                                 tunnel_up_after=-1, fail_reason=None):
        """How the next changes of ``path`` unfold (``tunnel_up_after`` None: never up)."""
        record = self.policy_sessions[path]
        for key, value in (("stale_window", stale_window), ("realize_after", realize_after),
                           ("outcome", outcome), ("fail_reason", fail_reason)):
            if value is not None:
                record["next"][key] = value
        if tunnel_up_after != -1:
            record["next"]["tunnel_up_after"] = tunnel_up_after
        return {"path": path, "next": record["next"]}

    @command
    def change_policy_session(self, path, enabled=None):
        """Another client changes the intent (a new revision and realization)."""
        record = self.policy_sessions[path]
        if enabled is not None:
            record["resource"]["enabled"] = bool(enabled)
        change = self._policy_change(path)
        return {"path": path, "_last_modified_time": change.changed_ms,
                "_revision": record["resource"]["_revision"]}

    @command
    def touch_policy_session(self, path, description="edited by someone else"):
        """Another client edits what needs no realization (a description, a tag): a new revision
        and _last_modified_time of the intent, and no new realized entities."""
        resource = self.policy_sessions[path]["resource"]
        resource["description"] = description
        resource["_revision"] += 1
        resource["_last_modified_time"] = max(int(time.time() * 1000), resource["_last_modified_time"] + 1)
        return {"path": path, "_last_modified_time": resource["_last_modified_time"],
                "_revision": resource["_revision"]}

    @command
    def policy_session(self, path):
        """The intent as stored, psk included, and when its latest change is/was realized."""
        record = self.policy_sessions[path]
        change = record["changes"][-1]
        realized_at = None if change.changed is None else \
            time.time() + (change.changed + change.realize_after - self.now())  # None: nobody read it yet
        return {"resource": dict(record["resource"]), "changes": len(record["changes"]),
                "realized_at": realized_at, "changed_ms": change.changed_ms}

    @command
    def delete_policy_session(self, path, after=0.0):
        self.policy_sessions[path]["deleted_at"] = self.now() + float(after)
        return {"path": path}

    @command
    def race_next_write(self, path=None, session_id=None, enabled=None):
        """The next PATCH/PUT of ``path`` (or Manager PUT of ``session_id``) meets a write by
        someone else first: the revision moves on (``enabled`` set if given). A PUT (or a PATCH
        with a ``_revision``) then gets a 412; a PATCH without one is applied, as NSX does."""
        if path:
            self.policy_sessions[path]["race"] = {"enabled": enabled}
        else:
            self.sessions[session_id]["race"] = {"enabled": enabled}
        return {"path": path, "session_id": session_id}

    @command
    def psks(self):
        """Every pre-shared key the appliance holds (for secret scans)."""
        return {"psks": sorted(r["resource"]["psk"] for r in self.policy_sessions.values()
                               if r["resource"].get("psk"))}

    # -- control commands (tests, demo, benchmark) ------------------------------------------
    @command
    def create_session(self, realize_after=2.0, outcome="in_sync", unknown_phase=True,
                       service_enabled=True, nodes=2, display_name=None, session_id=None,
                       success_after=1.0, start_on_first_read=False):
        """A new session whose first change realizes ``realize_after`` seconds from now (or from
        the first state read, with ``start_on_first_read``)."""
        sid = self._new_session(display_name or "sim-session", realize_after, outcome, unknown_phase,
                                service_enabled, nodes, session_id, success_after,
                                start_on_first_read=start_on_first_read)
        session = self.sessions[sid]
        return {"session_id": sid, "request_id": session["changes"][-1].request_id,
                "vpn_service_id": session["resource"]["vpn_service_id"]}

    @command
    def create_sessions(self, count, realize_min=1.0, realize_max=10.0, outcome="in_sync"):
        """Many sessions realizing at seeded random times within [realize_min, realize_max]."""
        made = []
        for _session in range(int(count)):
            after = self.rng.uniform(float(realize_min), float(realize_max))
            sid = self._new_session("fleet-session", after, outcome, False)
            made.append({"session_id": sid, "realize_after": round(after, 3)})
        return {"sessions": made, "started": time.time()}

    @command
    def change_session(self, session_id, realize_after=2.0, outcome="in_sync", unknown_phase=True,
                       success_after=1.0, start_on_first_read=False):
        change = self._change(session_id, realize_after, outcome, unknown_phase, success_after,
                              start_on_first_read=start_on_first_read)
        return {"session_id": session_id, "request_id": change.request_id}

    @command
    def delete_session(self, session_id, after=0.0, after_reads=None):
        """Delete the session ``after`` seconds from now, or once its state was read ``after_reads`` times."""
        if after_reads:
            self.sessions[session_id]["delete_after_reads"] = int(after_reads)
        else:
            self.sessions[session_id]["deleted_at"] = self.now() + float(after)
        return {"session_id": session_id}

    @command
    def set_service(self, session_id, enabled):
        service_id = self.sessions[session_id]["resource"]["vpn_service_id"]
        self.services[service_id]["enabled"] = bool(enabled)
        return {"vpn_service_id": service_id, "enabled": bool(enabled)}

    @command
    def realized_at(self, session_id):
        """Wall-clock time (epoch) at which the latest change of a session is/was realized."""
        change = self.sessions[session_id]["changes"][-1]
        if change.started is None:
            return {"realized_at": None}  # its clock has not started: nobody read it yet
        return {"realized_at": time.time() + (change.started + change.realize_after - self.now())}

    def describe(self):
        return {
            "username": self.username, "password": self.password,
            "client_cert": self.client_cert, "client_key": self.client_key,
            "samples": dict(self.samples),
        }


def build(sim):
    return [NsxtManager(sim)]
