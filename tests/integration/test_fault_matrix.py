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
