"""Every module x every fault an appliance or its proxy throws, over real ansible runs.

Two matrices:

- **Faults during a wait or a read** (``test_fault_during_a_read``): each fault kind hits a
  status read of a wait (the second one, not the first, when the module made the change it
  waits for; the first when the change was made before the module started, whose start-up time
  is unknown), or the read of an info module that does not wait (its first and only one). Each
  cell either succeeds (the fault is transient) or fails with a clear message naming the vendor
  error; no cell ends in a Python traceback; each write of the run (ZStack PUT, vCDA POST, NSX
  PATCH) is sent exactly once for its object, counted in the simulator's request log; a module
  that opens a session closes it exactly once.
- **Faults on the write itself** (``test_fault_on_a_write_the_appliance_took``): the ZStack PUT,
  the vCDA POST, DELETE and PUT of ``/sites``, the NSX PATCH and PUT are taken by the appliance,
  then their answer is lost (a 502 from a proxy, a connection reset, a reply later than the
  client's ``timeout``): the appliance ``accepted`` exactly one write per change (the status the
  appliance itself produced, from the request log - not the fault's), its final state (read
  back from the simulator's control API or straight from the appliance's API, never from the
  module's result) is the one asked for, and the task succeeds without a traceback.
"""

import re
import time
from collections import Counter

import pytest
import requests

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

ZSTACK_PUT = r"^/zstack/v1/ipsec/[0-9a-f]{32}/actions$"
ZSTACK_LOGOUT = ("DELETE", r"^/zstack/v1/accounts/sessions/")
VCDA_LOGOUT = ("DELETE", r"^/sessions$")


def accepted(entries):
    """The requests the appliance itself answered with a 2xx, whatever the client received."""
    return [e for e in entries if 200 <= (e["appliance_status"] or 0) < 300]


def faulted_requests(sim, since, appliance):
    """Faulted requests in the log; a stalled one is logged only when its stall ends."""
    deadline = time.monotonic() + 8
    while True:
        found = [e for e in sim.log(since=since, appliance=appliance) if e["fault"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def nsx_args(sim):
    app = sim.appliance("nsxt")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "timeout": 2}


def zstack_args(sim):
    app = sim.appliance("zstack")
    return {"host": app["host"], "username": app["username"], "password": app["password"], "timeout": 2}


def vcda_args(sim):
    app = sim.appliance("vcda_a")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "timeout": 2}


def vcda_peers(sim, site="vcda_a"):
    return [s for s in sim.command(site, "sites")["sites"] if not s["isLocal"]]


# == 1. Faults during a wait, or on the read of an info module ====================================
class Case:
    """How to run one module against a fresh object, and where its reads and writes go."""

    appliance = None
    read_path = None     # regex of the reads the fault hits
    skip = 1             # matching reads let through first (1: the fault hits the second read)
    sessions = False     # the module holds a session/token that can expire mid-run
    expiry_outcome = "ok"
    logout = None        # (method, path regex) of the logout: sent exactly once per run

    def __init__(self, sim):
        self.sim = sim
        self.app = sim.appliance(self.appliance)
        # (method, path regex, how many objects): each object's write sent exactly once
        self.writes = None

    def check(self, run, outcome):
        """Assertions of this case beyond the common ones."""

    def tidy(self):
        """Undo what a cell may have left on the appliance."""


class Nsxt(Case):
    module, appliance = "vpn_session_realization_info", "nsxt"
    read_path = r"/state$"

    def args(self):
        made = self.sim.command("nsxt", "create_session", realize_after=3, start_on_first_read=True)
        return dict(nsx_args(self.sim), session_id=made["session_id"])


class NsxtPolicyInfo(Case):
    """The info module's Policy-path wait: realized entities read until the change is REALIZED.
    The change is made before the module starts, whose start-up time is not known: the fault
    hits the first read, so that it always fires (the wait still has seconds to go)."""
    module, appliance = "vpn_session_realization_info", "nsxt"
    read_path = r"/infra/realized-state/realized-entities$"
    skip = 0

    def args(self):
        made = self.sim.command("nsxt", "create_policy_session")
        self.sim.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.3, realize_after=4)
        change = self.sim.command("nsxt", "change_policy_session", path=made["path"], enabled=False)
        return dict(nsx_args(self.sim), session_path=made["path"], changed_since=change["_last_modified_time"])


