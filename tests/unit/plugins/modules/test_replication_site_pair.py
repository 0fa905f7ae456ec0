"""replication_site_pair's decisions, request by request: idempotence, thumbprints, check mode,
and a POST, PUT or DELETE sent again only when vCDA surely did not act on it."""

import base64
import json

import pytest
import requests

from ansible_collections.hybridcloud.ops.plugins.module_utils import _vcda as vcda
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError, WaitFailed,
)
from ansible_collections.hybridcloud.ops.plugins.modules import replication_site_pair as module_file

from ..module_utils.scripted import Step, fake_waits, install

PEER = "https://vcda-b.example.com:443"
THUMB_B = "SHA-256:" + ":".join(["B0"] * 32)
THUMB_OTHER = "SHA-256:" + ":".join(["0E"] * 32)
LOCAL = {"id": "a-id", "site": "site-a", "apiUrl": "https://vcda-a.example.com:443/",
         "apiPublicUrl": "https://vcda-a.example.com:443/", "isLocal": True}
PAIRED_B = {"id": "b-id", "site": "site-b", "apiUrl": "https://vcda-b.example.com/",
            "apiPublicUrl": "https://vcda-b.example.com:443/", "apiThumbprint": THUMB_B,
            "isLocal": False, "description": "DR site",
            "state": {"incomingCommError": {"code": "X", "msg": "y", "stacktrace": "com.vmware.Z"}}}


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict(host="vcda-a.example.com", peer_api_url=PEER, peer_api_thumbprint=THUMB_B,
                           description=None, site=None, state="present", wait=True,
                           wait_timeout=600, wait_sleep=10)
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture
def clock(monkeypatch):
    return fake_waits(monkeypatch, module_file, vcda)


def client_with(clock, *steps):
    client = vcda.VcdaClient("https://vcda-a.example.com", "replication_site_pair", clock=clock,
                             sleep=clock.sleep, rng=lambda: 0.5, vendor="vCDA",
                             parse_error=vcda.parse_error)
    return client, install(client, *steps)


def sites(*records):
    return Step("GET", "/sites", body=[LOCAL] + list(records))


def task(state, **extra):
    return dict({"id": "t-1", "state": state, "progress": 100 if state == "SUCCEEDED" else 5}, **extra)


def requests_of(script):
    return [(call[0], call[3].path_url) for call in script.sent]


# -- present ----------------------------------------------------------------------------------
def test_pairs_when_the_peer_is_not_listed_and_follows_the_task(clock):
    client, script = client_with(clock, sites(), Step("POST", "/sites", 202, body=task("RUNNING")),
                                 Step("GET", "/tasks/t-1", body=task("SUCCEEDED", result=PAIRED_B)))
    result = module_file.run(FakeModule(description="DR site"), client)
    script.assert_done()
    assert json.loads(script.sent[1][3].body) == {"apiUrl": PEER, "apiThumbprint": THUMB_B,
                                                  "description": "DR site"}
    assert result["changed"] is True and result["task"]["state"] == "SUCCEEDED"
    assert result["site"]["site"] == "site-b" and "stacktrace" not in str(result["site"])
    assert result["peer_api_thumbprint"] == THUMB_B and result["polls"] == 1


def test_any_2xx_with_a_task_body_is_accepted(clock):
    done = task("SUCCEEDED", result=PAIRED_B)
    client, script = client_with(clock, sites(), Step("POST", "/sites", 200, body=done))
    result = module_file.run(FakeModule(), client)
    script.assert_done()
    assert result["changed"] is True and result["site"]["id"] == "b-id"


def test_already_paired_with_the_same_thumbprint_sends_no_post(clock):
    client, script = client_with(clock, sites(PAIRED_B))
    result = module_file.run(FakeModule(peer_api_thumbprint=THUMB_B.lower(), peer_api_url="HTTPS://vcda-b.EXAMPLE.com/"),
                             client)
    assert requests_of(script) == [("GET", "/sites")]
    assert result["changed"] is False and result["site"]["id"] == "b-id" and result["task"] is None


