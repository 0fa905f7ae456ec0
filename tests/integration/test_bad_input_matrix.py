"""Bad input to every module: refused with a message naming the option, and no request sent.

Two parts:

- generated: every option of every module (test_secrets.MODULES, which must list every module),
  given a value of the wrong kind. The options come from the modules' own documentation
  (``ansible-doc --json``), so an option added later is covered without touching this file;
- hand-written: values of the right type but a wrong form or a combination that cannot work,
  for the options of issues 13 and 14 (Policy paths, many connections, conditions, re-pairing)
  that the modules' own test files do not already cover (those keep theirs: bad UUIDs, malformed
  URLs and thumbprints, ranges, path together with id, ...).
"""

import json
import os
import subprocess

import pytest

from .harness import BIN, assert_refused_before_any_request
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


# -- hand-written cases -------------------------------------------------------------------------
SESSION = "/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s1"


def nsx_base(sim):
    app = sim.appliance("nsxt")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"], "session_path": app["samples"]["policy_session_path"]}


def zstack_base(sim):
    app = sim.appliance("zstack")
    return {"host": app["host"], "username": app["username"], "password": app["password"]}


def vcda_base(sim):
    app = sim.appliance("vcda_a")
    return {"host": app["host"], "username": app["username"], "password": app["password"],
            "ca_path": sim.config["ca_path"]}


def bases(sim):
    zs = sim.appliance("zstack")["samples"]
    return {
        "vpn_session_state": dict(nsx_base(sim), enabled=False),
        "vpn_session_realization_info": nsx_base(sim),
        "ipsec_connection_state": dict(zstack_base(sim), uuid=zs["disabled_uuid"], state="enabled"),
        "ipsec_connection_info": zstack_base(sim),
        "replication_site_info": vcda_base(sim),
    }


APPLIANCES = {"vpn_session_state": ["nsxt"], "vpn_session_realization_info": ["nsxt"],
              "ipsec_connection_state": ["zstack"], "ipsec_connection_info": ["zstack"],
              "replication_site_info": ["vcda_a", "vcda_b"]}

HAND_WRITTEN = [
    # vpn_session_state: a Policy path is checked before any request
    ("vpn_session_state", {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/../s2"},
     "session_path: must be a Policy path without '.', '..'"),
    ("vpn_session_state", {"session_path": "/policy/api/v1/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/.."},
     "session_path: must be a Policy path without '.', '..'"),
    ("vpn_session_state", {"session_path": SESSION + "?action=show_sensitive_data"},
     "session_path: must be a Policy path without a query"),
    ("vpn_session_state", {"session_path": "/infra/segments/web"},
     "session_path: must be the Policy path of an IPsec VPN session"),
    ("vpn_session_state", {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions"},
     "session_path: must be the Policy path of an IPsec VPN session"),
    ("vpn_session_state", {"session_path": None}, "one of the following is required: session_path, session_id"),
    ("vpn_session_state", {"wait_for": "tunnel_up", "enabled": "no"}, "wait_for: tunnel_up with enabled: false"),
    # vpn_session_realization_info: in_effect is a Manager API state, also with several paths
    ("vpn_session_realization_info", {"session_path": None, "session_paths": [SESSION], "wait_for": "in_effect"},
     "wait_for: in_effect is a state of the Manager API"),
    # ipsec_connection_state: max_concurrent is checked with a single connection too
    ("ipsec_connection_state", {"max_concurrent": 0}, "max_concurrent: must be 1 or more, got 0"),
    ("ipsec_connection_state", {"uuid": None, "state": None, "max_concurrent": -3,
                                "connections": [{"name": "dc-to-branch-01", "state": "enabled"}]},
     "max_concurrent: must be 1 or more, got -3"),
    ("ipsec_connection_state", {"uuid": None, "state": None,
                                "connections": [{"name": "a", "state": "enabled"}, {"name": "", "state": "enabled"}]},
     "connections[1]: needs exactly one of uuid and name"),
    # ipsec_connection_info: each condition is checked, and named by its index
    ("ipsec_connection_info", {"conditions": ["state=Enabled", "peerAddress"]},
     "conditions[1]: 'peerAddress' has no query operator"),
    ("ipsec_connection_info", {"conditions": ["   "]}, "conditions[0]: must be a ZStack query condition"),
    ("ipsec_connection_info", {"conditions": ["peer Address=1"]}, "conditions[0]: 'peer Address=1' must start with"),
    ("ipsec_connection_info", {"name": " "}, "name: must not be empty"),
    ("ipsec_connection_info", {"status": "Ready,Connected?=x"}, "status: ZStack's query syntax cannot match"),
    # replication_site_info: the peer URL is checked as replication_site_pair checks it
    ("replication_site_info", {"peer_api_url": "vcda-b.example.com"}, "peer_api_url: must be an https:// URL"),
    ("replication_site_info", {"peer_api_url": "http://vcda-b.example.com"}, "vCDA serves its API over https only"),
    ("replication_site_info", {"peer_api_url": "https://vcda-b.example.com:99999"}, "peer_api_url: port must be"),
]


@pytest.mark.parametrize("module, override, fragment", HAND_WRITTEN,
                         ids=["%s-%d" % (case[0], i) for i, case in enumerate(HAND_WRITTEN)])
def test_a_value_of_the_wrong_form_is_refused_before_any_request(ansible, simulator, module, override, fragment):
    assert_refused_before_any_request(ansible, simulator, module, bases(simulator)[module], override, fragment,
                                      APPLIANCES[module])
