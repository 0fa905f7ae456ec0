"""ipsec_connection_state: lookup, idempotency, check and diff mode, on scripted HTTP."""

import json

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zstack
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError, InputError
from ansible_collections.hybridcloud.ops.plugins.modules import ipsec_connection_state as module_under_test

from ..module_utils.scripted import FakeClock, Step, install

SESSION = "00d038b699b74e76a01705918d48d939"
CONN = "13b5a2cd8c5c30a9a47ba95802cf4e1a"
OTHER = "76424bb25d3a37c9961fff1116bc06da"
JOB = "d825b1a26f4e474b8c59306081920ff2"
SECRET = "PSK-module-test-1b2c3d4e"


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict(host="zstack.example.com", username=None, password=None, session_uuid=SESSION,
                           validate_certs=True, ca_path=None, timeout=30, retries=3, uuid=CONN, name=None,
                           state="enabled", system_tags=None, user_tags=None, wait=True, wait_timeout=300,
                           wait_sleep=10)
        self.params.update(params)
        self._name = "hybridcloud.ops.ipsec_connection_state"
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def inventory(uuid=CONN, name="dc-to-branch-01", state="Disabled", status="Ready"):
    return {"uuid": uuid, "name": name, "state": state, "status": status, "authKey": SECRET}


def run(module, *steps):
    clock = FakeClock()
    client = zstack.make_client(module, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    script = install(client, *steps)
    with zstack.connect(module, client=client):
        result = module_under_test.run(module, client)
    script.assert_done()
    return result, script


def read(uuid=CONN, **fields):
    return Step("GET", "/zstack/v1/ipsec/%s" % uuid, body={"inventories": [inventory(uuid, **fields)]})


def test_name_lookup_keeps_only_exact_matches():
    module = FakeModule(uuid=None, name="dc-to-branch-01", state="disabled")
    result, script = run(module, Step("GET", "/zstack/v1/ipsec?q=name%3Ddc-to-branch-01", body={"inventories": [
        inventory(state="Disabled"), inventory(OTHER, name="DC-TO-BRANCH-01")]}))
    assert result["changed"] is False and result["connection"]["uuid"] == CONN
    assert len(script.sent) == 1


def test_several_connections_with_the_name_fail_listing_their_uuids():
    module = FakeModule(uuid=None, name="shared")
    with pytest.raises(HybridCloudError) as caught:
        run(module, Step("GET", "/zstack/v1/ipsec?q=name%3Dshared", body={"inventories": [
            inventory(name="shared"), inventory(OTHER, name="shared")]}))
    assert caught.value.msg == ("2 ZStack IPsec connections are named 'shared' (uuids: %s, %s); set uuid to "
                                "choose one" % (CONN, OTHER))
    assert caught.value.context["uuids"] == [CONN, OTHER]


def test_the_state_is_compared_without_regard_to_case():
    result = run(FakeModule(state="disabled"), read(state="DISABLED"))[0]
    assert result["changed"] is False and result["job_uuid"] is None


def test_check_mode_predicts_the_state_and_shows_the_diff_without_a_put():
    module = FakeModule(check_mode=True, diff=True)
    result, script = run(module, read())
    assert [sent[0] for sent in script.sent] == ["GET"]
    assert result["changed"] is True and result["connection"]["state"] == "Enabled"
    assert result["connection"]["authKey"] == "********"
    assert result["diff"]["before"] == {"state": "Disabled"} and result["diff"]["after"] == {"state": "Enabled"}
    assert result["diff"]["before_header"] == "IPsec connection 'dc-to-branch-01' (%s)" % CONN
    assert SECRET in module.no_log_values


def test_an_unchanged_diff_has_the_same_state_before_and_after():
    result = run(FakeModule(diff=True), read(state="Enabled"))[0]
    assert result["diff"]["before"] == result["diff"]["after"] == {"state": "Enabled"}


def test_the_change_carries_state_event_and_tags(monkeypatch):
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: JOB)
    module = FakeModule(state="disabled", system_tags=["ipsec::note::x"], user_tags=["change:CHG-1"])
    result, script = run(module, read(state="Enabled"),
                         Step("PUT", "/zstack/v1/ipsec/%s/actions" % CONN, 202,
                              body={"location": "http://10.0.0.5:8080/zstack/v1/api-jobs/%s" % JOB}),
                         Step("GET", "/zstack/v1/api-jobs/%s" % JOB, 200,
                              body={"inventory": inventory(state="Disabled")}))
    assert json.loads(script.sent[1][3].body) == {"changeIPSecConnectionState": {"stateEvent": "disable"},
                                                  "systemTags": ["ipsec::note::x"], "userTags": ["change:CHG-1"]}
    assert result["job_uuid"] == JOB and result["connection"]["state"] == "Disabled" and result["polls"] == 1


def test_a_connection_that_is_not_ready_is_refused_before_the_put():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), read(status="Connecting"))
    assert "its status is Connecting" in caught.value.msg and "Nothing was sent" in caught.value.msg
    assert caught.value.context["connection"]["authKey"] == "********"


@pytest.mark.parametrize("params, fragment", [
    ({"uuid": "76424bb2-5d3a-37c9-961f-ff1116bc06da"}, "uuid: must be a ZStack UUID"),
    ({"uuid": None, "name": "a>=b"}, "name: ZStack's query syntax cannot match"),
    ({"system_tags": ["ok", " "]}, "system_tags: must be a list of non-empty ZStack tags"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
])
def test_validate_names_the_option(params, fragment):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(FakeModule(**params).params)
    assert fragment in caught.value.msg
