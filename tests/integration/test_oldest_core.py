"""Every module on the oldest ansible-core the collection claims (meta/runtime.yml).

`make test` builds that core's venv (requirements/oldest-core.txt) and exports its bin directory
as HYBRIDCLOUD_OLDEST_CORE_BIN; each module then runs its normal path from test_secrets.MODULES
(the list every module must be in) with that core's `ansible` and Python, against the simulator.
"""

import json
import os
import subprocess

import pytest
import yaml

from .harness import ROOT, Ansible
from .test_secrets import MODULES

OLDEST_BIN = os.environ.get("HYBRIDCLOUD_OLDEST_CORE_BIN", "")


class OldestAnsible(Ansible):
    """The same runs as Ansible, with the oldest core's executables and Python."""

    def module(self, name, args, env=None, verbosity=0, check=False, timeout=300):
        return super().module(name, args, dict(env or {}, ANSIBLE_PYTHON_INTERPRETER=os.path.join(OLDEST_BIN, "python")),
                              verbosity, check, timeout)

    def _run(self, cmd, env, timeout):
        cmd = [os.path.join(OLDEST_BIN, os.path.basename(cmd[0]))] + cmd[1:]
        return super()._run(cmd, env, timeout)


@pytest.fixture(scope="module")
def oldest(collections_path, tmp_path_factory):
    if not OLDEST_BIN:
        if os.environ.get("CI"):
            pytest.fail("HYBRIDCLOUD_OLDEST_CORE_BIN is not set: run the tests through `make test`")
        pytest.skip("HYBRIDCLOUD_OLDEST_CORE_BIN is not set (make test-integration sets it)")
    return OldestAnsible(collections_path, str(tmp_path_factory.mktemp("oldest")))


def test_the_oldest_core_is_the_one_meta_runtime_claims(oldest):
    version = subprocess.run([os.path.join(OLDEST_BIN, "ansible"), "--version"], capture_output=True, text=True,
                             check=True, env=oldest.env()).stdout.split("\n", 1)[0]
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        claimed = yaml.safe_load(handle)["requires_ansible"]
    assert "[core %s." % claimed.lstrip(">=").rsplit(".", 1)[0] in version, (version, claimed)


@pytest.mark.parametrize("module, make_args", MODULES, ids=[m[0] for m in MODULES])
def test_every_module_runs_on_the_oldest_claimed_core(oldest, simulator, module, make_args):
    run = oldest.module(module, make_args(simulator, False))
    assert run.rc == 0, run
    assert "Traceback" not in run.output
    assert run.last.get("failed") is not True, json.dumps(run.last)[:2000]
    if module == "replication_site_pair":
        simulator.command("vcda_a", "restore")
