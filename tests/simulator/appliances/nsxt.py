"""VMware NSX-T Manager: IPsec VPN sessions, services, and their realization over time.

Faithful to the NSX-T 3.1 API (api-specs/nsx_api_3.1.0_ipsec_sessions_subset.json) and the
realization-state guide: a configuration change (PUT) answers with an ``x-nsx-requestid``; the
session's state then moves pending -> in_progress -> unknown -> in_progress -> in_sync (then
success), or ends in error with per-transport-node failure messages. A disabled VPN service
gives 400/110199; a deleted session gives 404/600. 100 requests/s and 40 concurrent requests
per client, as NSX enforces (429 error_code "102", then 503).
"""

import base64
import hmac
import secrets
import time

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
        self.samples = {
            "session_id": steady, "request_id": self.sessions[steady]["changes"][-1].request_id,
            "error_session_id": failing, "disabled_session_id": disabled, "deleted_session_id": gone,
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

    @route("GET", r"/api/v1/vpn/ipsec/services/(?P<service_id>[^/]+)")
    def get_service(self, req, service_id):
        service = self.services.get(service_id)
        if service is None:
            return self.error_reply(404, "The operation failed because object identifier "
                                    "IPSecVPNService/%s is missing." % service_id, code=600)
        return Reply(200, service)

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
