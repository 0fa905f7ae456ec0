"""The vscan_health role's wait: each SVM against its own minimum, and a timeout that reports and fails.

(Its happy path - converge, idempotence, check mode, verify - is the molecule scenario in
extensions/molecule/vscan_health.)
"""

import json
import time

import pytest

from .test_roles import run_role

COLLECTION = "/api/protocols/vscan/server-status"


@pytest.fixture
def ontap(simulator):
    """The ONTAP appliance, back to its starting data set after the test."""
    yield simulator.appliance("ontap")
    simulator.command("ontap", "restore")


def test_the_wait_ends_when_every_svm_meets_its_own_minimum(ansible, simulator, ontap, tmp_path):
    """A degraded SVM that meets its minimum does not hold the wait for the other one."""
    healthy, degraded = ontap["samples"]["healthy_svm"], ontap["samples"]["degraded_svm"]
    simulator.command("ontap", "disconnect", svm=healthy, count=4, reason="remote_closed",
                      start="next_read", reconnect_after=2)
    started = time.monotonic()
    run = run_role(ansible, simulator, tmp_path, "vscan_health", vscan_health_report_dir=str(tmp_path / "r"),
                   vscan_health_wait_timeout=20, vscan_health_wait_sleep=1,
                   vscan_health_svms=[{"name": healthy, "min_connected": 25}, {"name": degraded, "min_connected": 10}])
    took = time.monotonic() - started
    assert run.rc == 0, run
    read = run.task("Read the vscan servers of the SVMs")
    assert read["polls"] >= 2 and 1.9 <= read["elapsed"] <= 10, read
    assert took < 18  # not the whole wait_timeout of 20 s
    report = json.loads((tmp_path / "r" / "vscan-health.json").read_text())
    rows = {row["svm"]: row for row in report["svms"]}
    assert rows[healthy]["connected"] == 25 and rows[degraded]["disconnected"] > 0
    assert report["healthy"] is True and report["wait"]["timed_out"] is False


def test_a_timed_out_wait_writes_the_report_and_fails_naming_the_svms_below_minimum(
        ansible, simulator, ontap, tmp_path):
    healthy, degraded = ontap["samples"]["healthy_svm"], ontap["samples"]["degraded_svm"]
    simulator.command("ontap", "disconnect", svm=healthy, count=3, reason="inactive_connection")
    run = run_role(ansible, simulator, tmp_path, "vscan_health", vscan_health_report_dir=str(tmp_path),
                   vscan_health_wait_timeout=3, vscan_health_wait_sleep=1,
                   vscan_health_svms=[{"name": healthy, "min_connected": 25}, {"name": degraded, "min_connected": 1}])
    assert run.rc != 0
    message = run.task("Fail when an SVM is below its minimum")["msg"]
    assert "timed out after 3 s" in message and "1 SVM(s) below their minimum" in message, message
    assert message.split("servers: ", 1)[1].startswith(healthy + " (22 of 25)"), message
    report = json.loads((tmp_path / "vscan-health.json").read_text())
    assert report["healthy"] is False and report["wait"]["timed_out"] is True
    assert [r["svm"] for r in report["svms"] if not r["healthy"]] == [healthy]
    assert "timed out after 3 s" in (tmp_path / "vscan-health.md").read_text()


def test_an_svm_pattern_is_waited_for_svm_by_svm(ansible, simulator, ontap, tmp_path):
    """svm00* holds ten SVMs: the one that reconnects is waited for, with the pattern's minimum."""
    simulator.command("ontap", "disconnect", svm="svm003", count=25, reason="remote_closed",
                      start="next_read", reconnect_after=2)
    run = run_role(ansible, simulator, tmp_path, "vscan_health", vscan_health_report_dir=str(tmp_path),
                   vscan_health_wait_timeout=20, vscan_health_wait_sleep=1,
                   vscan_health_svms=[{"name": "svm00*", "min_connected": 15}])
    assert run.rc == 0, run
    read = run.task("Read the vscan servers of the SVMs")
    assert 1.9 <= read["elapsed"] <= 10 and read["history"][0]["state"].startswith("below=1 "), read
    report = json.loads((tmp_path / "vscan-health.json").read_text())
    assert [r["svm"] for r in report["svms"]] == ["svm%03d" % v for v in range(10)]
    assert all(r["healthy"] for r in report["svms"])