class NsxtPolicyInfoTunnel(Case):
    """The info module's tunnel wait: detailed-status read until the tunnel is UP (first read
    faulted, as for NsxtPolicyInfo)."""
    module, appliance = "vpn_session_realization_info", "nsxt"
    read_path = r"/detailed-status$"
    skip = 0

    def args(self):
        made = self.sim.command("nsxt", "create_policy_session")
        self.sim.command("nsxt", "configure_policy_session", path=made["path"], realize_after=0.5,
                         tunnel_up_after=5)
        self.sim.command("nsxt", "change_policy_session", path=made["path"], enabled=True)
        return dict(nsx_args(self.sim), session_path=made["path"], wait_for="tunnel_up")


class NsxtPolicyState(Case):
    """vpn_session_state by Policy path: one PATCH, then realized entities read until REALIZED."""
    module, appliance = "vpn_session_state", "nsxt"
    read_path = r"/infra/realized-state/realized-entities$"

    def args(self):
        made = self.sim.command("nsxt", "create_policy_session")
        self.sim.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.3, realize_after=3)
        self.writes = ("PATCH", re.escape(made["path"]) + "$", 1)
        return dict(nsx_args(self.sim), session_path=made["path"], enabled=False)


class NsxtPolicyStateTunnel(Case):
    """vpn_session_state with wait_for: tunnel_up: one PATCH, realized, then detailed-status until UP."""
    module, appliance = "vpn_session_state", "nsxt"
    read_path = r"/detailed-status$"

    def args(self):
        made = self.sim.command("nsxt", "create_policy_session", enabled=False)
        self.sim.command("nsxt", "configure_policy_session", path=made["path"], realize_after=0.5,
                         tunnel_up_after=3)
        self.writes = ("PATCH", re.escape(made["path"]) + "$", 1)
        return dict(nsx_args(self.sim), session_path=made["path"], enabled=True, wait_for="tunnel_up")


class Zstack(Case):
    module, appliance = "ipsec_connection_state", "zstack"
    read_path = r"/zstack/v1/api-jobs/"
    sessions = True
    logout = ZSTACK_LOGOUT

    def args(self):
        made = self.sim.command("zstack", "create_connection", state="Enabled", job_seconds=3)
        self.writes = ("PUT", ZSTACK_PUT, 1)
        return dict(zstack_args(self.sim), uuid=made["uuid"], state="disabled")


class ZstackMany(Case):
    """connections: three jobs followed together; the fault hits one read of one of them."""
    module, appliance = "ipsec_connection_state", "zstack"
    read_path = r"/zstack/v1/api-jobs/"
    sessions = True
    logout = ZSTACK_LOGOUT

    def args(self):
        self.made = self.sim.command("zstack", "create_connections", count=3, state="Enabled",
                                     job_seconds=3)["connections"]
        self.writes = ("PUT", ZSTACK_PUT, 3)
        return dict(zstack_args(self.sim), connections=[{"uuid": m["uuid"], "state": "disabled"} for m in self.made])

    def check(self, run, outcome):
        # Every job was followed to its end: whatever one read met, the others are reported done.
        entries = run.last["connections"]
        assert [e["item"]["uuid"] for e in entries] == [m["uuid"] for m in self.made]
        failed = [e for e in entries if e["failed"]]
        assert len(failed) == (0 if outcome == "ok" else 1), entries
        for entry in entries:
            if not entry["failed"]:
                assert entry["changed"] is True and entry["connection"]["state"] == "Disabled", entry


class IpsecConnectionInfo(Case):
    """ipsec_connection_info: the fault hits its query (the first read: there is no wait)."""
    module, appliance = "ipsec_connection_info", "zstack"
    read_path = r"^/zstack/v1/ipsec$"
    skip = 0
    sessions = True
    logout = ZSTACK_LOGOUT

    def args(self):
        made = self.sim.command("zstack", "create_connections", count=3, state="Enabled")
        self.made = made["connections"]
        return dict(zstack_args(self.sim), name=made["prefix"] + "-%")

    def check(self, run, outcome):
        if outcome == "ok":
            assert sorted(c["uuid"] for c in run.last["connections"]) == sorted(m["uuid"] for m in self.made)