def test_already_paired_with_another_thumbprint_fails_naming_both_and_changes_nothing(clock):
    client, script = client_with(clock, sites(PAIRED_B))
    with pytest.raises(HybridCloudError) as caught:
        module_file.run(FakeModule(peer_api_thumbprint=THUMB_OTHER), client)
    assert requests_of(script) == [("GET", "/sites")]
    assert THUMB_B in caught.value.msg and THUMB_OTHER in caught.value.msg
    assert caught.value.msg.startswith("%s is already paired with thumbprint %s, but the thumbprint "
                                       "wanted is %s. Nothing was changed." % (PEER, THUMB_B, THUMB_OTHER))


def test_without_a_thumbprint_the_peer_certificate_is_read_through_the_local_appliance(clock):
    der = b"the certificate of B"
    client, script = client_with(
        clock, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fvcda-b.example.com%3A443",
                    body={"encoded": base64.b64encode(der).decode()}),
        sites(), Step("POST", "/sites", 202, body=task("SUCCEEDED", result=PAIRED_B)))
    module = FakeModule(peer_api_thumbprint=None)
    result = module_file.run(module, client)
    script.assert_done()
    assert result["peer_api_thumbprint"] == vcda.thumbprint_of(der)
    assert len(module.warnings) == 1 and "pin it with peer_api_thumbprint" in module.warnings[0]


def test_check_mode_predicts_the_pairing_and_sends_no_post(clock):
    client, script = client_with(clock, sites())
    result = module_file.run(FakeModule(check_mode=True, diff=True, site="site-b"), client)
    assert requests_of(script) == [("GET", "/sites")]
    assert result["changed"] is True and result["task"] is None
    assert result["diff"] == {"before": {}, "after": {"apiUrl": PEER, "apiThumbprint": THUMB_B,
                                                      "site": "site-b"}}


def test_pairing_with_the_appliance_itself_is_refused(clock):
    client, script = client_with(clock, sites())
    with pytest.raises(InputError, match="peer_api_url: https://vcda-a.example.com is the API URL of "
                                         "this appliance"):
        module_file.run(FakeModule(peer_api_url="https://vcda-a.example.com"), client)
    assert requests_of(script) == [("GET", "/sites")]


def test_a_failed_pairing_task_fails_with_its_code_and_the_thumbprint_tried(clock):
    error = {"code": "CertificateThumbprintMismatch", "msg": "No match.", "stacktrace": "com.vmware.X"}
    client = client_with(clock, sites(), Step("POST", "/sites", 202, body=task("RUNNING")),
                         Step("GET", "/tasks/t-1", body=task("FAILED", error=error)))[0]
    with pytest.raises(WaitFailed) as caught:
        module_file.run(FakeModule(), client)
    kwargs = caught.value.to_fail_kwargs()
    assert "vCDA error CertificateThumbprintMismatch: No match." in kwargs["msg"]
    assert kwargs["peer_api_thumbprint"] == THUMB_B and "com.vmware" not in str(kwargs)


def test_wait_false_returns_the_running_task(clock):
    client, script = client_with(clock, sites(), Step("POST", "/sites", 202, body=task("RUNNING")))
    result = module_file.run(FakeModule(wait=False), client)
    script.assert_done()
    assert result["changed"] is True and result["task"]["state"] == "RUNNING" and result["polls"] == 0


# -- a POST is sent again only when vCDA surely did not act on it ------------------------------------
def test_a_rate_limited_post_is_sent_again_after_retry_after(clock):
    # 429: vCDA did not process it, so sending it again cannot pair twice.
    client, script = client_with(
        clock, sites(),
        Step("POST", "/sites", 429, body={"code": "TooManyRequests", "msg": "slow down"}, headers={"Retry-After": "2"}),
        Step("POST", "/sites", 202, body=task("RUNNING")),
        Step("GET", "/tasks/t-1", body=task("SUCCEEDED", result=PAIRED_B)))
    result = module_file.run(FakeModule(), client)
    script.assert_done()
    assert result["changed"] is True and 2.0 in clock.sleeps


