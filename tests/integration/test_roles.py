"""The example roles' failure paths: wrong variables, unhealthy SVMs, failed requests and sessions.

(Their happy paths - converge, idempotence, check mode, verify - are the molecule scenarios in
extensions/molecule/.)
"""

import json
import os

import pytest


def connections(sim):
    ca = sim.config["ca_path"]
    nsx, zs, ontap, cc = (sim.appliance(n) for n in ("nsxt", "zstack", "ontap", "customer_connect"))
    return {
        "nsxt": {"host": nsx["host"], "username": nsx["username"], "password": nsx["password"], "ca_path": ca},
        "zstack": {"host": zs["host"], "username": zs["username"], "password": zs["password"]},
        "ontap": {"host": ontap["host"], "username": ontap["username"], "password": ontap["password"], "ca_path": ca},
        "customer_connect": {"host": cc["host"], "access_token": cc["access_token"], "ca_path": ca},
    }


def run_role(ansible, sim, tmp_path, role, **role_vars):
    """Vars go in a file, not on the command line, so no secret shows in the process list."""
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_vars, role_name=role, role_connections=connections(sim))))
    return ansible.playbook("role.yml", args=["-e", "@%s" % path])


@pytest.mark.parametrize("role, wrong, message", [
    ("vpn_realization_check", {"vpn_realization_check_sessions": [{"id": "s1"}], "vpn_realization_check_wait_for": "up"},
     "value of vpn_realization_check_wait_for must be one of: realized, in_effect, deleted, tunnel_up, tunnel_down"),
    ("ipsec_connection", {"ipsec_connection_items": [{"name": "x", "state": "on"}]},
     "value of state must be one of: enabled, disabled"),
    ("site_pairing", {"site_pairing_pairs": [{"a": {"host": "a.example.com"}}]},
     "missing required arguments: b found in site_pairing_pairs"),
    ("vscan_health", {"vscan_health_svms": [{"name": "svm1"}]},
     "missing required arguments: vscan_health_report_dir"),
    ("request_tracker", {"request_tracker_requests": "1uy14hzktpz7n7a9h"},
     "request_tracker_requests"),
])
def test_a_wrong_variable_fails_at_once_with_the_roles_message(ansible, simulator, tmp_path, role, wrong, message):
    mark = simulator.mark()
    run = run_role(ansible, simulator, tmp_path, role, **wrong)
    assert run.rc != 0
    assert "Validation of arguments failed" in run.output and message in run.output, run
    assert simulator.log(since=mark) == []


def test_ipsec_connection_needs_exactly_one_of_uuid_and_name(ansible, simulator, tmp_path):
    zs = simulator.appliance("zstack")
    run = run_role(ansible, simulator, tmp_path, "ipsec_connection", ipsec_connection_items=[
        {"uuid": zs["samples"]["enabled_uuid"], "name": zs["samples"]["enabled_name"], "state": "enabled"}])
    assert run.rc != 0
    assert "ipsec_connection: every item of ipsec_connection_items needs exactly one of uuid and name" in run.output


def test_vpn_realization_check_fails_with_a_summary_per_session(ansible, simulator, tmp_path):
    good = simulator.command("nsxt", "create_session", realize_after=0.5)
    bad = simulator.command("nsxt", "create_session", realize_after=0.5, outcome="error")
    run = run_role(ansible, simulator, tmp_path, "vpn_realization_check", vpn_realization_check_sessions=[
        {"id": good["session_id"], "name": "office"}, {"id": bad["session_id"], "name": "branch"}])
    assert run.rc != 0
    report = run.task("Report each session")["msg"]
    assert report[0].startswith("office: realization in_sync, tunnel not read after")
    assert report[1].startswith("FAILED branch: realization error") and "NO_PROPOSAL_CHOSEN" in report[1]
    assert "1 of 2 sessions failed: branch" in run.task("Fail when a session did not get there")["msg"]


