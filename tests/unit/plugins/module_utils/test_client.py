"""The shared HTTP client: URLs, TLS options, retries, Retry-After, error messages."""

import os
import re
import time
from email.utils import formatdate

import pytest
import requests

from ansible_collections.hybridcloud.ops.plugins.module_utils import _client
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, base_url, describe_text, parse_retry_after,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, InputError, TransportError,
)

from .scripted import FakeClock, Step, install

BASE = "https://nsx.example.com"


def make_client(clock=None, **kwargs):
    clock = clock or FakeClock()
    kwargs.setdefault("retries", 3)
    client = ApiClient(BASE, "vpn_session_realization_info", clock=clock, sleep=clock.sleep,
                       rng=lambda: 0.5, vendor="NSX", correlation_header="x-nsx-requestid",
                       parse_error=lambda b: (str(b.get("error_code")), b.get("error_message"), None)
                       if isinstance(b, dict) else (None, None, None), **kwargs)
    return client, clock


# -- base URL (SPEC 1.1) -------------------------------------------------------------------
@pytest.mark.parametrize("host, expected", [
    ("nsx.example.com", "https://nsx.example.com"),
    ("nsx.example.com:8443", "https://nsx.example.com:8443"),
    ("https://nsx.example.com/", "https://nsx.example.com"),
    ("http://nsx.example.com:8080", "http://nsx.example.com:8080"),
    ("HTTPS://nsx.example.com", "https://nsx.example.com"),
    ("10.0.0.5", "https://10.0.0.5"),
    ("[fe80::1]:8443", "https://[fe80::1]:8443"),
    ("fe80::1", "https://[fe80::1]"),
    ("https://proxy.example.com/nsx", "https://proxy.example.com/nsx"),
    ("  nsx.example.com  ", "https://nsx.example.com"),
])
def test_base_url_accepts_names_ports_and_urls(host, expected):
    assert base_url(host, api_root="/api/v1") == expected


@pytest.mark.parametrize("host, expected", [
    ("zstack.example.com", "http://zstack.example.com:8080"),
    ("zstack.example.com:9090", "http://zstack.example.com:9090"),
    ("https://zstack.example.com", "https://zstack.example.com"),
])
def test_base_url_default_scheme_and_port_apply_only_without_a_url(host, expected):
    assert base_url(host, default_scheme="http", default_port=8080) == expected


@pytest.mark.parametrize("host, fragment", [
    ("", "required"),
    ("https://nsx.example.com/api/v1", "must not include the API path /api/v1"),
    ("ftp://nsx.example.com", "scheme must be http or https"),
    ("https://admin:secret@nsx.example.com", "must not contain credentials"),
    ("nsx.example.com:99999", "port must be a number from 1 to 65535"),
    ("nsx.example.com:abc", "port must be a number"),
    ("nsx example.com", "must not contain spaces"),
    ("https://nsx.example.com/?x=1", "must not contain a query"),
    ("nsx_$.example.com", "is not a valid hostname"),
])
def test_base_url_rejects_bad_hosts_naming_the_option(host, fragment):
    with pytest.raises(InputError) as caught:
        base_url(host, api_root="/api/v1")
    assert caught.value.msg.startswith("host: ")
    assert fragment in caught.value.msg
    assert "secret" not in caught.value.msg


def test_url_joins_paths_and_keeps_absolute_links_on_the_same_origin():
    client = make_client()[0]
    assert client.url("/api/v1/x") == BASE + "/api/v1/x"
    assert client.url(BASE + "/api/next?a=1") == BASE + "/api/next?a=1"
    with pytest.raises(ApiError, match="leaves https://nsx.example.com"):
        client.url("https://elsewhere.example.com/api/next")


# -- headers and TLS --------------------------------------------------------------------
def test_user_agent_names_collection_version_and_module():
    client = make_client()[0]
    script = install(client, Step("GET", "/api/v1/x", body={}))
    client.get("/api/v1/x")
    ua = script.sent[0][3].headers["User-Agent"]
    assert ua == "hybridcloud.ops/%s (vpn_session_realization_info)" % _client.COLLECTION_VERSION


