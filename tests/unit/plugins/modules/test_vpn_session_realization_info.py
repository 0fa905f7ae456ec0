"""vpn_session_realization_info: Policy paths, changed_since, tunnel waits and Manager ids, on scripted HTTP."""

from urllib.parse import quote

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError, InputError
from ansible_collections.hybridcloud.ops.plugins.modules import vpn_session_realization_info as module_under_test

from ..module_utils.scripted import FakeClock, Step, fake_waits, install

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
    return fake_waits(monkeypatch, nsxt)


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


# == issue 13 audit: each behaviour below was seen failing before its fix ===========================
T1 = "/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s2"
PROJECT = "/orgs/default/projects/tenant-a/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s3"


def entities_url(path, scope=""):
    return "/policy/api/v1%s/infra/realized-state/realized-entities?intent_path=%s" % (scope, quote(path, safe=""))


def test_tunnel_only_wait_returns_no_realization_verdict():
    up = {"results": [{"runtime_status": "UP", "ike_status": {"ike_session_state": "UP"}}]}
    result = run(FakeModule(wait_for="tunnel_up"), Step("GET", STATUS, body=up))
    assert "in_sync" not in result and "realization" not in result
    assert result["tunnel"]["runtime_status"] == "UP"


def test_manager_tunnel_wait_returns_no_realization_verdict():
    status = {"session_status": "UP", "ike_status": {"ike_session_state": "UP"}}
    result = run(FakeModule(session_path=None, session_id="abc", wait_for="tunnel_up"),
                 Step("GET", "/api/v1/vpn/ipsec/sessions/abc/status?source=realtime", body=status))
    assert "in_sync" not in result and result["tunnel"]["runtime_status"] == "UP"


def test_project_session_is_read_in_its_project_through_a_module_run():
    result = run(FakeModule(session_path="/policy/api/v1" + PROJECT),
                 Step("GET", entities_url(PROJECT, "/orgs/default/projects/tenant-a"), body=realized("REALIZED")))
    assert result["session_path"] == PROJECT and result["in_sync"] is True


def test_several_paths_keep_their_order_and_a_failure_is_named():
    error = {"results": [{"state": "ERROR", "_last_modified_time": 1, "entity_type": "RealizedIPSecVpnSession",
                          "alarms": [{"message": "IKE negotiation failed"}]}]}
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(session_path=None, session_paths=[PATH, T1]),
            Step("GET", ENTITIES, body=realized("REALIZED")), Step("GET", entities_url(T1), body=error))
    kwargs = caught.value.to_fail_kwargs()
    assert kwargs["msg"].startswith("1 of 2 NSX IPsec VPN sessions failed to be realized")
    assert T1 in kwargs["msg"] and "IKE negotiation failed" in kwargs["msg"]
    assert [(s["session_path"], s["failed"]) for s in kwargs["sessions"]] == [(PATH, False), (T1, True)]


def test_wait_false_reports_a_stale_or_error_state_as_data():
    result = run(FakeModule(wait=False, changed_since=6000), Step("GET", ENTITIES, body=realized("REALIZED", 5000)))
    assert result["realization"]["state"] == "STALE" and result["in_sync"] is False and result["polls"] == 1
    assert result["realization"]["ignored_entities"] == 2


def test_error_through_the_module_fails_at_once_with_the_alarms():
    error = {"results": [{"state": "ERROR", "_last_modified_time": 1, "entity_type": "RealizedIPSecVpnSession",
                          "alarms": [{"error_details": {"error_message": "No route to peer"}}]}]}
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", ENTITIES, body=error))
    assert caught.value.msg == "NSX IPsec VPN session %s failed to realize: RealizedIPSecVpnSession: No route to peer." % PATH
    assert caught.value.context["realization"]["state"] == "ERROR" and caught.value.context["polls"] == 1


# -- M6: a 404 without NSX's error body is not "deleted" -------------------------------------------
def test_html_404_does_not_count_as_deleted():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(wait_for="deleted"), Step("GET", URL, status=404, text="<html>404 Not Found</html>"))
    assert "HTTP 404" in caught.value.msg and "without NSX's error body" in caught.value.msg
    assert caught.value.context.get("deleted") is not True


def test_manager_html_404_is_not_deleted_either():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(session_path=None, session_id="abc", wait_for="deleted"),
            Step("GET", "/api/v1/vpn/ipsec/sessions/abc/state", status=404, text="<html>404</html>"))
    assert "without NSX's error body" in caught.value.msg


# -- L4: bodies that are not JSON objects give a clear error --------------------------------------------
@pytest.mark.parametrize("params, url", [
    (dict(), ENTITIES),
    (dict(wait_for="tunnel_up"), STATUS),
    (dict(session_path=None, session_id="abc"), "/api/v1/vpn/ipsec/sessions/abc/state"),
])
def test_a_body_that_is_not_an_object_is_a_clear_error(params, url):
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(wait=False, **params), Step("GET", url, body=["a", "list"]))
    assert "where NSX sends a JSON object" in caught.value.msg and "unexpected" not in caught.value.msg


def test_entities_without_a_time_are_not_counted_after_a_change_and_say_so():
    body = {"results": [{"state": "REALIZED"}, {"state": "REALIZED", "_last_modified_time": "soon"}]}
    result = run(FakeModule(wait=False, changed_since=6000), Step("GET", ENTITIES, body=body))
    assert result["realization"]["state"] == "STALE" and result["realization"]["ignored_entities"] == 2
