"""The playbooks of playbooks/ run through ansible-navigator, Automation Platform's own CLI.

``ansible-navigator run --ee false --mode stdout`` (no container: the collection as an execution
environment would hold it, in ANSIBLE_COLLECTIONS_PATH) against the simulator, the connection in
the environment as an AWX credential injects it (see test_awx.inject), the objects to work on in a
vars file. Each run's playbook artifact (--playbook-artifact-enable) is checked: written where
--playbook-artifact-save-as says, status successful, every play of the playbook recorded, no task
failed, and no secret in it. ansible-navigator comes from the tools venv ($HYBRIDCLOUD_TOOLS_BIN).
"""

import json
import os
import shutil
import subprocess

import pytest
import yaml

from .harness import PLATFORM_ENV_PREFIXES, ROOT
from .test_awx import CREDENTIAL_TYPES, inject, load, tool

PLAYBOOKS = os.path.join(ROOT, "playbooks")


def credential_env(simulator, platform, private_data_dir):
    """What a credential of the platform's AWX type injects for the simulated appliance."""
    app = simulator.appliance(platform)
    with open(simulator.config["ca_path"]) as handle:
        ca_pem = handle.read()
    inputs = {"host": app["host"]}
    for key in ("username", "password", "access_token"):
        if key in app:
            inputs[key] = app[key]
    if platform != "zstack":  # the simulated ZStack answers plain HTTP, as ZStack does by default
        inputs["ca_cert"] = ca_pem
    return inject(load(CREDENTIAL_TYPES[platform]), inputs, private_data_dir)


def secrets(simulator):
    found = []
    for app in simulator.config["appliances"].values():
        found += [app[k] for k in ("password", "access_token") if app.get(k)]
        found += [c["password"] for c in (app.get("credentials") or {}).values()]
    return found


# playbook -> (AWX credential types, vars, check mode). Check mode where a run would change the
# simulator's shared sample objects (other tests of the session use them).
def jobs(simulator, tmp_path):
    nsx, zs = simulator.appliance("nsxt"), simulator.appliance("zstack")
    cc, ontap = simulator.appliance("customer_connect"), simulator.appliance("ontap")
    a, b = simulator.appliance("vcda_a"), simulator.appliance("vcda_b")
    ca = simulator.config["ca_path"]
    return {
        "demo.yml": (["nsxt"], {"demo_nsx_session_id": nsx["samples"]["session_id"],
                                "demo_nsx_error_session_id": nsx["samples"]["error_session_id"],
                                "demo_report_dir": str(tmp_path / "demo-reports")}, False),
        "vpn_realization_check.yml": (["nsxt"], {"vpn_realization_check_sessions": [
            {"id": nsx["samples"]["session_id"], "name": "office"}], "vpn_realization_check_wait_sleep": 1}, False),
        "request_tracker.yml": (["customer_connect"], {"request_tracker_requests": [
            {"id": cc["samples"]["completed_request_id"], "name": "invitation"}], "request_tracker_wait_sleep": 1}, False),
        "vscan_health.yml": (["ontap"], {"vscan_health_report_dir": str(tmp_path / "vscan"),
                                         "vscan_health_svms": [{"name": ontap["samples"]["healthy_svm"]}]}, False),
        "ipsec_connection.yml": (["zstack"], {"ipsec_connection_items": [
            {"name": zs["samples"]["enabled_name"], "state": "enabled"}], "ipsec_connection_wait_sleep": 1}, True),
        # Two appliances with a password each: both in the vars file (Vault or AWX in real life).
        "site_pairing.yml": ([], {"site_pairing_wait_sleep": 1, "site_pairing_pairs": [{
            "name": "a-b",
            "a": {"host": a["host"], "username": a["username"], "password": a["password"], "ca_path": ca, "api_url": a["api_url"]},
            "b": {"host": b["host"], "username": b["username"], "password": b["password"], "ca_path": ca, "api_url": b["api_url"]},
        }]}, True),
    }


JOBS = ["demo.yml", "ipsec_connection.yml", "request_tracker.yml", "site_pairing.yml", "vpn_realization_check.yml",
        "vscan_health.yml"]


def test_every_playbook_has_a_navigator_job():
    assert sorted(f for f in os.listdir(PLAYBOOKS) if f.endswith(".yml")) == JOBS


@pytest.mark.parametrize("playbook", JOBS)
def test_playbook_runs_through_ansible_navigator_with_its_artifact_recorded(playbook, simulator, collections_path, tmp_path):
    navigator = tool("ansible-navigator")
    platforms, extra_vars, check = jobs(simulator, tmp_path)[playbook]
    project = tmp_path / "project"
    shutil.copytree(PLAYBOOKS, str(project), ignore=shutil.ignore_patterns("vars"))
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(extra_vars))
    (tmp_path / "inventory").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % os.path.join(os.path.dirname(navigator), "python"))
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(PLATFORM_ENV_PREFIXES) and not k.startswith("ANSIBLE_")
               and k not in ("SIMULATOR_CONFIG",))
    for platform in platforms:
        env.update(credential_env(simulator, platform, str(tmp_path)))
    env.update(PATH=os.path.dirname(navigator) + os.pathsep + env["PATH"], HOME=str(tmp_path / "home"),
               ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    artifact = tmp_path / "artifacts" / ("%s-artifact.json" % playbook[:-4])
    cmd = [navigator, "run", str(project / playbook), "--ee", "false", "--mode", "stdout",
           "--playbook-artifact-enable", "true", "--playbook-artifact-save-as", str(artifact),
           "--log-file", str(tmp_path / "navigator.log"), "-i", str(tmp_path / "inventory"), "-e", "@%s" % vars_file]
    if check:
        cmd.append("--check")

    job = subprocess.run(cmd, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)

    output = job.stdout + job.stderr
    assert job.returncode == 0, output[-6000:]
    assert "PLAY RECAP" in job.stdout and "failed=0" in job.stdout, output[-4000:]
    assert artifact.is_file(), "no playbook artifact at %s:\n%s" % (artifact, output[-3000:])
    record = json.loads(artifact.read_text())
    assert record["status"] == "successful"
    played = [p["name"] for p in record["plays"]]
    assert played == [p["name"] for p in load(os.path.join(PLAYBOOKS, playbook))], played
    tasks = [t for p in record["plays"] for t in p["tasks"]]
    assert tasks, record["plays"]
    failed = [t["task"] for t in tasks if t.get("__result") not in ("Ok", "Changed", "Skipped")
              or (t.get("res") or {}).get("failed")]
    assert not failed, failed
    assert any(t.get("task_action", "").startswith("hybridcloud.ops.") for t in tasks), [t.get("task_action") for t in tasks]
    assert any("PLAY RECAP" in line for line in record["stdout"])
    text = artifact.read_text()
    for secret in secrets(simulator):
        assert secret not in text, "a secret is in the playbook artifact"
        assert secret not in output, "a secret is in ansible-navigator's output"
