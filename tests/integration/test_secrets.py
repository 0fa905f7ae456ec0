"""No secret the simulator knows ever shows in a module's output, even at -vvvv.

Every module runs with -vvvv on its normal path and on a failing one; the whole output is then
scanned for every password, access token, session id, session token and pre-shared key the
simulator has handed out or holds - not only the ones that module used.
"""

import hashlib
import os

import pytest

from .harness import ROOT


def known_secrets(sim):
    """Every secret the simulator knows right now (its configuration read afresh: the ZStack
    auth keys of connections made since it started are in it, not in ``sim.config``)."""
    found = set()
    config = sim.call("GET", "/config")
    for app in config["appliances"].values():
        for key in ("password", "access_token"):
            if app.get(key):
                found.add(app[key])
        for creds in (app.get("credentials") or {}).values():
            found.add(creds["password"])
        found.update((app.get("auth_keys") or {}).values())
    if "nsxt" in config["appliances"]:
        found.update(sim.command("nsxt", "psks")["psks"])  # pre-shared keys of Policy sessions
    if "zstack" in config["appliances"]:
        zs = config["appliances"]["zstack"]
        found.add(hashlib.sha512(zs["password"].encode()).hexdigest())
        sessions = sim.command("zstack", "sessions")
        found.update(sessions["open"] + sessions["expired"] + sessions["logged_out"])
    for site in ("vcda_a", "vcda_b"):
        if site in config["appliances"]:
            tokens = sim.command(site, "tokens")
            found.update(tokens["issued"])
    return sorted(s for s in found if s and len(s) >= 8)


def nsxt(sim, failing):
    app = sim.appliance("nsxt")
    sid = app["samples"]["error_session_id" if failing else "session_id"]
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "session_id": sid}


def nsxt_state(sim, failing):
    """vpn_session_state by Policy path; failing: the change is realized as ERROR (with alarms)."""
    app = sim.appliance("nsxt")
    made = sim.command("nsxt", "create_policy_session")
    sim.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.2, realize_after=0.5,
                outcome="ERROR" if failing else "REALIZED")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "session_path": made["path"], "enabled": False, "wait_sleep": 1}


def zstack(sim, failing):
    app = sim.appliance("zstack")
    made = sim.command("zstack", "create_connection", state="Enabled", fail=failing, job_seconds=0.5)
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "uuid": made["uuid"], "state": "disabled"}


def zstack_info(sim, failing):
    """ipsec_connection_info; failing: a condition on a field ZStack does not have (its SYS.1007)."""
    app = sim.appliance("zstack")
    made = sim.command("zstack", "create_connections", count=2)
    args = {"host": app["host"], "username": app["username"], "password": app["password"],
            "name": made["prefix"] + "-%"}
    if failing:
        args["conditions"] = ["noSuchField=1"]
    return args


def vcda(sim, failing):
    app, peer = sim.appliance("vcda_a"), sim.appliance("vcda_b")
    sim.command("vcda_a", "restore")
    if failing:
        sim.command("vcda_a", "fail_next_task")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "peer_api_url": peer["api_url"], "wait_sleep": 1}


def vcda_info(sim, failing):
    """replication_site_info; failing: vCDA answers GET /sites with a 500 (its error body, stack
    trace included), after the login and before the logout."""
    app = sim.appliance("vcda_a")
    sim.command("vcda_a", "restore")
    sim.command("vcda_a", "pair_directly", peer="vcda_b")
    if failing:
        sim.fault(appliance="vcda_a", method="GET", path=r"^/sites$", kind="status", status=500, count=1)
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"]}


def ontap(sim, failing):
    app = sim.appliance("ontap")
    args = {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "filters": {"svm.name": app["samples"]["healthy_svm"]}}
    if failing:
        args.update(filters={"svm.name": app["samples"]["degraded_svm"]}, wait_for_connected=True,
                    wait_timeout=2, wait_sleep=1)
    return args


def customer_connect(sim, failing):
    app = sim.appliance("customer_connect")
    rid = app["samples"]["failed_request_id" if failing else "completed_request_id"]
    return {"host": app["host"], "access_token": app["access_token"], "ca_path": sim.config["ca_path"],
            "request_id": rid}


# Every module of the collection, with its maker of arguments (normal and failing path). The
# bad-input matrix (test_bad_input_matrix.py) runs over this list too.
MODULES = [
    ("vpn_session_realization_info", nsxt),
    ("vpn_session_state", nsxt_state),
    ("ipsec_connection_state", zstack),
    ("ipsec_connection_info", zstack_info),
    ("replication_site_pair", vcda),
    ("replication_site_info", vcda_info),
    ("vscan_server_status_info", ontap),
    ("vmware_request_status_info", customer_connect),
]


@pytest.mark.parametrize("failing", [False, True], ids=["normal", "failing"])
@pytest.mark.parametrize("module, make_args", MODULES, ids=[m[0] for m in MODULES])
def test_no_known_secret_in_vvvv_output(ansible, simulator, module, make_args, failing):
    run = ansible.module(module, make_args(simulator, failing), verbosity=4)
    assert (run.rc != 0) == failing, run
    secrets = known_secrets(simulator)
    assert len(secrets) >= 10  # the scan is only as good as what it looks for
    leaked = [s for s in secrets if s in run.output]
    assert not leaked, "secrets in the output of %s: %s" % (module, [s[:4] + "..." for s in leaked])
    if module.startswith("replication_site"):
        simulator.command("vcda_a", "restore")


def test_every_module_is_in_the_list():
    """A new module must get its argument maker here (and so the -vvvv scan and the bad-input
    matrix) before it can ship."""
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and not f.startswith("_"))
    assert sorted(m for m, _make in MODULES) == modules
