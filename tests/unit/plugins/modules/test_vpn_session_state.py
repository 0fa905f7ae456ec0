"""vpn_session_state: Policy PATCH tied to its realization, Manager PUT with _revision and 412,
idempotency, check mode, diff and psk masking, on scripted HTTP."""


import pytest
import requests

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError, InputError
from ansible_collections.hybridcloud.ops.plugins.modules import vpn_session_state as module_under_test

from ..module_utils.scripted import FakeClock, Step, fake_waits, install

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
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    return fake_waits(monkeypatch, nsxt)


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
    assert len(module.warnings) == 1 and "x-nsx-requestid is unknown" in module.warnings[0]


def test_manager_second_412_fails_naming_the_vendor_error():
    module = FakeModule(session_path=None, session_id=SID, wait=False)
    stale = {"error_code": 244, "error_message": "modified by somebody else"}
    with pytest.raises(HybridCloudError) as caught:
        run(module, Step("GET", MANAGER, body=manager()), Step("PUT", MANAGER, status=412, body=stale),
            Step("GET", MANAGER, body=manager(True, 8)), Step("PUT", MANAGER, status=412, body=stale),
            Step("GET", MANAGER, body=manager(True, 9)))  # still not changed: not our write's lost answer
    assert "HTTP 412" in caught.value.msg and "NSX error 244" in caught.value.msg


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


# == issue 13 audit: each behaviour below was seen failing before its fix ===========================
STATUS = URL + "/detailed-status?source=realtime"
MANAGER_STATUS = MANAGER + "/status"


def tunnel(runtime, ike=None, reason=None):
    status = {"ike_session_state": ike or runtime}
    if reason:
        status["fail_reason"] = reason
    return {"results": [{"runtime_status": runtime, "ike_status": status, "total_tunnels": 1,
                         "negotiated_tunnels": 1 if runtime == "UP" else 0,
                         "failed_tunnels": 0 if runtime == "UP" else 1}]}


def methods(script):
    return [m for m, _u, _k, _r in script.sent]


# -- H5: in_sync is the realization's, also after a tunnel wait --------------------------------------
@pytest.mark.parametrize("enabled, wait_for, runtime", [(True, "tunnel_up", "UP"), (False, "tunnel_down", "DOWN")])
def test_in_sync_stays_true_after_the_tunnel_phase(enabled, wait_for, runtime):
    result, _script = run(FakeModule(enabled=enabled, wait_for=wait_for),
                          Step("GET", URL, body=policy(enabled=not enabled)),
                          Step("PATCH", URL),
                          Step("GET", URL, body=policy(enabled=enabled, modified=2000, revision=4)),
                          Step("GET", ENTITIES, body=entities("REALIZED", 2100)),
                          Step("GET", STATUS, body=tunnel("NEGOTIATING" if enabled else "UP")),
                          Step("GET", STATUS, body=tunnel(runtime)))
    assert result["in_sync"] is True and result["realization"]["state"] == "REALIZED"
    assert result["tunnel"]["runtime_status"] == runtime
    assert [h["state"] for h in result["history"]] == ["REALIZED", "NEGOTIATING" if enabled else "UP", runtime]


# -- M5: a session without "enabled" is enabled (NSX's default) -------------------------------------
def test_policy_session_without_enabled_counts_as_enabled():
    body = policy()
    del body["enabled"]
    result, script = run(FakeModule(enabled=True), Step("GET", URL, body=body),
                         Step("GET", ENTITIES, body=entities("REALIZED", 1000)))
    assert result["changed"] is False and result["writes"] == 0 and "PATCH" not in methods(script)


def test_manager_session_without_enabled_counts_as_enabled():
    body = manager()
    del body["enabled"]
    result, script = run(FakeModule(session_path=None, session_id=SID, enabled=True),
                         Step("GET", MANAGER, body=body), Step("GET", STATE, body={"state": "in_sync"}))
    assert result["changed"] is False and "PUT" not in methods(script)


def test_enabled_of_an_unexpected_kind_is_a_clear_error():
    body = policy()
    body["enabled"] = "yes"
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(enabled=True), Step("GET", URL, body=body))
    assert "enabled" in caught.value.msg and "'yes'" in caught.value.msg


# -- M2: never wait untied ------------------------------------------------------------------------
@pytest.mark.parametrize("modified", [None, "1733322000123x", True])
def test_read_back_without_an_integer_last_modified_time_does_not_wait_untied(modified):
    after = policy(enabled=False, revision=4)
    if modified is None:
        del after["_last_modified_time"]
    else:
        after["_last_modified_time"] = modified
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, body=policy()), Step("PATCH", URL), Step("GET", URL, body=after))
    kwargs = caught.value.to_fail_kwargs()
    assert "_last_modified_time" in kwargs["msg"] and "not waiting" in kwargs["msg"]
    assert kwargs["changed"] is True and kwargs["writes"] == 1 and kwargs["session"]["psk"] == "********"
    assert "unexpected" not in kwargs["msg"]