@pytest.mark.parametrize("failure", [
    Step("POST", "/sites", 503, body={"code": "ServiceUnavailable", "msg": "busy"}),
])
def test_a_declined_post_is_not_resent_and_the_pairings_are_read_once(clock, failure):
    client, script = client_with(clock, sites(), failure, sites())
    with pytest.raises(HybridCloudError) as caught:
        module_file.run(FakeModule(), client)
    assert requests_of(script) == [("GET", "/sites"), ("POST", "/sites"), ("GET", "/sites")]
    assert "The request was not sent again" in caught.value.msg
    assert "GET /sites does not show the pairing with %s." % PEER in caught.value.msg
    assert caught.value.to_fail_kwargs()["status_code"] == failure.status


@pytest.mark.parametrize("raises", [
    requests.exceptions.ConnectionError("Connection reset by peer"),
    requests.exceptions.ReadTimeout("read timed out"),
])
def test_a_post_without_answer_is_not_resent_and_found_by_reading_the_pairings(clock, raises):
    client, script = client_with(clock, sites(), Step("POST", "/sites", raises=raises), sites(),
                                 sites(PAIRED_B))
    module = FakeModule()
    result = module_file.run(module, client)
    assert requests_of(script) == [("GET", "/sites"), ("POST", "/sites"), ("GET", "/sites"),
                                   ("GET", "/sites")]
    assert result["changed"] is True and result["site"]["id"] == "b-id" and result["task"] is None
    assert "The request was not sent again: GET /sites shows the pairing" in module.warnings[0]


def test_a_post_without_answer_and_no_pairing_fails_after_the_recheck_window(clock):
    client, script = client_with(clock, sites(), Step("POST", "/sites", 502, text="<html>bad gateway</html>"),
                                 *[sites()] * 40)
    with pytest.raises(HybridCloudError) as caught:
        module_file.run(FakeModule(), client)
    posts = [r for r in requests_of(script) if r[0] == "POST"]
    assert posts == [("POST", "/sites")]
    assert "does not show the pairing with %s after 30 s" % PEER in caught.value.msg
    assert "Re-run the task" in caught.value.msg


def test_a_post_refused_by_vcda_is_reported_as_it_is(clock):
    client, script = client_with(clock, sites(), Step("POST", "/sites", 400, body={
        "code": "BadRequest", "msg": "apiThumbprint is invalid.", "stacktrace": "com.vmware.X"}))
    with pytest.raises(ApiError) as caught:
        module_file.run(FakeModule(), client)
    script.assert_done()  # no re-read, no re-send
    assert caught.value.msg == "POST /sites: HTTP 400 Bad Request, vCDA error BadRequest: apiThumbprint is invalid."


# -- absent ---------------------------------------------------------------------------------------
def test_unpairs_by_site_id_and_waits_for_the_task(clock):
    client, script = client_with(clock, sites(PAIRED_B), Step("DELETE", "/sites/b-id", 202, body=task("RUNNING")),
                                 Step("GET", "/tasks/t-1", body=task("SUCCEEDED")))
    result = module_file.run(FakeModule(state="absent", peer_api_thumbprint=None, diff=True), client)
    script.assert_done()
    assert result["changed"] is True and result["task"]["state"] == "SUCCEEDED"
    assert result["diff"]["after"] == {} and result["diff"]["before"]["apiThumbprint"] == THUMB_B


def test_absent_when_not_paired_changes_nothing(clock):
    client, script = client_with(clock, sites())
    result = module_file.run(FakeModule(state="absent"), client)
    assert requests_of(script) == [("GET", "/sites")] and result["changed"] is False


def test_absent_in_check_mode_sends_no_delete(clock):
    client, script = client_with(clock, sites(PAIRED_B))
    result = module_file.run(FakeModule(state="absent", check_mode=True), client)
    assert requests_of(script) == [("GET", "/sites")] and result["changed"] is True


def test_a_delete_without_answer_is_not_resent(clock):
    client, script = client_with(clock, sites(PAIRED_B),
                                 Step("DELETE", "/sites/b-id", raises=requests.exceptions.ConnectionError("reset")),
                                 sites())
    result = module_file.run(FakeModule(state="absent"), client)
    assert [r for r in requests_of(script) if r[0] == "DELETE"] == [("DELETE", "/sites/b-id")]
    assert result["changed"] is True


