"""replication_site_info: local site, peers, health and problems, on scripted HTTP."""

import json

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _vcda as vcda
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError, InputError
from ansible_collections.hybridcloud.ops.plugins.modules import replication_site_info as module_under_test

from ..module_utils.scripted import FakeClock, Step, install

TRACE = "com.vmware.h4.api.error.exceptions.SiteNotPairedException: not paired\n\tat com.vmware.X(X.java:1)"
LOCAL = {"id": "a-id", "site": "site-a", "apiUrl": "https://vcda-a.example.com:443/",
         "apiPublicUrl": "https://vcda-a.example.com:443/", "isLocal": True, "state": {}}
B = {"id": "b-id", "site": "site-b", "apiUrl": "https://vcda-b.example.com:443/",
     "apiPublicUrl": "https://vcda-b.example.com:443/", "apiThumbprint": "SHA-256:" + ":".join(["B0"] * 32),
     "isLocal": False, "state": {"incomingCommError": None, "outgoingCommError": None}}
C = {"id": "c-id", "site": "site-c", "apiUrl": "https://10.0.0.9:8443/", "apiPublicUrl": "https://vcda-c.example.com/",
     "apiThumbprint": "SHA-256:" + ":".join(["C0"] * 32), "isLocal": False, "state": {
         "outgoingCommError": {"code": "SiteNotPaired", "msg": "Site site-c has not paired with site site-a yet.",
                               "args": ["site-c", "site-a"], "stacktrace": TRACE},
         "incomingCommError": {"code": "CertificateThumbprintMismatch", "msg": None, "args": ["a", "b"],
                               "stacktrace": TRACE}}}


class FakeModule:
    def __init__(self, **params):
        self.params = dict(host="vcda-a.example.com", peer_api_url=None)
        self.params.update(params)
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def run(module, body):
    clock = FakeClock()
    client = vcda.VcdaClient("https://vcda-a.example.com", "replication_site_info", clock=clock,
                             sleep=clock.sleep, rng=lambda: 0.5, vendor="vCDA", parse_error=vcda.parse_error)
    script = install(client, Step("GET", "/sites", body=body))
    result = module_under_test.run(module, client)
    script.assert_done()
    return result


def test_local_site_apart_and_every_peer_with_its_health():
    result = run(FakeModule(), [LOCAL, B, C])
    assert result["changed"] is False and result["local_site"]["site"] == "site-a"
    assert [s["site"] for s in result["sites"]] == ["site-b", "site-c"]
    assert [s["healthy"] for s in result["sites"]] == [True, False] and result["unhealthy"] == 1
    assert result["sites"][0]["problems"] == []
    assert result["sites"][1]["problems"] == [
        "incoming: CertificateThumbprintMismatch: a, b",
        "outgoing: SiteNotPaired: Site site-c has not paired with site site-a yet."]


def test_no_stack_trace_is_returned_anywhere():
    result = run(FakeModule(), [LOCAL, B, C])
    text = json.dumps(result)
    assert "stacktrace" not in text and "com.vmware" not in text
    assert result["sites"][1]["state"]["outgoingCommError"]["code"] == "SiteNotPaired"


@pytest.mark.parametrize("url", ["https://vcda-c.example.com", "https://VCDA-C.example.com:443/",
                                 "https://10.0.0.9:8443"])
def test_one_peer_by_its_api_url_or_public_url_written_any_way(url):
    result = run(FakeModule(peer_api_url=url), [LOCAL, B, C])
    assert [s["site"] for s in result["sites"]] == ["site-c"] and result["unhealthy"] == 1


def test_a_peer_url_that_matches_no_pairing_says_so_in_a_warning():
    module = FakeModule(peer_api_url="https://vcda-z.example.com")
    result = run(module, [LOCAL, B])
    assert result["sites"] == [] and result["unhealthy"] == 0
    assert module.warnings == ["vcda-a.example.com has no pairing with https://vcda-z.example.com (its paired "
                               "sites: site-b at https://vcda-b.example.com:443/)."]


def test_the_local_url_is_not_a_peer():
    module = FakeModule(peer_api_url="https://vcda-a.example.com")
    result = run(module, [LOCAL, B])
    assert result["sites"] == [] and len(module.warnings) == 1


def test_an_appliance_without_pairings_is_healthy_and_says_nothing():
    module = FakeModule()
    result = run(module, [LOCAL])
    assert result["sites"] == [] and result["unhealthy"] == 0 and module.warnings == []


def test_a_reply_that_is_not_a_list_of_sites_is_a_clear_error():
    with pytest.raises(ApiError, match="GET /sites: expected a list of sites, got dict"):
        run(FakeModule(), {"items": []})


def test_a_malformed_peer_url_is_refused_naming_the_option():
    with pytest.raises(InputError, match="^peer_api_url: must be an https:// URL"):
        module_under_test.validate(FakeModule(peer_api_url="vcda-b.example.com").params)
