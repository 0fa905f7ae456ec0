"""No secret the simulator knows ever shows in a module's output, even at -vvvv.

Every module runs with -vvvv on its normal path and on a failing one; the whole output is then
scanned for every password, access token, session id, session token and pre-shared key the
simulator has handed out or holds - not only the ones that module used.
"""

import hashlib

import pytest


def known_secrets(sim):
    """Every secret the simulator knows right now."""
    found = set()
    for name, app in sim.config["appliances"].items():
        for key in ("password", "access_token"):
            if app.get(key):
                found.add(app[key])
        for creds in (app.get("credentials") or {}).values():
            found.add(creds["password"])
        found.update((app.get("auth_keys") or {}).values())
    if "nsxt" in sim.config["appliances"]:
        found.update(sim.command("nsxt", "psks")["psks"])  # pre-shared keys of Policy sessions
    if "zstack" in sim.config["appliances"]:
        zs = sim.appliance("zstack")
        found.add(hashlib.sha512(zs["password"].encode()).hexdigest())
        sessions = sim.command("zstack", "sessions")
        found.update(sessions["open"] + sessions["expired"] + sessions["logged_out"])
    for site in ("vcda_a", "vcda_b"):
        if site in sim.config["appliances"]:
            tokens = sim.command(site, "tokens")
            found.update(tokens["issued"])
    if "nsxt" in sim.config["appliances"]:
        found.update(sim.command("nsxt", "psks")["psks"])
    return sorted(s for s in found if s and len(s) >= 8)


def nsxt(sim, failing):
    app = sim.appliance("nsxt")
    sid = app["samples"]["error_session_id" if failing else "session_id"]
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "session_id": sid}


def zstack(sim, failing):
    app = sim.appliance("zstack")
    made = sim.command("zstack", "create_connection", state="Enabled", fail=failing, job_seconds=0.5)
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "uuid": made["uuid"], "state": "disabled"}


def vcda(sim, failing):
    app, peer = sim.appliance("vcda_a"), sim.appliance("vcda_b")
    sim.command("vcda_a", "restore")
    if failing:
        sim.command("vcda_a", "fail_next_task")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "peer_api_url": peer["api_url"], "wait_sleep": 1}


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


MODULES = [
    ("vpn_session_realization_info", nsxt),
    ("ipsec_connection_state", zstack),
    ("replication_site_pair", vcda),
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
    if module == "replication_site_pair":
        simulator.command("vcda_a", "restore")
