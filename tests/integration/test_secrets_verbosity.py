"""No secret shows in the output of any role or playbook, at verbosity 0, -v or -vvv.

Module-side masking (no_log options, masked results) cannot reach what the controller prints
itself: at -v Ansible shows each loop item with its result, at -vvv each task's arguments and
paths. So every role of roles/ (run as a user's play runs it, the connections in module_defaults)
and every playbook of playbooks/ (the connection in the environment as an AWX credential injects
it, the objects from playbooks/vars/<role>.yml adapted to the simulator; demo.yml as `make demo`
runs it, the simulator's config in SIMULATOR_CONFIG) runs at each verbosity against a simulator of
its own, and the whole stdout + stderr of every run is scanned for every secret that simulator
knows at the end: every password and access token, the vCDA session tokens handed out, the ZStack
sessions, password hash and auth keys, the NSX pre-shared keys (test_secrets.known_secrets).

The roles that take a list also run on a failing path at each verbosity (FAILING: site_pairing
with one direction failing, ipsec_connection with one item whose job fails): a failed loop item
or a failed module prints its whole result at -v, the role's report and its final failure print
at any verbosity, and those outputs are scanned the same way.

Roles and playbooks are found by listing roles/ and playbooks/: a new one fails here until ADAPT
says how its vars file maps onto the simulator. The runs go in a few threads (the runs that pair
the two vCDA sites one after another, they share two appliances); each case is one test. All
cases share one set of runs, made once per pytest run, also under xdist (see ``runs``).
"""

import concurrent.futures
import copy
import fcntl
import json
import os
import threading

import pytest
import yaml

from .harness import ROOT, Simulator
from .test_navigator import credential_env
from .test_roles import connections
from .test_secrets import known_secrets

ROLES = sorted(d for d in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isdir(os.path.join(ROOT, "roles", d)))
PLAYBOOKS = sorted(f for f in os.listdir(os.path.join(ROOT, "playbooks")) if f.endswith(".yml"))
VERBOSITIES = [0, 1, 3]
WORKERS = 3


def vars_file(role):
    with open(os.path.join(ROOT, "playbooks", "vars", role + ".yml")) as handle:
        return yaml.safe_load(handle)


# -- playbooks/vars/<role>.yml onto the simulator: same variables and shape, simulated objects ------
def adapt_ipsec_connection(sim, given, work):
    items = []
    for item in given["ipsec_connection_items"]:
        made = sim.command("zstack", "create_connection", job_seconds=0.5,
                           state="Disabled" if item["state"] == "enabled" else "Enabled")
        item = dict(item)
        if "uuid" in item:
            item["uuid"] = made["uuid"]
        else:
            item["name"] = made["name"]
        items.append(item)
    return dict(given, ipsec_connection_items=items, ipsec_connection_wait_sleep=1)


def adapt_request_tracker(sim, given, work):
    done = sim.appliance("customer_connect")["samples"]["completed_request_id"]
    return dict(given, request_tracker_wait_sleep=1,
                request_tracker_requests=[dict(r, id=done) for r in given["request_tracker_requests"]])


def adapt_site_pairing(sim, given, work):
    ca = sim.config["ca_path"]
    sites = {"a": sim.appliance("vcda_a"), "b": sim.appliance("vcda_b")}
    pairs = []
    for pair in given["site_pairing_pairs"]:
        pair = copy.deepcopy(pair)
        for side, app in sites.items():
            pair[side].update(host=app["host"], username=app["username"], password=app["password"],
                              ca_path=ca, api_url=app["api_url"], thumbprint=app["thumbprint"])
        pairs.append(pair)
    return dict(given, site_pairing_pairs=pairs, site_pairing_wait_sleep=1)


def adapt_vpn_realization_check(sim, given, work):
    """Sessions by Policy path become Policy sessions of the simulator, sessions by Manager id
    Manager sessions (with the request id of their change when one is given)."""
    sessions = []
    for session in given["vpn_realization_check_sessions"]:
        if "path" in session:
            made = sim.command("nsxt", "create_policy_session", realize_after=0.5, tunnel_up_after=0.5)
            session = dict(session, path=made["path"])
        else:
            made = sim.command("nsxt", "create_session", realize_after=0.5)
            session = dict(session, id=made["session_id"])
            if "request_id" in session:
                session["request_id"] = made["request_id"]
        sessions.append(session)
    return dict(given, vpn_realization_check_sessions=sessions, vpn_realization_check_wait_sleep=1)