def test_vscan_health_fails_below_the_minimum_after_writing_both_reports(ansible, simulator, tmp_path):
    ontap = simulator.appliance("ontap")
    degraded = ontap["samples"]["degraded_svm"]
    report_dir = tmp_path / "reports"
    run = run_role(ansible, simulator, tmp_path, "vscan_health", vscan_health_report_dir=str(report_dir),
                   vscan_health_svms=[{"name": degraded, "min_connected": 25}])
    assert run.rc != 0
    assert "1 SVM(s) below their minimum of connected vscan servers: %s" % degraded in \
        run.task("Fail when an SVM is below its minimum")["msg"]
    report = json.loads((report_dir / "vscan-health.json").read_text())
    assert report["healthy"] is False and report["svms"][0]["healthy"] is False
    assert "**below minimum**" in (report_dir / "vscan-health.md").read_text()


def test_vscan_health_counts_an_svm_without_servers_as_below_minimum(ansible, simulator, tmp_path):
    run = run_role(ansible, simulator, tmp_path, "vscan_health", vscan_health_report_dir=str(tmp_path),
                   vscan_health_svms=[{"name": "no-such-svm"}])
    assert run.rc != 0
    assert "| no-such-svm | 0 | 0 | 1 | **below minimum** (no servers) |" in (tmp_path / "vscan-health.md").read_text()


def test_request_tracker_shows_every_report_then_fails_naming_the_failed_request(ansible, simulator, tmp_path):
    samples = simulator.appliance("customer_connect")["samples"]
    run = run_role(ansible, simulator, tmp_path, "request_tracker", request_tracker_requests=[
        {"id": samples["completed_request_id"], "name": "done"},
        {"id": samples["failed_request_id"], "name": "broken"}])
    assert run.rc != 0
    lines = run.task("Show each request and its report")["msg"]
    assert lines[0].startswith("done: COMPLETED")
    assert any(line.startswith("broken: FAILED") for line in lines)
    assert samples["failed_request_id"] in run.task("Fail when a request did not complete")["msg"]


def test_no_role_prints_a_secret(ansible, simulator, tmp_path):
    samples = simulator.appliance("customer_connect")["samples"]
    run = run_role(ansible, simulator, tmp_path, "request_tracker",
                   request_tracker_requests=[{"id": samples["completed_request_id"]}])
    assert run.rc == 0, run
    for name, conn in connections(simulator).items():
        for key in ("password", "access_token"):
            if key in conn:
                assert conn[key] not in run.output, "%s %s leaked" % (name, key)
    assert os.path.exists(simulator.config["ca_path"])


# -- site_pairing and ipsec_connection: no secret at any verbosity, every item reported -------------
def vcda_pairs(sim, **b_extra):
    ca = sim.config["ca_path"]
    a, b = sim.appliance("vcda_a"), sim.appliance("vcda_b")

    def side(s):
        return {"host": s["host"], "username": s["username"], "password": s["password"],
                "ca_path": ca, "api_url": s["api_url"], "thumbprint": s["thumbprint"]}
    return [{"name": "a-b", "a": side(a), "b": dict(side(b), **b_extra)}]


@pytest.fixture
def vcda_sites(simulator):
    """Both sites at their start (their first certificates too), before and after the test."""
    for name in ("vcda_a", "vcda_b"):
        simulator.command(name, "restore")
        simulator.command(name, "set_task_seconds", seconds=0.5)
    simulator.config = simulator.call("GET", "/config")
    yield simulator.appliance("vcda_a"), simulator.appliance("vcda_b")
    for name in ("vcda_a", "vcda_b"):
        simulator.command(name, "restore")
    simulator.config = simulator.call("GET", "/config")


def assert_no_vcda_password(sim, run):
    for name in ("vcda_a", "vcda_b"):
        for cred in sim.appliance(name)["credentials"].values():
            assert cred["password"] not in run.output, "%s password leaked" % name


@pytest.mark.parametrize("verbosity", [0, 1, 3])
def test_site_pairing_prints_no_password_at_any_verbosity(ansible, simulator, tmp_path, vcda_sites, verbosity):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_name="site_pairing", role_connections={},
                                    site_pairing_pairs=vcda_pairs(simulator), site_pairing_wait_sleep=1)))
    run = ansible.playbook("role.yml", args=["-e", "@%s" % path], verbosity=verbosity)
    assert run.rc == 0, run
    assert_no_vcda_password(simulator, run)
    assert "a-b: %s -> %s: paired" % (vcda_sites[0]["host"], vcda_sites[1]["host"]) in run.output