class Vcda(Case):
    module, appliance = "replication_site_pair", "vcda_a"
    read_path = r"^/tasks/"
    sessions = True
    logout = VCDA_LOGOUT

    def args(self):
        self.sim.command("vcda_a", "restore")
        self.sim.command("vcda_a", "set_task_seconds", seconds=3)
        peer = self.sim.appliance("vcda_b")
        self.writes = ("POST", r"^/sites$", 1)
        return dict(vcda_args(self.sim), peer_api_url=peer["api_url"], peer_api_thumbprint=peer["thumbprint"],
                    wait_sleep=1)

    def tidy(self):
        self.sim.command("vcda_a", "restore")


class ReplicationSiteInfo(Case):
    """replication_site_info: the fault hits its GET /sites (the first read: there is no wait)."""
    module, appliance = "replication_site_info", "vcda_a"
    read_path = r"^/sites$"
    skip = 0
    sessions = True
    logout = VCDA_LOGOUT

    def args(self):
        self.sim.command("vcda_a", "restore")
        self.sim.command("vcda_a", "pair_directly", peer="vcda_b")
        return vcda_args(self.sim)

    def check(self, run, outcome):
        if outcome == "ok":
            assert [s["site"] for s in run.last["sites"]] == ["site-b"]
            assert run.last["local_site"]["site"] == "site-a"

    def tidy(self):
        self.sim.command("vcda_a", "restore")


class Ontap(Case):
    module, appliance = "vscan_server_status_info", "ontap"
    read_path = r"/api/protocols/vscan/server-status$"

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
    read_path = r"/status$"
    sessions = True
    # A Customer Connect access token cannot be renewed by the module (no API key): it says so.
    expiry_outcome = "access token is invalid or expired"

    def args(self):
        made = self.sim.command("customer_connect", "create_request", complete_after=3, start_on_first_read=True)
        return {"host": self.app["host"], "access_token": self.app["access_token"],
                "ca_path": self.sim.config["ca_path"], "request_id": made["request_id"], "timeout": 2}

    def tidy(self):
        self.sim.command("customer_connect", "revive_tokens")


CASES = [Nsxt, NsxtPolicyInfo, NsxtPolicyInfoTunnel, NsxtPolicyState, NsxtPolicyStateTunnel, Zstack, ZstackMany,
         IpsecConnectionInfo, Vcda, ReplicationSiteInfo, Ontap, CustomerConnect]


def case_id(case_class):
    return "%s-%s" % (case_class.module, case_class.__name__)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("case_class", CASES, ids=case_id)
def test_fault_during_a_read(ansible, simulator, case_class, fault):
    case = case_class(simulator)
    spec, outcome = FAULTS[fault]
    if fault == "session_expiry":
        if not case.sessions:
            pytest.skip("%s authenticates every request (basic auth): no session to expire" % case.module)
        outcome = case.expiry_outcome
    args = case.args()
    mark = simulator.mark()
    simulator.fault(appliance=case.appliance, path=case.read_path, method="GET", skip=case.skip, **spec)
    try:
        run = ansible.module(case.module, args)
    finally:
        simulator.clear_faults()
    try:
        assert "Traceback" not in run.output, run
        assert fault == "session_expiry" or faulted_requests(simulator, mark, case.appliance), \
            "the fault never fired: %r" % run
        if outcome == "ok":
            assert run.rc == 0, run
        else:
            assert run.rc != 0, run
            assert outcome in run.last["msg"], run.last["msg"]
        if case.writes:
            method, path, objects = case.writes
            sent = Counter(e["path"] for e in simulator.log(since=mark, appliance=case.appliance, method=method,
                                                            path=path))
            assert len(sent) == objects and set(sent.values()) == {1}, "%s sent: %s" % (method, dict(sent))
        if case.logout:
            method, path = case.logout
            logouts = simulator.log(since=mark, appliance=case.appliance, method=method, path=path)
            assert len(logouts) == 1, "%d logouts: %s" % (len(logouts), logouts)
        case.check(run, outcome)
    finally:
        case.tidy()


# == 2. Faults on the write itself, after the appliance took it ===================================
WRITE_FAULTS = {
    "502_after": dict(kind="status", status=502, after=True),
    "reset_after": dict(kind="reset", after=True),
    "timeout_after": dict(kind="timeout", seconds=4, after=True),
}


