"""Every module x every fault an appliance or its proxy throws, over real ansible runs.

Each cell either succeeds (the fault is transient) or fails with a clear message naming the
vendor error; no cell ends in a Python traceback; a write (ZStack PUT, vCDA POST) is sent
exactly once for one change, counted in the simulator's request log. Faults hit the request in
the middle of the wait (the second status read), not the first.
"""

import time

import pytest

# fault name -> (fault spec, outcome): "ok" = the task must succeed, else a fragment of the message
FAULTS = {
    "429_retry_after": (dict(kind="status", status=429, retry_after=1, count=2), "ok"),
    "500": (dict(kind="status", status=500, count=1), "HTTP 500"),
    "502_html": (dict(kind="html", status=502, count=1), "ok"),
    "503": (dict(kind="status", status=503, count=1), "ok"),
    "connection_reset": (dict(kind="reset", count=1), "ok"),
    "read_timeout": (dict(kind="timeout", seconds=4, count=1), "ok"),
    "malformed_json": (dict(kind="malformed_json", count=1), "ok"),
    "empty_body": (dict(kind="empty", count=1), "ok"),
    "session_expiry": (dict(kind="expire_session", count=1), "ok"),
}


class Case:
    """How to run one module against a fresh object, and where its wait reads and writes go."""

    appliance = None
    wait_path = None     # regex of the status reads the fault hits (the second one)
    write = None         # (method, path regex) that must be sent exactly once, or None
    sessions = False     # the module holds a session/token that can expire mid-wait
    expiry_outcome = "ok"

    def __init__(self, sim):
        self.sim = sim
        self.app = sim.appliance(self.appliance)

    def tidy(self):
        """Undo what a cell may have left on the appliance."""


class Nsxt(Case):
    module, appliance = "vpn_session_realization_info", "nsxt"
    wait_path = r"/state$"

    def args(self):
        made = self.sim.command("nsxt", "create_session", realize_after=3, start_on_first_read=True)
        return {"host": self.app["host"], "username": self.app["username"], "password": self.app["password"],
                "ca_path": self.sim.config["ca_path"], "session_id": made["session_id"], "timeout": 2}


class Zstack(Case):
    module, appliance = "ipsec_connection_state", "zstack"
    wait_path = r"/zstack/v1/api-jobs/"
    write = ("PUT", r"/actions$")
    sessions = True

    def args(self):
        made = self.sim.command("zstack", "create_connection", state="Enabled", job_seconds=3)
        return {"host": self.app["host"], "username": self.app["username"], "password": self.app["password"],
                "uuid": made["uuid"], "state": "disabled", "timeout": 2}


class Vcda(Case):
    module, appliance = "replication_site_pair", "vcda_a"
    wait_path = r"^/tasks/"
    write = ("POST", r"^/sites$")
    sessions = True

    def args(self):
        self.sim.command("vcda_a", "restore")
        self.sim.command("vcda_a", "set_task_seconds", seconds=3)
        peer = self.sim.appliance("vcda_b")
        return {"host": self.app["host"], "username": self.app["username"], "password": self.app["password"],
                "ca_path": self.sim.config["ca_path"], "peer_api_url": peer["api_url"],
                "peer_api_thumbprint": peer["thumbprint"], "wait_sleep": 1, "timeout": 2}

    def tidy(self):
        self.sim.command("vcda_a", "restore")


class Ontap(Case):
    module, appliance = "vscan_server_status_info", "ontap"
    wait_path = r"/api/protocols/vscan/server-status$"

    def args(self):
        svm = self.app["samples"]["healthy_svm"]
        self.sim.command("ontap", "disconnect", svm=svm, count=2, start="next_read", reconnect_after=3)
        return {"host": self.app["host"], "username": self.app["username"], "password": self.app["password"],
                "ca_path": self.sim.config["ca_path"], "filters": {"svm.name": svm},
                "wait_for_connected": True, "min_connected": 1, "timeout": 2, "return_timeout": 1}

    def tidy(self):
        self.sim.command("ontap", "restore")


class CustomerConnect(Case):
    module, appliance = "vmware_request_status_info", "customer_connect"
    wait_path = r"/status$"
    sessions = True
    # A Customer Connect access token cannot be renewed by the module (no API key): it says so.
    expiry_outcome = "access token is invalid or expired"

    def args(self):
        made = self.sim.command("customer_connect", "create_request", complete_after=3, start_on_first_read=True)
        return {"host": self.app["host"], "access_token": self.app["access_token"],
                "ca_path": self.sim.config["ca_path"], "request_id": made["request_id"], "timeout": 2}

    def tidy(self):
        self.sim.command("customer_connect", "revive_tokens")


