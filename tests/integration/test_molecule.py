"""The roles' molecule scenarios (extensions/molecule/<role>/): converge, idempotence, check, verify.

Run by `make test-molecule` with the tools venv (molecule) inside a simulator the Makefile starts
(SIMULATOR_CONFIG). Each scenario's verify step asserts on the simulator's own state.
"""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "extensions", "molecule")
ROLES = os.path.join(ROOT, "roles")


def scenarios():
    return sorted(d for d in os.listdir(SCENARIOS) if os.path.isfile(os.path.join(SCENARIOS, d, "molecule.yml")))


def test_every_role_has_a_molecule_scenario():
    assert sorted(os.listdir(ROLES)) == scenarios()


@pytest.mark.parametrize("scenario", scenarios())
def test_molecule_scenario(scenario, tmp_path):
    if not os.environ.get("SIMULATOR_CONFIG"):
        pytest.fail("run through `make test-molecule`: it starts the simulator these scenarios use")
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], ANSIBLE_HOME=str(tmp_path),
               NO_COLOR="1", PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(bindir, "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for stage in ("converge", "idempotence", "check", "verify"):
        assert re.search(r"%s (>|\u279c) %s: Executed: Successful" % (scenario, stage), output), stage