def test_read_back_without_last_modified_time_is_fine_without_a_wait():
    after = policy(enabled=False, revision=4)
    del after["_last_modified_time"]
    result, _script = run(FakeModule(wait=False), Step("GET", URL, body=policy()), Step("PATCH", URL),
                          Step("GET", URL, body=after))
    assert result["changed"] is True and "changed_since" not in result


# -- L2: changed_since is returned whenever a PATCH was sent, also without a wait --------------------
def test_wait_false_returns_changed_since_for_a_later_info_run():
    result, script = run(FakeModule(wait=False), Step("GET", URL, body=policy()), Step("PATCH", URL),
                         Step("GET", URL, body=policy(enabled=False, modified=2000, revision=4)))
    assert result["changed_since"] == 2000 and result["polls"] == 0
    assert methods(script) == ["GET", "PATCH", "GET"]


# -- M3: a no-change run has no change to tie to -----------------------------------------------------
def test_no_change_run_does_not_wait_for_a_realization_that_never_comes(fake_clock):
    # The intent was modified (a tag, say) after its realized entities: a tie to the intent's
    # _last_modified_time would wait for ever on a healthy session.
    module = FakeModule(enabled=True, wait_timeout=30)
    result, script = run(module, Step("GET", URL, body=policy(enabled=True, modified=5000)),
                         Step("GET", ENTITIES, body=entities("REALIZED", 4000)))
    assert result["changed"] is False and result["in_sync"] is True and result["polls"] == 1
    assert "changed_since" not in result
    assert module.warnings and "older than the session's last modification" in module.warnings[0]


def test_no_change_run_with_a_fresh_realization_does_not_warn():
    module = FakeModule(enabled=True)
    result, _script = run(module, Step("GET", URL, body=policy(enabled=True, modified=5000)),
                          Step("GET", ENTITIES, body=entities("REALIZED", 5100)))
    assert result["in_sync"] is True and module.warnings == []


# -- M4: a PATCH NSX turned away is sent again; one that may still be applied is not ----------------
BUSY = {"httpStatus": "SERVICE_UNAVAILABLE", "error_code": 98, "error_message": "Client 'admin' exceeded concurrency limit of 40"}


@pytest.mark.parametrize("refusal", [Step("PATCH", URL, status=503, body=BUSY, headers={"Retry-After": "2"}),
                                     Step("PATCH", URL, status=502, text="<html>502 Bad Gateway</html>")])
def test_patch_turned_away_is_sent_again_after_a_re_read(refusal):
    result, script = run(FakeModule(),
                         Step("GET", URL, body=policy()),
                         refusal,
                         Step("GET", URL, body=policy()),           # not applied, same _revision
                         Step("PATCH", URL),
                         Step("GET", URL, body=policy(enabled=False, modified=2000, revision=4)),
                         Step("GET", ENTITIES, body=entities("REALIZED", 2100)))
    assert methods(script).count("PATCH") == 2 and result["writes"] == 2
    assert result["changed_since"] == 2000 and result["in_sync"] is True


def test_patch_turned_away_again_and_again_fails_after_retries():
    steps = [Step("GET", URL, body=policy())]
    for _attempt in range(3):
        steps += [Step("PATCH", URL, status=503, body=BUSY), Step("GET", URL, body=policy())]
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(retries=2), *steps)
    assert "HTTP 503" in caught.value.msg and "sent 3 times" in caught.value.msg


@pytest.mark.parametrize("step", [
    Step("PATCH", URL, status=504, text="<html>gateway timeout</html>"),
    Step("PATCH", URL, raises=requests.exceptions.ReadTimeout("read timed out")),
])
def test_patch_that_nsx_may_still_apply_is_not_sent_again(step):
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, body=policy()), step, Step("GET", URL, body=policy()))
    assert "not sent again" in caught.value.msg and "enabled: true" in caught.value.msg


def test_patch_not_applied_while_someone_else_changed_the_session_is_not_sent_again():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, body=policy()), Step("PATCH", URL, status=503, body=BUSY),
            Step("GET", URL, body=policy(revision=9, modified=3000)))
    assert "not sent again" in caught.value.msg


def test_patch_rate_limited_is_resent_by_the_client_and_counted():
    limited = {"httpStatus": "TOO_MANY_REQUESTS", "error_code": "102", "error_message": "rate"}
    result, script = run(FakeModule(wait=False), Step("GET", URL, body=policy()),
                         Step("PATCH", URL, status=429, body=limited, headers={"Retry-After": "1"}),
                         Step("PATCH", URL), Step("GET", URL, body=policy(enabled=False, modified=2000)))
    assert methods(script).count("PATCH") == 2 and result["writes"] == 2


