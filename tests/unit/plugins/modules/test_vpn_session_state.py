"""vpn_session_state: Policy PATCH tied to its realization, Manager PUT with _revision and 412,
idempotency, check mode, diff and psk masking, on scripted HTTP."""

import functools

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError, InputError
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import wait_all
from ansible_collections.hybridcloud.ops.plugins.modules import vpn_session_state as module_under_test

from ..module_utils.scripted import FakeClock, Step, install

PATH = "/infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office"
URL = "/policy/api/v1" + PATH
ENTITIES = ("/policy/api/v1/infra/realized-state/realized-entities?intent_path=%2Finfra%2Ftier-1s%2Ft1-branch"
            "%2Fipsec-vpn-services%2Fbranch-vpn%2Fsessions%2Fbranch-office")
SID = "8dd1c386-9b2c-4448-85b8-51ff649fae4f"
MANAGER = "/api/v1/vpn/ipsec/sessions/" + SID
PSK = "Psk-unit-test-5e6f7a8b"


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict(host="nsx.example.com", username="admin", password="secret-password",
                           validate_certs=True, ca_path=None, client_cert=None, client_key=None, timeout=30,
                           retries=3, session_path=PATH, session_id=None, enabled=False, wait=True,
                           wait_for="realized", wait_timeout=300, wait_sleep=10)
        self.params.update(params)
        self._name = "hybridcloud.ops.vpn_session_state"
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(nsxt, "wait_all", functools.partial(wait_all, clock=clock, sleep=clock.sleep,
                                                            rng=lambda: 0.5))
    return clock


def run(module, *steps):
    client = nsxt.make_client(module, clock=FakeClock(), sleep=lambda s: None, rng=lambda: 0.5)
    script = install(client, *steps)
    with client:
        result = module_under_test.run(module, client)
    script.assert_done()
    return result, script


def policy(enabled=True, modified=1000, revision=3):
    return {"id": "branch-office", "path": PATH, "enabled": enabled, "psk": PSK,
            "_last_modified_time": modified, "_revision": revision, "resource_type": "PolicyBasedIPSecVpnSession"}


def entities(state, modified):
    return {"results": [{"state": state, "_last_modified_time": modified, "entity_type": "RealizedIPSecVpnSession"}]}


def test_policy_change_patches_only_enabled_and_skips_the_stale_realized():
    module = FakeModule()
    result, script = run(module,
                         Step("GET", URL, body=policy()),
                         Step("PATCH", URL, body=None),
                         Step("GET", URL, body=policy(enabled=False, modified=2000, revision=4)),
                         Step("GET", ENTITIES, body=entities("REALIZED", 1000)),   # left from before
                         Step("GET", ENTITIES, body=entities("UNREALIZED", 2000)),
                         Step("GET", ENTITIES, body=entities("REALIZED", 2500)))
    patch = script.sent[1][3]
    assert patch.body == b'{"enabled": false}'
    assert result["changed"] is True and result["writes"] == 1 and result["changed_since"] == 2000
    assert [h["state"] for h in result["history"]] == ["STALE", "UNREALIZED", "REALIZED"]
    assert result["session"]["psk"] == "********" and result["session"]["enabled"] is False
    assert PSK in module.no_log_values


def test_policy_no_write_when_enabled_already_matches():
    result, script = run(FakeModule(enabled=True),
                         Step("GET", URL, body=policy(enabled=True)),
                         Step("GET", ENTITIES, body=entities("REALIZED", 1000)))
    assert result["changed"] is False and result["writes"] == 0
    assert all(method == "GET" for method, _url, _kw, _req in script.sent)


def test_check_mode_reads_only_and_diff_shows_enabled():
    result, script = run(FakeModule(check_mode=True, diff=True), Step("GET", URL, body=policy()))
    assert result["changed"] is True and result["session"]["enabled"] is False
    assert result["diff"] == {"before": {"enabled": True}, "after": {"enabled": False}}
    assert result["session"]["psk"] == "********" and len(script.sent) == 1


def test_policy_error_after_the_change_fails_with_the_alarms_and_the_session():
    failing = {"results": [{"state": "ERROR", "_last_modified_time": 2100,
                            "alarms": [{"message": "IKE negotiation failed"}], "entity_type": "RealizedIPSecVpnSession"}]}
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, body=policy()), Step("PATCH", URL),
            Step("GET", URL, body=policy(enabled=False, modified=2000)), Step("GET", ENTITIES, body=failing))
    kwargs = caught.value.to_fail_kwargs()
    assert "IKE negotiation failed" in kwargs["msg"] and kwargs["changed"] is True
    assert kwargs["session"]["psk"] == "********"