def adapt_vscan_health(sim, given, work):
    healthy = sim.appliance("ontap")["samples"]["healthy_svm"]
    svms = [dict(s, name=healthy if "*" not in s["name"] else healthy + "*",
                 min_connected=min(s.get("min_connected", 1), 2))
            for s in given["vscan_health_svms"]]
    return dict(given, vscan_health_svms=svms, vscan_health_report_dir=os.path.join(work, "vscan"))


# -- failing paths of the roles that take a list -------------------------------------------------
def adapt_ipsec_connection_failing(sim, given, work):
    """The second item's connection fails its job (SYS.1006, a strongswan error as its cause)."""
    adapted = adapt_ipsec_connection(sim, given, work)
    second = adapted["ipsec_connection_items"][1]
    uuid = second["uuid"] if "uuid" in second else None
    if uuid is None:
        raise AssertionError("playbooks/vars/ipsec_connection.yml: the second item is expected to have a uuid")
    sim.command("zstack", "set_connection", uuid=uuid, fail=True)
    return adapted


def adapt_site_pairing_failing(sim, given, work):
    """A is already paired with B under another thumbprint: the a -> b direction fails (no
    update_thumbprint), b -> a pairs."""
    stale = "SHA-256:" + ":".join(["AB"] * 32)
    sim.command("vcda_a", "pair_directly", peer="vcda_b", thumbprint=stale)
    return adapt_site_pairing(sim, given, work)


FAILING = {
    "ipsec_connection": (adapt_ipsec_connection_failing, "Fail when a connection did not change"),
    "site_pairing": (adapt_site_pairing_failing, "Fail when a direction failed"),
}

ADAPT = {
    "ipsec_connection": adapt_ipsec_connection,
    "request_tracker": adapt_request_tracker,
    "site_pairing": adapt_site_pairing,
    "vpn_realization_check": adapt_vpn_realization_check,
    "vscan_health": adapt_vscan_health,
}
# The platforms whose AWX credential a role's playbook gets (site_pairing: two appliances, both
# in the vars file, as Vault or AWX would give them).
PLATFORMS = {"ipsec_connection": ["zstack"], "request_tracker": ["customer_connect"], "site_pairing": [],
             "vpn_realization_check": ["nsxt"], "vscan_health": ["ontap"]}
USES_VCDA = {"site_pairing"}


def cases():
    out = [("role", role, v) for role in ROLES for v in VERBOSITIES]
    out += [("role-failing", role, v) for role in sorted(FAILING) for v in VERBOSITIES]
    out += [("playbook", playbook, v) for playbook in PLAYBOOKS for v in VERBOSITIES]
    return out


def case_id(case):
    return "%s-%s-v%d" % case


def run_case(ansible, sim, work_root, case):
    kind, name, verbosity = case
    work = os.path.join(work_root, case_id(case))
    os.makedirs(work)
    if kind == "playbook" and name == "demo.yml":
        return ansible.playbook(os.path.join(ROOT, "playbooks", name), verbosity=verbosity,
                                extra_vars={"demo_report_dir": os.path.join(work, "demo-reports")},
                                env={"SIMULATOR_CONFIG": sim.config_path})
    role = name if kind.startswith("role") else name[:-len(".yml")]
    adapt = FAILING[role][0] if kind == "role-failing" else ADAPT[role]
    role_vars = adapt(sim, vars_file(role), work)
    path = os.path.join(work, "vars.json")  # in a file, never on the command line
    if kind.startswith("role"):
        with open(path, "w") as handle:
            json.dump(dict(role_vars, role_name=role, role_connections=connections(sim)), handle)
        return ansible.playbook("role.yml", args=["-e", "@%s" % path], verbosity=verbosity)
    with open(path, "w") as handle:
        json.dump(role_vars, handle)
    env = {}
    for platform in PLATFORMS[role]:
        env.update(credential_env(sim, platform, work))
    return ansible.playbook(os.path.join(ROOT, "playbooks", name), args=["-e", "@%s" % path],
                            verbosity=verbosity, env=env)


