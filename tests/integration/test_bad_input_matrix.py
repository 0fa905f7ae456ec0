"""Every option of every module, given a value of the wrong kind: a message naming the option, no request.

The options come from the modules' own documentation (``ansible-doc --json``), so an option added
later is covered without touching this file. Hand-written cases of values of the right type but
the wrong form (bad UUIDs, malformed URLs and thumbprints, ranges) live in each module's tests.
"""

import json
import os
import subprocess

import pytest

from .harness import BIN
from .test_secrets import MODULES

# A value of the wrong kind for each option type (ansible converts a lot; these it cannot).
WRONG = {"int": "eleven", "bool": "perhaps", "dict": "not a mapping", "list": {"not": "a list"},
         "float": "fast"}
NO_SUCH_FILE = "/nonexistent/hybridcloud-ops/file.pem"


def documented_options(ansible, module):
    env = ansible.env()
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module", "hybridcloud.ops." + module],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["hybridcloud.ops." + module]["doc"]["options"]


def cases():
    for module, make_args in MODULES:
        yield pytest.param(module, make_args, id=module)


@pytest.mark.parametrize("module, make_args", list(cases()))
def test_every_option_refuses_a_value_of_the_wrong_kind(ansible, simulator, module, make_args):
    options = documented_options(ansible, module)
    base = make_args(simulator, False)
    checked = []
    for name, spec in sorted(options.items()):
        if spec.get("choices"):
            wrong = "no-such-choice"
        elif spec.get("type") == "path":
            wrong = NO_SUCH_FILE
        elif spec.get("type") in WRONG:
            wrong = WRONG[spec["type"]]
        else:
            continue  # free text: its form is checked by the module's own tests
        mark = simulator.mark()
        run = ansible.module(module, dict(base, **{name: wrong}))
        assert run.rc != 0, "%s accepted %s=%r" % (module, name, wrong)
        msg = run.last.get("msg", "")
        assert name in msg, "%s %s=%r: message does not name the option: %s" % (module, name, wrong, msg)
        assert "Traceback" not in run.output
        sent = [e for e in simulator.log(since=mark) if not e["path"].startswith("/config/")]
        assert sent == [], "%s %s=%r sent %s" % (module, name, wrong, [(e["method"], e["path"]) for e in sent])
        checked.append(name)
    assert len(checked) >= 5, checked  # each module has at least this many typed options