# -- input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, fragment", [
    ({"peer_api_thumbprint": "AA:BB"}, "peer_api_thumbprint: must be a SHA-256 thumbprint"),
    ({"peer_api_url": "vcda-b.example.com"}, "peer_api_url: must be an https:// URL"),
    ({"site": " "}, "site: must be the peer's site name"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
])
def test_bad_input_is_refused_naming_the_option(override, fragment):
    params = FakeModule(**override).params
    with pytest.raises(InputError) as caught:
        module_file.validate(params)
    assert fragment in caught.value.msg


# -- update_thumbprint: re-pair with PUT /sites/<id> ------------------------------------------------
def test_update_thumbprint_repairs_with_one_put_showing_both_thumbprints(clock):
    repaired = dict(PAIRED_B, apiThumbprint=THUMB_OTHER, state={})
    client, script = client_with(clock, sites(PAIRED_B), Step("PUT", "/sites/b-id", 202, body=task("RUNNING")),
                                 Step("GET", "/tasks/t-1", body=task("SUCCEEDED", result=repaired)))
    result = module_file.run(FakeModule(diff=True, peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True), client)
    script.assert_done()
    # The record's own apiUrl: PEER only matched it (another spelling), it must not rewrite it.
    assert json.loads(script.sent[1][3].body) == {"apiUrl": PAIRED_B["apiUrl"], "apiThumbprint": THUMB_OTHER,
                                                  "description": "DR site"}
    assert result["changed"] is True and result["site"]["apiThumbprint"] == THUMB_OTHER
    assert result["diff"]["before"]["apiThumbprint"] == THUMB_B
    assert result["diff"]["after"]["apiThumbprint"] == THUMB_OTHER


def test_update_thumbprint_in_check_mode_sends_nothing(clock):
    client, script = client_with(clock, sites(PAIRED_B))
    result = module_file.run(FakeModule(check_mode=True, peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True),
                             client)
    script.assert_done()
    assert result["changed"] is True and requests_of(script) == [("GET", "/sites")]


def test_a_changed_description_is_updated_by_put(clock):
    client, script = client_with(clock, sites(PAIRED_B), Step("PUT", "/sites/b-id", 202, body=task("SUCCEEDED")),
                                 Step("GET", "/sites", body=[LOCAL, dict(PAIRED_B, description="new")]))
    result = module_file.run(FakeModule(description="new"), client)
    script.assert_done()
    assert json.loads(script.sent[1][3].body)["description"] == "new"
    assert result["changed"] is True and result["site"]["description"] == "new"


def test_update_thumbprint_with_state_absent_is_refused():
    with pytest.raises(InputError) as caught:
        module_file.validate(FakeModule(update_thumbprint=True, state="absent").params)
    assert caught.value.msg.startswith("update_thumbprint: only applies with state: present")


def test_site_health_has_one_readable_line_per_error():
    healthy, problems = vcda.site_health(vcda.without_stacktraces(PAIRED_B))
    assert healthy is False and problems == ["incoming: X: y"]
    assert vcda.site_health({"state": {"incomingCommError": None, "outgoingCommError": None}}) == (True, [])


def test_update_thumbprint_keeps_the_api_url_of_a_record_matched_by_its_public_url(clock):
    internal = dict(PAIRED_B, apiUrl="https://10.0.20.5:8443/")
    client, script = client_with(clock, sites(internal), Step("PUT", "/sites/b-id", 202, body=task("SUCCEEDED")),
                                 sites(dict(internal, apiThumbprint=THUMB_OTHER)))
    result = module_file.run(FakeModule(diff=True, peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True), client)
    script.assert_done()
    assert json.loads(script.sent[1][3].body)["apiUrl"] == "https://10.0.20.5:8443/"
    assert result["diff"]["before"]["apiUrl"] == result["diff"]["after"]["apiUrl"] == "https://10.0.20.5:8443/"


@pytest.mark.parametrize("stored", [THUMB_B.lower(), THUMB_B.replace("SHA-256:", ""),
                                    THUMB_B.replace(":", "").replace("SHA-256", "SHA-256:"), " %s " % THUMB_B])
