"""vpn_session_realization_info: Policy paths, changed_since, tunnel waits and Manager ids, on scripted HTTP."""

import functools

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError, InputError
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import wait_all
from ansible_collections.hybridcloud.ops.plugins.modules import vpn_session_realization_info as module_under_test

from ..module_utils.scripted import FakeClock, Step, install

PATH = "/infra/tier-0s/t0/ipsec-vpn-services/vpn/sessions/s1"
URL = "/policy/api/v1" + PATH
ENTITIES = "/policy/api/v1/infra/realized-state/realized-entities?intent_path=%2Finfra%2Ftier-0s%2Ft0%2Fipsec-vpn-services%2Fvpn%2Fsessions%2Fs1"
STATUS = URL + "/detailed-status?source=realtime"


class FakeModule:
    def __init__(self, **params):
        self.params = dict(host="nsx.example.com", username="admin", password="secret-password",
                           validate_certs=True, ca_path=None, client_cert=None, client_key=None, timeout=30,
                           retries=3, session_id=None, session_ids=None, sessions=None, session_path=PATH,
                           session_paths=None, changed_since=None, request_id=None, wait_for="realized",
                           wait=True, wait_timeout=300, wait_sleep=10)
        self.params.update(params)
        self._name = "hybridcloud.ops.vpn_session_realization_info"
        self.check_mode = False
        self.no_log_values = set()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
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
    return result


def realized(state, modified=5000):
    return {"results": [{"state": state, "_last_modified_time": modified}, {"state": state, "_last_modified_time": modified}]}


def test_waits_until_every_entity_is_realized():
    result = run(FakeModule(), Step("GET", ENTITIES, body={"results": []}), Step("GET", URL, body={"id": "s1"}),
                 Step("GET", ENTITIES, body=realized("UNREALIZED")), Step("GET", ENTITIES, body=realized("REALIZED")))
    assert [h["state"] for h in result["history"]] == ["NO_ENTITY", "UNREALIZED", "REALIZED"]
    assert result["in_sync"] is True and result["session_path"] == PATH and result["polls"] == 3


def test_changed_since_skips_what_was_realized_before():
    result = run(FakeModule(changed_since=6000), Step("GET", ENTITIES, body=realized("REALIZED", 5000)),
                 Step("GET", ENTITIES, body=realized("REALIZED", 6400)))
    assert [h["state"] for h in result["history"]] == ["STALE", "REALIZED"]


def test_no_entity_and_no_session_is_a_clear_not_found():
    gone = {"httpStatus": "NOT_FOUND", "error_code": 500090, "error_message": "The path=[x] is invalid"}
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", ENTITIES, body={"results": []}), Step("GET", URL, status=404, body=gone))
    assert "not found" in caught.value.msg and "wait_for: deleted" in caught.value.msg


def test_tunnel_up_reads_detailed_status_until_up():
    down = {"results": [{"runtime_status": "DOWN", "ike_status": {"ike_session_state": "NEGOTIATING"}}]}
    up = {"results": [{"runtime_status": "UP", "ike_status": {"ike_session_state": "UP"}, "total_tunnels": 1,
                       "negotiated_tunnels": 1, "failed_tunnels": 0}]}
    result = run(FakeModule(wait_for="tunnel_up"), Step("GET", STATUS, body=down), Step("GET", STATUS, body=up))
    assert result["tunnel"]["runtime_status"] == "UP" and [h["state"] for h in result["history"]] == ["DOWN", "UP"]


def test_tunnel_timeout_names_runtime_status_ike_state_and_fail_reason(clock):
    down = {"results": [{"runtime_status": "DOWN", "ike_status": {"ike_session_state": "DOWN",
                                                                  "fail_reason": "Peer not responding"}}]}
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(wait_for="tunnel_up", wait_timeout=1), *[Step("GET", STATUS, body=down)] * 4)
    assert "runtime_status DOWN, ike_session_state DOWN, fail_reason: Peer not responding" in caught.value.msg


def test_deleted_is_a_404_of_the_path():
    gone = {"error_code": 500090, "error_message": "The path=[x] is invalid"}
    result = run(FakeModule(wait_for="deleted"), Step("GET", URL, body={"id": "s1"}), Step("GET", URL, status=404, body=gone))
    assert result["deleted"] is True


@pytest.mark.parametrize("params, fragment", [
    (dict(wait_for="in_effect"), "wait_for: in_effect is a state of the Manager API"),
    (dict(session_path=None, session_id="abc", changed_since=5), "changed_since: applies to Policy paths only"),
    (dict(session_path=None, session_paths=[PATH, PATH + "/x"]), "session_paths[1]: must be the Policy path"),
    (dict(session_path=None, session_paths=[]), "session_paths: must list at least one session"),
])
def test_bad_input_is_refused(params, fragment):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(FakeModule(**params).params)
    assert fragment in caught.value.msg