def test_site_pairing_reports_every_direction_then_fails_naming_the_failed_one(
        ansible, simulator, tmp_path, vcda_sites):
    a, b = vcda_sites
    stale = "SHA-256:" + ":".join(["AB"] * 32)
    simulator.command("vcda_a", "pair_directly", peer="vcda_b", thumbprint=stale)
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_name="site_pairing", role_connections={},
                                    site_pairing_pairs=vcda_pairs(simulator), site_pairing_wait_sleep=1)))
    run = ansible.playbook("role.yml", args=["-e", "@%s" % path], verbosity=1)
    assert run.rc != 0
    assert_no_vcda_password(simulator, run)
    report = run.task("Report each direction and the thumbprints to pin")["msg"]
    a_to_b = "a-b: %s -> %s" % (a["host"], b["host"])
    b_to_a = "a-b: %s -> %s" % (b["host"], a["host"])
    assert report[0].startswith(a_to_b + ": FAILED - ") and stale in report[0], report
    assert report[1] == b_to_a + ": paired", report
    failed = run.task("Fail when a direction failed")["msg"]
    assert "1 of 2" in failed and a_to_b in failed and b_to_a not in failed


ZSTACK_LOGIN = r"^/zstack/v1/accounts/login$"
ZSTACK_LOGOUT = r"^/zstack/v1/accounts/sessions/"


def test_ipsec_connection_reports_every_item_then_fails_naming_the_failed_one(ansible, simulator, tmp_path):
    good = simulator.command("zstack", "create_connection", state="Disabled", job_seconds=0.5)
    bad = simulator.command("zstack", "create_connection", state="Disabled", job_seconds=0.5, fail=True)
    last = simulator.command("zstack", "create_connection", state="Disabled", job_seconds=0.5)
    mark = simulator.mark()
    run = run_role(ansible, simulator, tmp_path, "ipsec_connection", ipsec_connection_items=[
        {"name": good["name"], "state": "enabled"}, {"uuid": bad["uuid"], "state": "enabled"},
        {"name": "no-such-tunnel", "state": "enabled"}, {"name": last["name"], "state": "enabled"}])
    assert run.rc != 0
    report = run.task("Report each connection")["msg"]
    assert report[0].startswith(good["name"] + ": enabled"), report
    assert report[1].startswith(bad["name"] + ": FAILED - ") and "SYS.1006" in report[1], report
    assert report[2] == "no-such-tunnel: FAILED - ZStack has no IPsec connection named 'no-such-tunnel'", report
    assert report[3].startswith(last["name"] + ": enabled"), report
    failed = run.task("Fail when a connection did not change")["msg"]
    assert "2 of 4" in failed and bad["name"] in failed and "no-such-tunnel" in failed
    assert good["name"] not in failed and last["name"] not in failed
    assert simulator.command("zstack", "connection", uuid=last["uuid"])["state"] == "Enabled"
    # The whole list in one module run: one session, one lookup per kind, one PUT per change.
    logins = simulator.log(since=mark, appliance="zstack", method="PUT", path=ZSTACK_LOGIN)
    logouts = simulator.log(since=mark, appliance="zstack", method="DELETE", path=ZSTACK_LOGOUT)
    assert len(logins) == 1 and len(logouts) == 1
    assert len(simulator.log(since=mark, appliance="zstack", method="GET", path=r"^/zstack/v1/ipsec$")) == 2
    assert len(simulator.log(since=mark, appliance="zstack", method="PUT", path=r"/actions$")) == 3


