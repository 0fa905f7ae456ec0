"""`make demo` as a new user meets it: playbooks/demo.yml against the simulator, and its summary."""

import os

from .harness import ROOT, Simulator


def test_demo_runs_every_platform_and_its_summary_has_a_line_for_each(ansible, tmp_path):
    # demo.yml swaps ZStack samples and pairs vCDA sites: it gets a simulator of its own.
    sim = Simulator(str(tmp_path))
    try:
        run = ansible.playbook(os.path.join(ROOT, "playbooks", "demo.yml"),
                               extra_vars={"demo_report_dir": str(tmp_path / "reports")},
                               env={"SIMULATOR_CONFIG": sim.config_path})
    finally:
        sim.stop()
    assert run.rc == 0, run
    lines = run.task("Summary")["msg"]
    starts = ["NSX session ", "NSX session ", "NSX Policy session ", "ZStack: ", "vCDA: ", "ONTAP: ", "Customer Connect: "]
    assert [line.split(" ", 2)[0] for line in lines] == [s.split(" ", 2)[0] for s in starts], lines
    for line, start in zip(lines, starts):
        assert line.startswith(start), (start, lines)
    zstack = [line for line in lines if line.startswith("ZStack: ")][0]
    assert "now Disabled" in zstack and "now Enabled" in zstack and "jobs followed: 2" in zstack, zstack
    policy = [line for line in lines if line.startswith("NSX Policy session ")][0]
    assert "disabled and REALIZED" in policy and "tunnel UP" in policy, policy
    assert os.path.isfile(str(tmp_path / "reports" / "vscan-health.json"))