class WriteCase:
    """One write of one module: ``args()`` prepares the object and says which request to fault
    (``self.method``, ``self.path``); ``final(run)`` asserts the appliance's state afterwards."""

    module = appliance = None
    resent = False   # the write may be sent again (it carries what makes a repeat harmless)

    def __init__(self, sim):
        self.sim = sim

    def tidy(self):
        pass


class NsxPolicyPatch(WriteCase):
    module, appliance = "vpn_session_state", "nsxt"

    def args(self):
        self.made = self.sim.command("nsxt", "create_policy_session")
        self.sim.command("nsxt", "configure_policy_session", path=self.made["path"], stale_window=0.3,
                         realize_after=1)
        self.method, self.path = "PATCH", re.escape(self.made["path"]) + "$"
        return dict(nsx_args(self.sim), session_path=self.made["path"], enabled=False)

    def final(self, run):
        stored = self.sim.command("nsxt", "policy_session", path=self.made["path"])
        assert stored["resource"]["enabled"] is False
        assert stored["changes"] == 2, stored  # its creation and our one PATCH
        assert run.last["realization"]["state"] == "REALIZED"


class NsxManagerPut(WriteCase):
    """A PUT carries the ``_revision`` it read: a repeat after an applied one is refused (412)."""
    module, appliance = "vpn_session_state", "nsxt"
    resent = True

    def args(self):
        self.made = self.sim.command("nsxt", "create_session", realize_after=0)
        self.method, self.path = "PUT", re.escape(self.made["session_id"]) + "$"
        return dict(nsx_args(self.sim), session_id=self.made["session_id"], enabled=False)

    def final(self, run):
        app = self.sim.appliance("nsxt")
        stored = requests.get("%s/api/v1/vpn/ipsec/sessions/%s" % (app["url"], self.made["session_id"]),
                              auth=(app["username"], app["password"]), verify=self.sim.config["ca_path"],
                              timeout=30).json()
        assert stored["enabled"] is False
        assert run.last["in_sync"] is True


class ZstackPut(WriteCase):
    module, appliance = "ipsec_connection_state", "zstack"

    def args(self):
        self.made = self.sim.command("zstack", "create_connection", state="Enabled", job_seconds=2)
        self.method, self.path = "PUT", "/ipsec/%s/actions$" % self.made["uuid"]
        return dict(zstack_args(self.sim), uuid=self.made["uuid"], state="disabled")

    def final(self, run):
        assert self.sim.command("zstack", "connection", uuid=self.made["uuid"])["state"] == "Disabled"
        jobs = self.sim.command("zstack", "jobs", connection_uuid=self.made["uuid"])["jobs"]
        assert len(jobs) == 1 and not jobs[0]["failed"], jobs
        assert run.last["connection"]["state"] == "Disabled" and run.last["changed"] is True


class ZstackManyPut(WriteCase):
    """connections: the reply to one of three PUTs is lost; every other item is still followed."""
    module, appliance = "ipsec_connection_state", "zstack"

    def args(self):
        self.made = self.sim.command("zstack", "create_connections", count=3, state="Enabled",
                                     job_seconds=2)["connections"]
        self.method, self.path = "PUT", "/ipsec/%s/actions$" % self.made[1]["uuid"]
        return dict(zstack_args(self.sim), max_concurrent=3,
                    connections=[{"uuid": m["uuid"], "state": "disabled"} for m in self.made])

    def final(self, run):
        entries = run.last["connections"]
        assert [e["item"]["uuid"] for e in entries] == [m["uuid"] for m in self.made]
        for made, entry in zip(self.made, entries):
            assert self.sim.command("zstack", "connection", uuid=made["uuid"])["state"] == "Disabled"
            jobs = self.sim.command("zstack", "jobs", connection_uuid=made["uuid"])["jobs"]
            assert len(jobs) == 1 and not jobs[0]["failed"], (made, jobs)
            assert entry["failed"] is False and entry["changed"] is True, entry
            assert entry["connection"]["state"] == "Disabled", entry
        sent = self.sim.log(since=self.mark, appliance="zstack", method="PUT", path=ZSTACK_PUT)
        puts = Counter(e["path"] for e in sent)
        assert sorted(puts.values()) == [1, 1, 1], puts