def test_ipsec_connection_reports_already_set_and_check_mode_lines(ansible, simulator, tmp_path):
    done = simulator.command("zstack", "create_connection", state="Enabled")
    todo = simulator.command("zstack", "create_connection", state="Disabled")
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_name="ipsec_connection", role_connections=connections(simulator),
                                    ipsec_connection_items=[{"uuid": done["uuid"], "state": "enabled"},
                                                            {"name": todo["name"], "state": "enabled"}])))
    mark = simulator.mark()
    run = ansible.playbook("role.yml", args=["-e", "@%s" % path], check=True)
    assert run.rc == 0, run
    assert run.task("Report each connection")["msg"] == [done["name"] + ": already enabled",
                                                         todo["name"] + ": would be enabled"]
    assert simulator.log(since=mark, appliance="zstack", method="PUT", path=r"/actions$") == []


def test_site_pairing_re_pairs_a_rotated_certificate_and_reports_health(ansible, simulator, tmp_path, vcda_sites):
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    simulator.command("vcda_b", "pair_directly", peer="vcda_a")
    simulator.command("vcda_b", "rotate_certificate")
    simulator.config = simulator.call("GET", "/config")
    a, b = simulator.appliance("vcda_a"), simulator.appliance("vcda_b")
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_name="site_pairing", role_connections={}, site_pairing_wait_sleep=1,
                                    site_pairing_pairs=vcda_pairs(simulator), site_pairing_update_thumbprint=True)))
    mark = simulator.mark()
    run = ansible.playbook("role.yml", args=["-e", "@%s" % path], verbosity=1)
    assert run.rc == 0, run
    assert_no_vcda_password(simulator, run)
    assert len(simulator.log(since=mark, appliance="vcda_a", method="PUT", path=r"^/sites/")) == 1
    assert simulator.log(since=mark, appliance="vcda_b", method="PUT", path=r"^/sites/") == []
    health = run.task("Report the health of each pairing")["msg"]
    assert health == ["a-b: %s -> %s: healthy" % (a["host"], b["host"]),
                      "a-b: %s -> %s: healthy" % (b["host"], a["host"])]


def run_site_pairing(ansible, sim, tmp_path, **role_vars):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(dict(role_name="site_pairing", role_connections={}, site_pairing_wait_sleep=1,
                                    site_pairing_pairs=vcda_pairs(sim), **role_vars)))
    return ansible.playbook("role.yml", args=["-e", "@%s" % path], verbosity=1)


def test_site_pairing_fails_after_its_report_when_a_pairing_is_unhealthy(ansible, simulator, tmp_path, vcda_sites):
    a, b = vcda_sites
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    simulator.command("vcda_b", "pair_directly", peer="vcda_a")
    simulator.command("vcda_a", "set_comm_error", peer="vcda_b", direction="incoming", code="SiteUnreachable",
                      msg="Cannot reach the remote site.")
    run = run_site_pairing(ansible, simulator, tmp_path)
    assert run.rc != 0
    assert_no_vcda_password(simulator, run)
    a_to_b, b_to_a = "a-b: %s -> %s" % (a["host"], b["host"]), "a-b: %s -> %s" % (b["host"], a["host"])
    assert run.task("Report each direction and the thumbprints to pin")["msg"] == [
        a_to_b + ": already paired", b_to_a + ": already paired"]
    assert run.task("Report the health of each pairing")["msg"] == [
        a_to_b + ": UNHEALTHY - incoming: SiteUnreachable: Cannot reach the remote site.", b_to_a + ": healthy"]
    failed = run.task("Fail when a pairing is not healthy")["msg"]
    assert "1 of 2" in failed and a_to_b in failed and b_to_a not in failed
    assert "site_pairing_fail_when_unhealthy" in failed


def test_site_pairing_only_reports_an_unhealthy_pairing_when_told_not_to_fail(ansible, simulator, tmp_path, vcda_sites):
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    simulator.command("vcda_b", "pair_directly", peer="vcda_a")
    simulator.command("vcda_a", "set_comm_error", peer="vcda_b", direction="incoming", code="SiteUnreachable",
                      msg="Cannot reach the remote site.")
    run = run_site_pairing(ansible, simulator, tmp_path, site_pairing_fail_when_unhealthy=False)
    assert run.rc == 0, run
    assert any("UNHEALTHY" in line for line in run.task("Report the health of each pairing")["msg"])