def manager(enabled=True, revision=7):
    return {"id": SID, "enabled": enabled, "_revision": revision, "resource_type": "PolicyBasedIPSecVPNSession"}


STATE = "/api/v1/vpn/ipsec/sessions/%s/state" % SID


def test_manager_put_carries_the_revision_and_follows_the_request_id():
    module = FakeModule(session_path=None, session_id=SID)
    result, script = run(module,
                         Step("GET", MANAGER, body=manager()),
                         Step("PUT", MANAGER, body=manager(False, 8), headers={"x-nsx-requestid": "req-1"}),
                         Step("GET", STATE + "?request_id=req-1", body={"state": "in_progress"}),
                         Step("GET", STATE + "?request_id=req-1", body={"state": "in_sync"}))
    assert b'"_revision": 7' in script.sent[1][3].body and b'"enabled": false' in script.sent[1][3].body
    assert result["request_id"] == "req-1" and result["in_sync"] is True and result["writes"] == 1


def test_manager_412_rereads_once_and_puts_again_when_still_needed():
    module = FakeModule(session_path=None, session_id=SID, wait=False)
    stale = {"httpStatus": "PRECONDITION_FAILED", "error_code": 244, "error_message": "modified by somebody else"}
    result, script = run(module,
                         Step("GET", MANAGER, body=manager()),
                         Step("PUT", MANAGER, status=412, body=stale),
                         Step("GET", MANAGER, body=manager(True, 8)),
                         Step("PUT", MANAGER, body=manager(False, 9), headers={"x-nsx-requestid": "req-2"}))
    assert b'"_revision": 8' in script.sent[3][3].body
    assert result["writes"] == 2 and result["request_id"] == "req-2"


def test_manager_412_and_the_change_already_made_sends_no_second_put():
    module = FakeModule(session_path=None, session_id=SID, wait=False)
    stale = {"error_code": 244, "error_message": "modified by somebody else"}
    result, _script = run(module,
                          Step("GET", MANAGER, body=manager()),
                          Step("PUT", MANAGER, status=412, body=stale),
                          Step("GET", MANAGER, body=manager(False, 8)))
    assert result["writes"] == 1 and "request_id" not in result


def test_manager_second_412_fails_naming_the_vendor_error():
    module = FakeModule(session_path=None, session_id=SID, wait=False)
    stale = {"error_code": 244, "error_message": "modified by somebody else"}
    with pytest.raises(HybridCloudError) as caught:
        run(module, Step("GET", MANAGER, body=manager()), Step("PUT", MANAGER, status=412, body=stale),
            Step("GET", MANAGER, body=manager(True, 8)), Step("PUT", MANAGER, status=412, body=stale))
    assert "HTTP 412" in caught.value.msg and "NSX error 244" in caught.value.msg


def test_patch_is_not_resent_after_a_502_that_had_no_effect():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, body=policy()), Step("PATCH", URL, status=502, text="bad gateway"),
            Step("GET", URL, body=policy()))
    assert "PATCH" in caught.value.msg and "HTTP 502" in caught.value.msg


@pytest.mark.parametrize("params, fragment", [
    (dict(wait_for="tunnel_up", enabled=False), "wait_for: tunnel_up with enabled: false"),
    (dict(session_path="/infra/tier-1s/a/../b"), "session_path: must be a Policy path without"),
    (dict(session_path=None, session_id="a b"), "session_id: must be an NSX object ID"),
    (dict(wait_timeout=0), "wait_timeout: must be from 1 to 86400"),
])
def test_bad_input_is_refused_naming_the_option(params, fragment):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(FakeModule(**params).params)
    assert fragment in caught.value.msg


def test_a_lost_patch_answer_is_followed_by_a_re_read_not_a_second_patch():
    result, script = run(FakeModule(wait=False), Step("GET", URL, body=policy()),
                         Step("PATCH", URL, status=502, text="<html>bad gateway</html>"),
                         Step("GET", URL, body=policy(enabled=False, modified=2000)))
    assert result["changed"] is True and result["writes"] == 1
    assert [m for m, _u, _k, _r in script.sent].count("PATCH") == 1