def run_everything(ansible, work_root):
    """Every case, run once against a simulator of their own (demo.yml swaps the shared ZStack
    samples and pairs sites); then every secret that simulator knows after all of them. Returns
    {case id: the run as a dict, or {"error": text}}, secrets."""
    state_dir = os.path.join(work_root, "simulator")
    os.makedirs(state_dir)
    own_sim = Simulator(state_dir)
    try:
        for site in ("vcda_a", "vcda_b"):
            own_sim.command(site, "set_task_seconds", seconds=0.5)
        vcda = threading.Lock()

        def one(case):
            uses_vcda = case[1] == "demo.yml" or case[1].replace(".yml", "") in USES_VCDA
            if not uses_vcda:
                return run_case(ansible, own_sim, work_root, case)
            with vcda:
                for site in ("vcda_a", "vcda_b"):  # each run pairs from scratch, the task path included
                    own_sim.command(site, "restore")
                    own_sim.command(site, "set_task_seconds", seconds=0.5)
                return run_case(ansible, own_sim, work_root, case)

        done = {}
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = dict((case_id(c), pool.submit(one, c)) for c in cases())
            for key, future in futures.items():
                try:
                    run = future.result()
                    done[key] = {"cmd": run.cmd, "rc": run.rc, "stdout": run.stdout, "stderr": run.stderr,
                                 "results": run.results}
                except Exception as exc:  # pylint: disable=broad-except
                    done[key] = {"error": "%s: %s" % (type(exc).__name__, exc)}
        return done, known_secrets(own_sim)
    finally:
        own_sim.stop()


class Outcome:
    """One case's run as recorded by run_everything."""

    def __init__(self, recorded):
        self.__dict__.update(recorded)

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return "<Run rc=%s %s>\n%s" % (self.rc, " ".join(self.cmd), self.output[-4000:])


@pytest.fixture(scope="module")
def runs(ansible, tmp_path_factory):
    """The runs of every case, made once per pytest run - also under xdist, where each worker that
    gets one of these tests would otherwise make them all again: the first worker makes them
    under a file lock in the directory all workers share and leaves them in a file there; the
    others read that file."""
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not uid:
        return run_everything(ansible, str(tmp_path_factory.mktemp("secrets-runs")))
    shared = str(tmp_path_factory.getbasetemp().parent)
    path = os.path.join(shared, "secrets-verbosity-%s.json" % uid)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not os.path.exists(path):
            done, secrets = run_everything(ansible, str(tmp_path_factory.mktemp("secrets-runs")))
            with open(path + ".tmp", "w") as handle:
                json.dump({"done": done, "secrets": secrets}, handle)
            os.replace(path + ".tmp", path)
        with open(path) as handle:
            made = json.load(handle)
    return made["done"], made["secrets"]


def test_every_role_and_playbook_is_covered():
    assert sorted(ADAPT) == ROLES, "add an adapter of playbooks/vars/<role>.yml for each new role"
    assert sorted(PLATFORMS) == ROLES
    assert set(FAILING) <= set(ROLES)
    for role in ROLES:
        assert os.path.isfile(os.path.join(ROOT, "playbooks", "vars", role + ".yml")), role
    assert [p for p in PLAYBOOKS if p != "demo.yml"] == [r + ".yml" for r in ROLES], \
        "a playbook that is not a role's (or demo.yml) needs a case of its own here"


@pytest.mark.parametrize("case", cases(), ids=[case_id(c) for c in cases()])
def test_no_secret_in_the_output(runs, case):
    done, secrets = runs
    recorded = done[case_id(case)]
    assert "error" not in recorded, recorded.get("error")
    run = Outcome(recorded)
    assert len(secrets) >= 10  # the scan is only as good as what it looks for
    leaked = [s for s in secrets if s in run.output]
    assert not leaked, "%d secret(s) in the output of %s: %s\n%s" % (
        len(leaked), case_id(case), [s[:4] + "..." for s in leaked], run.output[-2000:])
    assert any(r["task"] for r in run.results), run
    if case[0] == "role-failing":
        # It failed where it should, after reporting every item (so the failed one printed too).
        assert run.rc != 0, run
        assert "FAILED - " in run.output, run.output[-2000:]
        assert [r["status"] for r in run.results if r["task"] == FAILING[case[1]][1]] == ["failed"], run
    else:
        assert run.rc == 0, run
    if case[2] >= 1:  # the -v output is the one that shows loop items and results
        assert "=> {" in run.output or "=> (item=" in run.output, run.output[-2000:]