def test_a_stored_thumbprint_written_another_way_is_the_same_thumbprint(clock, stored):
    client, script = client_with(clock, sites(dict(PAIRED_B, apiThumbprint=stored)))
    result = module_file.run(FakeModule(update_thumbprint=True), client)
    assert requests_of(script) == [("GET", "/sites")] and result["changed"] is False


def test_a_cloud_director_site_without_an_id_is_re_paired_by_its_site_name(clock):
    cloud = dict(PAIRED_B)
    del cloud["id"]
    client, script = client_with(clock, sites(cloud), Step("PUT", "/sites/site-b", 202, body=task("RUNNING")),
                                 Step("GET", "/tasks/t-1", body=task("SUCCEEDED")),
                                 sites(dict(cloud, apiThumbprint=THUMB_OTHER)))
    result = module_file.run(FakeModule(peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True), client)
    script.assert_done()
    assert ("PUT", "/sites/site-b") in requests_of(script)
    assert result["changed"] is True and result["site"]["apiThumbprint"] == THUMB_OTHER


@pytest.mark.parametrize("raises", [
    requests.exceptions.ConnectionError("Connection reset by peer"),
    requests.exceptions.ReadTimeout("read timed out"),
])
def test_a_re_pair_whose_reply_is_lost_is_not_resent_and_found_by_reading_the_pairings(clock, raises):
    client, script = client_with(clock, sites(PAIRED_B), Step("PUT", "/sites/b-id", raises=raises),
                                 sites(PAIRED_B), sites(dict(PAIRED_B, apiThumbprint=THUMB_OTHER, state={})))
    module = FakeModule(peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True)
    result = module_file.run(module, client)
    script.assert_done()
    assert [r for r in requests_of(script) if r[0] == "PUT"] == [("PUT", "/sites/b-id")]
    assert result["changed"] is True and result["site"]["apiThumbprint"] == THUMB_OTHER
    assert "The request was not sent again: GET /sites shows the pairing with %s re-paired" % PEER \
        in module.warnings[0]


def test_a_re_pair_whose_reply_is_lost_and_that_never_shows_fails_without_resending(clock):
    client, script = client_with(clock, sites(PAIRED_B), Step("PUT", "/sites/b-id", 504, text="gateway timeout"),
                                 *[sites(PAIRED_B)] * 40)
    with pytest.raises(HybridCloudError) as caught:
        module_file.run(FakeModule(peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True), client)
    assert [r for r in requests_of(script) if r[0] == "PUT"] == [("PUT", "/sites/b-id")]
    assert caught.value.msg.startswith("PUT /sites/b-id: HTTP 504")
    assert "GET /sites does not show the pairing with %s re-paired after 30 s" % PEER in caught.value.msg
    assert caught.value.to_fail_kwargs()["status_code"] == 504


def test_update_thumbprint_without_a_pinned_thumbprint_warns_that_it_trusts_whatever_the_peer_presents(clock):
    der = b"the renewed certificate of B"
    client, script = client_with(
        clock, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fvcda-b.example.com%3A443",
                    body={"encoded": base64.b64encode(der).decode()}),
        sites(PAIRED_B), Step("PUT", "/sites/b-id", 202, body=task("SUCCEEDED")),
        sites(dict(PAIRED_B, apiThumbprint=vcda.thumbprint_of(der))))
    module = FakeModule(peer_api_thumbprint=None, update_thumbprint=True)
    result = module_file.run(module, client)
    script.assert_done()
    assert result["changed"] is True
    loud = [w for w in module.warnings if "update_thumbprint" in w]
    assert len(loud) == 1, module.warnings
    assert THUMB_B in loud[0] and vcda.thumbprint_of(der) in loud[0]
    assert "man in the middle" in loud[0] and "peer_api_thumbprint" in loud[0]


def test_update_thumbprint_with_a_pinned_thumbprint_re_pairs_without_a_warning(clock):
    client, script = client_with(clock, sites(PAIRED_B), Step("PUT", "/sites/b-id", 202, body=task("SUCCEEDED")),
                                 sites(dict(PAIRED_B, apiThumbprint=THUMB_OTHER)))
    module = FakeModule(peer_api_thumbprint=THUMB_OTHER, update_thumbprint=True)
    module_file.run(module, client)
    assert module.warnings == []