# -- M1/L5: a Manager change whose x-nsx-requestid was lost ------------------------------------------
def test_manager_put_answer_lost_then_412_is_taken_with_a_warning_and_every_put_counted():
    module = FakeModule(session_path=None, session_id=SID)
    stale = {"error_code": 244, "error_message": "modified by somebody else"}
    result, script = run(module,
                         Step("GET", MANAGER, body=manager()),
                         Step("PUT", MANAGER, status=502, text="<html>bad gateway</html>"),  # taken, answer lost
                         Step("PUT", MANAGER, status=412, body=stale),                        # the client's re-send
                         Step("GET", MANAGER, body=manager(False, 8)),
                         Step("GET", STATE, body={"state": "in_sync"}))
    assert methods(script).count("PUT") == 2 and result["writes"] == 2
    assert "request_id" not in result and result["in_sync"] is True
    assert module.warnings and "x-nsx-requestid" in module.warnings[0]


def test_manager_second_put_answer_lost_is_not_a_failure():
    module = FakeModule(session_path=None, session_id=SID, wait=False)
    stale = {"error_code": 244, "error_message": "modified by somebody else"}
    result, script = run(module,
                         Step("GET", MANAGER, body=manager()),
                         Step("PUT", MANAGER, status=412, body=stale),
                         Step("GET", MANAGER, body=manager(True, 8)),
                         Step("PUT", MANAGER, status=504, text="gateway timeout"),
                         Step("PUT", MANAGER, status=412, body=stale),
                         Step("GET", MANAGER, body=manager(False, 9)))
    assert result["changed"] is True and result["writes"] == 3 and "request_id" not in result
    assert module.warnings


def test_manager_put_without_answer_after_retries_is_re_read():
    module = FakeModule(session_path=None, session_id=SID, wait=False, retries=0)
    result, _script = run(module, Step("GET", MANAGER, body=manager()),
                          Step("PUT", MANAGER, raises=requests.exceptions.ConnectionError("connection reset by peer")),
                          Step("GET", MANAGER, body=manager(False, 8)))
    assert result["changed"] is True and result["writes"] == 1 and module.warnings


def test_manager_put_without_answer_and_not_applied_fails_with_the_transport_error():
    module = FakeModule(session_path=None, session_id=SID, wait=False, retries=0)
    with pytest.raises(HybridCloudError) as caught:
        run(module, Step("GET", MANAGER, body=manager()),
            Step("PUT", MANAGER, raises=requests.exceptions.ConnectionError("connection reset by peer")),
            Step("GET", MANAGER, body=manager(True, 7)))
    assert "PUT" in caught.value.msg and "connection reset" in caught.value.msg


# -- L1: a timeout names the user's deadline ----------------------------------------------------------
def test_tunnel_phase_timeout_names_the_tasks_wait_timeout(fake_clock, monkeypatch):
    monkeypatch.setattr(module_under_test, "monotonic", fake_clock)
    down = tunnel("DOWN", reason="Peer not responding")
    steps = [Step("GET", URL, body=policy(enabled=False)), Step("PATCH", URL),
             Step("GET", URL, body=policy(enabled=True, modified=2000, revision=4)),
             Step("GET", ENTITIES, body=entities("UNREALIZED", 2000))]
    steps += [Step("GET", ENTITIES, body=entities("REALIZED", 2100))]
    steps += [Step("GET", STATUS, body=down)] * 40
    client = nsxt.make_client(FakeModule(), clock=FakeClock(), sleep=lambda s: None, rng=lambda: 0.5)
    script = install(client, *steps)

    def slow_entities(request, **kwargs):  # each realized-entities read "takes" 2.5 s
        if "realized-entities" in request.url:
            fake_clock.advance(2.5)
        return send(request, **kwargs)

    send = script.send
    script.send = slow_entities
    with pytest.raises(HybridCloudError) as caught:
        with client:
            module_under_test.run(FakeModule(enabled=True, wait_for="tunnel_up", wait_timeout=10), client)
    msg = caught.value.msg
    assert msg.startswith("Timed out after 10 s waiting for NSX IPsec VPN session %s to have its tunnel up" % PATH), msg
    assert "fail_reason: Peer not responding" in msg
    assert caught.value.context["in_sync"] is True


# -- L4: bodies that are not JSON objects ----------------------------------------------------------
@pytest.mark.parametrize("body", [[{"psk": PSK}], "a string", 42])
def test_session_body_that_is_not_an_object_is_a_clear_error(body):
    module = FakeModule()
    with pytest.raises(HybridCloudError) as caught:
        run(module, Step("GET", URL, body=body))
    msg = caught.value.msg
    assert "where NSX sends a JSON object" in msg and "unexpected" not in msg and PSK not in msg


def test_manager_put_reply_that_is_not_an_object_is_a_clear_error():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(session_path=None, session_id=SID, wait=False), Step("GET", MANAGER, body=manager()),
            Step("PUT", MANAGER, body=["not", "a", "session"], headers={"x-nsx-requestid": "req-1"}))
    assert "where NSX sends a JSON object" in caught.value.msg


# -- M6: a 404 without NSX's error body is not "not found" --------------------------------------------
def test_html_404_is_not_taken_for_a_missing_session():
    with pytest.raises(HybridCloudError) as caught:
        run(FakeModule(), Step("GET", URL, status=404, text="<html><body>404 Not Found</body></html>"))
    msg = caught.value.msg
    assert "not found:" not in msg and "HTTP 404" in msg and "without NSX's error body" in msg