class VcdaPost(WriteCase):
    module, appliance = "replication_site_pair", "vcda_a"

    def args(self):
        for site in ("vcda_a", "vcda_b"):
            self.sim.command(site, "restore")
        self.sim.command("vcda_a", "set_task_seconds", seconds=2)
        self.peer = self.sim.appliance("vcda_b")
        self.method, self.path = "POST", r"^/sites$"
        return dict(vcda_args(self.sim), peer_api_url=self.peer["api_url"],
                    peer_api_thumbprint=self.peer["thumbprint"], wait_sleep=1)

    def final(self, run):
        peers = vcda_peers(self.sim)
        assert [(p["site"], p["apiThumbprint"]) for p in peers] == [("site-b", self.peer["thumbprint"])], peers
        assert run.last["changed"] is True

    def tidy(self):
        self.sim.command("vcda_a", "restore")


class VcdaDelete(WriteCase):
    module, appliance = "replication_site_pair", "vcda_a"

    def args(self):
        for site in ("vcda_a", "vcda_b"):
            self.sim.command(site, "restore")
        self.sim.command("vcda_a", "set_task_seconds", seconds=2)
        self.sim.command("vcda_a", "pair_directly", peer="vcda_b")
        peer = self.sim.appliance("vcda_b")
        self.method, self.path = "DELETE", r"^/sites/[^/]+$"
        return dict(vcda_args(self.sim), peer_api_url=peer["api_url"], state="absent", wait_sleep=1)

    def final(self, run):
        assert vcda_peers(self.sim) == []
        assert run.last["changed"] is True

    def tidy(self):
        self.sim.command("vcda_a", "restore")


class VcdaRepairPut(WriteCase):
    """update_thumbprint: true re-pairs a pairing whose stored thumbprint is stale (a renewed
    peer certificate) through PUT /sites/<id>."""
    module, appliance = "replication_site_pair", "vcda_a"

    def args(self):
        for site in ("vcda_a", "vcda_b"):
            self.sim.command(site, "restore")
        self.sim.command("vcda_a", "set_task_seconds", seconds=2)
        self.peer = self.sim.appliance("vcda_b")
        stale = self.sim.appliance("vcda_a")["thumbprint"]  # any other certificate's thumbprint
        self.sim.command("vcda_a", "pair_directly", peer="vcda_b", thumbprint=stale)
        self.method, self.path = "PUT", r"^/sites/[^/]+$"
        return dict(vcda_args(self.sim), peer_api_url=self.peer["api_url"],
                    peer_api_thumbprint=self.peer["thumbprint"], update_thumbprint=True, wait_sleep=1)

    def final(self, run):
        peers = vcda_peers(self.sim)
        assert [(p["site"], p["apiThumbprint"]) for p in peers] == [("site-b", self.peer["thumbprint"])], peers
        assert "CertificateThumbprintMismatch" not in str(peers[0]["state"])
        assert run.last["changed"] is True

    def tidy(self):
        self.sim.command("vcda_a", "restore")


WRITE_CASES = [NsxPolicyPatch, NsxManagerPut, ZstackPut, ZstackManyPut, VcdaPost, VcdaDelete, VcdaRepairPut]


@pytest.mark.parametrize("fault", sorted(WRITE_FAULTS))
@pytest.mark.parametrize("case_class", WRITE_CASES, ids=lambda c: c.__name__)
def test_fault_on_a_write_the_appliance_took(ansible, simulator, case_class, fault):
    case = case_class(simulator)
    args = case.args()
    case.mark = mark = simulator.mark()
    simulator.fault(appliance=case.appliance, method=case.method, path=case.path, count=1, **WRITE_FAULTS[fault])
    try:
        run = ansible.module(case.module, args)
    finally:
        simulator.clear_faults()
    try:
        assert "Traceback" not in run.output, run
        assert run.rc == 0, run
        faulted = faulted_requests(simulator, mark, case.appliance)  # a stalled write is logged when its stall ends
        assert [e["fault"] for e in faulted] == [WRITE_FAULTS[fault]["kind"] + " after handling"], faulted
        writes = simulator.log(since=mark, appliance=case.appliance, method=case.method, path=case.path)
        assert len(accepted(writes)) == 1, writes
        if case.resent:  # a repeat is refused by the appliance: nothing applied twice
            assert all(e["appliance_status"] == 412 for e in writes if e not in accepted(writes)), writes
        else:  # a write whose answer was lost is never sent again
            assert len(writes) == 1, writes
        case.final(run)
    finally:
        case.tidy()