def test_collection_version_is_galaxy_yml_s_in_a_built_tree_and_a_placeholder_in_the_checkout():
    # galaxy.yml is the one source: the build writes its version into the copy it packs
    # (ansible-test runs on such a copy); the checkout itself never holds a second copy.
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
    with open(os.path.join(root, "galaxy.yml")) as handle:
        version = re.search(r"^version:\s*(\S+)", handle.read(), re.M).group(1)
    assert _client.COLLECTION_VERSION in (version, "source")


@pytest.mark.parametrize("options, verify", [
    ({}, True),
    ({"validate_certs": False}, False),
    ({"ca_path": "/etc/pki/private-ca.pem"}, "/etc/pki/private-ca.pem"),
    ({"ca_path": "/etc/pki/private-ca.pem", "validate_certs": False}, "/etc/pki/private-ca.pem"),
])
def test_verify_is_passed_on_every_request(options, verify, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = make_client(**options)[0]
    script = install(client, Step("GET", "/a", body={}), Step("GET", "/b", body={}))
    client.get("/a")
    client.get("/b")
    assert [call[2]["verify"] for call in script.sent] == [verify, verify]


def test_requests_ca_bundle_does_not_override_ca_path(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/some-other-bundle.pem")
    client = make_client(ca_path="/etc/pki/private-ca.pem")[0]
    script = install(client, Step("GET", "/a", body={}))
    client.get("/a")
    assert script.sent[0][2]["verify"] == "/etc/pki/private-ca.pem"


def test_client_certificate_and_timeout_are_sent():
    client = make_client(client_cert="/c.pem", client_key="/k.pem", timeout=12)[0]
    script = install(client, Step("GET", "/a", body={}))
    client.get("/a")
    assert script.sent[0][2]["cert"] == ("/c.pem", "/k.pem")
    assert script.sent[0][2]["timeout"] == 12


def test_request_timeout_never_outlives_the_deadline():
    client, clock = make_client(timeout=30)
    client.deadline = clock() + 7.5
    script = install(client, Step("GET", "/a", body={}))
    client.get("/a")
    assert script.sent[0][2]["timeout"] == 7.5


def test_tls_failure_is_not_retried_and_says_what_to_do():
    client, clock = make_client()
    script = install(client, Step("GET", "/a", raises=requests.exceptions.SSLError("certificate verify failed")))
    with pytest.raises(TransportError) as caught:
        client.get("/a")
    assert "TLS failed" in caught.value.msg and "ca_path" in caught.value.msg
    assert caught.value.transient is False
    assert len(script.sent) == 1 and clock.sleeps == []


# -- retries ---------------------------------------------------------------------------------
def test_get_is_retried_on_503_with_growing_jittered_pauses():
    client, clock = make_client()
    script = install(client, Step("GET", "/a", 503), Step("GET", "/a", 503), Step("GET", "/a", body={"ok": 1}))
    reply = client.get("/a")
    assert reply.body == {"ok": 1}
    script.assert_done()
    # rng fixed at 0.5: pause = ceiling * 0.75 with ceiling 0.5, 1.0, ...
    assert clock.sleeps == [0.375, 0.75]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    client = make_client()[0]
    script = install(client, Step("GET", "/a", status), Step("GET", "/a", body={}))
    client.get("/a")
    script.assert_done()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
def test_other_errors_are_not_retried(status):
    client, clock = make_client()
    install(client, Step("GET", "/a", status, body={"error_code": 1, "error_message": "no"}))
    with pytest.raises(ApiError) as caught:
        client.get("/a")
    assert caught.value.status_code == status and clock.sleeps == []


def test_retry_after_seconds_is_honoured():
    client, clock = make_client()
    install(client, Step("GET", "/a", 429, headers={"Retry-After": "4"}), Step("GET", "/a", body={}))
    client.get("/a")
    assert clock.sleeps == [4.0]


def test_retry_after_http_date_is_honoured():
    client, clock = make_client()
    when = formatdate(time.time() + 6, usegmt=True)
    install(client, Step("GET", "/a", 503, headers={"Retry-After": when}), Step("GET", "/a", body={}))
    client.get("/a")
    assert 4.5 <= clock.sleeps[0] <= 6.0


def test_retry_after_beyond_the_deadline_gives_up_at_once():
    client, clock = make_client()
    client.deadline = clock() + 5
    script = install(client, Step("GET", "/a", 429, headers={"Retry-After": "30"}))
    with pytest.raises(ApiError) as caught:
        client.get("/a")
    assert caught.value.status_code == 429 and clock.sleeps == []
    script.assert_done()


def test_retries_run_out_with_the_last_error():
    client, clock = make_client(retries=2)
    install(client, *[Step("GET", "/a", 503, body={"error_code": 98, "error_message": "busy"})] * 3)
    with pytest.raises(ApiError) as caught:
        client.get("/a")
    assert caught.value.status_code == 503 and "busy" in caught.value.msg
    assert len(clock.sleeps) == 2


def test_zero_retries_means_one_attempt():
    client, clock = make_client(retries=0)
    install(client, Step("GET", "/a", 503))
    with pytest.raises(ApiError):
        client.get("/a")
    assert clock.sleeps == []


def test_connection_reset_of_a_get_is_retried():
    client = make_client()[0]
    script = install(client, Step("GET", "/a", raises=requests.exceptions.ConnectionError("Connection reset by peer")),
                     Step("GET", "/a", body={}))
    client.get("/a")
    script.assert_done()


def test_read_timeout_of_a_get_is_retried():
    client = make_client()[0]
    script = install(client, Step("GET", "/a", raises=requests.exceptions.ReadTimeout("read timed out")),
                     Step("GET", "/a", body={}))
    client.get("/a")
    script.assert_done()


@pytest.mark.parametrize("failure", [
    Step("POST", "/sites", 503),
    Step("POST", "/sites", 502),
    Step("POST", "/sites", raises=requests.exceptions.ConnectionError("Connection reset by peer")),
    Step("POST", "/sites", raises=requests.exceptions.ReadTimeout("read timed out")),
])
def test_post_that_may_have_reached_the_server_is_never_resent(failure):
    client = make_client()[0]
    script = install(client, failure)
    with pytest.raises((ApiError, TransportError)):
        client.post("/sites", json={"apiUrl": "https://peer"})
    assert len(script.sent) == 1


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_write_refused_with_429_is_sent_again_after_retry_after(method):
    client, clock = make_client()
    script = install(client, Step(method, "/sites", 429, headers={"Retry-After": "2"}),
                     Step(method, "/sites", body={"id": "t1"}))
    assert client.request(method, "/sites", json={}, idempotent=False).body == {"id": "t1"}
    script.assert_done()
    assert clock.sleeps == [2.0]


def test_post_is_resent_when_the_connection_was_refused():
    client = make_client()[0]
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    script = install(client, Step("POST", "/sites", raises=refused), Step("POST", "/sites", body={"id": "t1"}))
    assert client.post("/sites", json={}).body == {"id": "t1"}
    script.assert_done()


def test_a_put_can_be_declared_not_idempotent():
    client = make_client()[0]
    script = install(client, Step("PUT", "/actions", 503))
    with pytest.raises(ApiError):
        client.put("/actions", json={}, idempotent=False)
    assert len(script.sent) == 1


def test_renew_login_is_asked_once_and_the_request_repeated():
    client = make_client()[0]
    asked = []

    def renew(exc, generation):
        asked.append((exc.status_code, generation))
        client.login_generation += 1
        return True
    client.renew_login = renew
    script = install(client, Step("GET", "/a", 401), Step("GET", "/a", 401))
    with pytest.raises(ApiError):
        client.get("/a")
    # The hook learns which login the refused request went out with (to renew each login once).
    assert asked == [(401, 0)] and len(script.sent) == 2


# -- error messages --------------------------------------------------------------------
def test_vendor_error_names_method_path_status_code_message_and_correlation_id():
    client = make_client()[0]
    install(client, Step("GET", "/api/v1/s/state?request_id=r", 400,
                         body={"error_code": 110199, "error_message": "VPN service is disabled."},
                         headers={"x-nsx-requestid": "req-123"}))
    with pytest.raises(ApiError) as caught:
        client.get("/api/v1/s/state", params={"request_id": "r"})
    err = caught.value
    assert err.msg == ("GET /api/v1/s/state: HTTP 400 Bad Request, NSX error 110199: "
                       "VPN service is disabled. [x-nsx-requestid req-123]")
    kwargs = err.to_fail_kwargs()
    assert kwargs["status_code"] == 400 and kwargs["vendor_code"] == "110199"
    assert kwargs["error"] == {"error_code": 110199, "error_message": "VPN service is disabled."}
    assert kwargs["method"] == "GET" and kwargs["path"] == "/api/v1/s/state"
    assert kwargs["correlation_id"] == "req-123"


def test_html_error_page_gives_status_and_readable_start_of_text():
    client = make_client(retries=0)[0]
    page = "<html><head><title>502 Bad Gateway</title><style>p{}</style></head><body><h1>Bad Gateway</h1></body></html>"
    install(client, Step("GET", "/a", 502, text=page))
    with pytest.raises(ApiError) as caught:
        client.get("/a")
    assert caught.value.msg == "GET /a: HTTP 502 Bad Gateway, body: '502 Bad Gateway Bad Gateway'"
    assert caught.value.error == {"text": page}


def test_empty_error_body_is_said_to_be_empty():
    client = make_client(retries=0)[0]
    install(client, Step("GET", "/a", 500))
    with pytest.raises(ApiError, match=r"HTTP 500 Internal Server Error, body: \(empty body\)"):
        client.get("/a")


def test_success_with_invalid_json_is_an_error_and_retried_for_reads():
    client = make_client()[0]
    script = install(client, Step("GET", "/a", 200, text='{"state": "in_pro'), Step("GET", "/a", body={"state": "x"}))
    assert client.get("/a").body == {"state": "x"}
    script.assert_done()


def test_success_with_invalid_json_after_retries_names_the_problem():
    client = make_client(retries=0)[0]
    install(client, Step("GET", "/a", 200, text="<html>maintenance</html>"))
    with pytest.raises(ApiError, match=r"HTTP 200 but the body is not JSON: 'maintenance'"):
        client.get("/a")


def test_a_read_answered_with_an_empty_body_is_retried_then_named():
    client = make_client(retries=1)[0]
    script = install(client, Step("GET", "/a", 200), Step("GET", "/a", 200))
    with pytest.raises(ApiError, match=r"GET /a: HTTP 200 but the body is not JSON: \(empty body\)"):
        client.get("/a")
    assert len(script.sent) == 2


def test_success_with_empty_body_gives_none():
    client = make_client()[0]
    install(client, Step("DELETE", "/a", 200))
    assert client.delete("/a").body is None


def test_json_error_body_the_parser_does_not_know_is_shown():
    client = make_client(retries=0)[0]
    install(client, Step("GET", "/a", 500, body=["unexpected", "list"]))
    with pytest.raises(ApiError, match=r'NSX error body: \'\["unexpected", "list"\]\''):
        client.get("/a")


def test_connection_error_names_method_path_and_appliance():
    client = make_client(retries=0)[0]
    install(client, Step("GET", "/a", raises=requests.exceptions.ConnectionError("Name or service not known")))
    with pytest.raises(TransportError) as caught:
        client.get("/a")
    assert caught.value.msg == "GET /a: connection to https://nsx.example.com: Name or service not known"


# -- helpers ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("3", 3.0), ("0.5", 0.5), ("-2", 0.0), (None, None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_describe_text_is_short():
    assert describe_text("x" * 500).endswith("...'")
    assert len(describe_text("x" * 500)) < 210
