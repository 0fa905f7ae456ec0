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
    ("vpn_realization_check", {"vpn_realization_check_sessions": [{"request_id": "r1"}]},
     "missing required arguments: id found in vpn_realization_check_sessions"),
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
    assert report[0].startswith("office: in_sync after") and report[1].startswith("branch: FAILED - ")
    assert "1 of 2 NSX IPsec VPN sessions failed" in run.task("Fail when a session did not get there")["msg"]


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