CASES = [Nsxt, Zstack, Vcda, Ontap, CustomerConnect]


def faulted_requests(sim, since, appliance):
    """Faulted requests in the log; a stalled one is logged only when its stall ends."""
    deadline = time.monotonic() + 8
    while True:
        found = [e for e in sim.log(since=since, appliance=appliance) if e["fault"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("case_class", CASES, ids=lambda c: c.module)
def test_fault_during_a_wait(ansible, simulator, case_class, fault):
    case = case_class(simulator)
    spec, outcome = FAULTS[fault]
    if fault == "session_expiry":
        if not case.sessions:
            pytest.skip("%s authenticates every request (basic auth): no session to expire" % case.module)
        outcome = case.expiry_outcome
    args = case.args()
    mark = simulator.mark()
    simulator.fault(appliance=case.appliance, path=case.wait_path, method="GET", skip=1, **spec)
    try:
        run = ansible.module(case.module, args)
    finally:
        simulator.clear_faults()
        case.tidy()
    assert "Traceback" not in run.output, run
    assert fault == "session_expiry" or faulted_requests(simulator, mark, case.appliance), \
        "the fault never fired: %r" % run
    if outcome == "ok":
        assert run.rc == 0, run
    else:
        assert run.rc != 0, run
        assert outcome in run.last["msg"], run.last["msg"]
    if case.write:
        method, path = case.write
        writes = simulator.log(since=mark, appliance=case.appliance, method=method, path=path)
        assert len(writes) == 1, "%s %s sent %d times" % (method, path, len(writes))


# -- NSX writes: the fault hits the PATCH/PUT itself, after NSX took it -----------------------------
WRITE_FAULTS = {
    "502_after": dict(kind="status", status=502, after=True),
    "reset_after": dict(kind="reset", after=True),
    "timeout_after": dict(kind="timeout", seconds=4, after=True),
}


def accepted_writes(entries):
    """Writes the appliance took: answered 2xx, or handled before a fault replaced the answer."""
    return [e for e in entries if (e["fault"] and "after handling" in e["fault"])
            or (not e["fault"] and 200 <= (e["status"] or 0) < 300)]


@pytest.mark.parametrize("fault", sorted(WRITE_FAULTS))
@pytest.mark.parametrize("api", ["policy_patch", "manager_put"])
def test_nsx_write_fault_after_the_write_was_taken(ansible, simulator, api, fault):
    app = simulator.appliance("nsxt")
    args = {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": simulator.config["ca_path"], "enabled": False, "timeout": 2}
    if api == "policy_patch":
        made = simulator.command("nsxt", "create_policy_session")
        simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.3, realize_after=1)
        args["session_path"], method, where = made["path"], "PATCH", made["path"] + "$"
    else:
        made = simulator.command("nsxt", "create_session", realize_after=0)
        args["session_id"], method, where = made["session_id"], "PUT", made["session_id"] + "$"
    mark = simulator.mark()
    simulator.fault(appliance="nsxt", method=method, path=where, count=1, **WRITE_FAULTS[fault])
    try:
        run = ansible.module("vpn_session_state", args)
    finally:
        simulator.clear_faults()
    assert "Traceback" not in run.output, run
    assert run.rc == 0, run
    faulted_requests(simulator, mark, "nsxt")  # a stalled write is logged when its stall ends
    writes = simulator.log(since=mark, appliance="nsxt", method=method, path=where)
    assert len(accepted_writes(writes)) == 1, writes
    if api == "policy_patch":
        assert len(writes) == 1  # a PATCH whose answer was lost is never sent again
        stored = simulator.command("nsxt", "policy_session", path=made["path"])["resource"]
        assert stored["enabled"] is False
        assert run.last["realization"]["state"] == "REALIZED"
    else:  # the retried PUT carries the old _revision: NSX refuses it (412), nothing is applied twice
        taken = accepted_writes(writes)
        assert all(e["status"] == 412 for e in writes if e not in taken), writes
        assert run.last["session"]["enabled"] is False and run.last["in_sync"] is True
