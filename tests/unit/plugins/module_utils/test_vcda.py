"""The vCDA platform layer: sessions, media type, errors without stack traces, tasks, URLs and
thumbprints."""

import base64
import hashlib

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _vcda as vcda
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, InputError, WaitFailed, WaitTimeout,
)

from .scripted import FakeClock, Step, install

BASE = "https://vcda-a.example.com"
TOKEN = "tok-7f3a9c"
FAILED_ERROR = {"code": "CertificateThumbprintMismatch", "msg": "The thumbprint does not match.",
                "args": ["https://vcda-b.example.com"],
                "stacktrace": "com.vmware.h4.api.error.exceptions.X: boom\n\tat com.vmware.h4.Y"}


class FakeModule:
    """What connect() uses of an AnsibleModule."""

    def __init__(self, verbosity=0, **params):
        self.params = dict(host="vcda-a.example.com", username="root", password="s3cret!",
                           auth_type="localUser", validate_certs=True, ca_path=None, timeout=30,
                           retries=3)
        self.params.update(params)
        self._name = "hybridcloud.ops.replication_site_pair"
        self._verbosity = verbosity
        self.no_log_values = set()
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture
def scripted(monkeypatch):
    """``arm(*steps)``: the next connect() answers from this script, on a fake clock."""
    armed = {}

    def arm(*steps):
        clock = FakeClock()

        class Scripted(vcda.VcdaClient):
            def __init__(self, *args, **kwargs):
                kwargs.update(clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
                super(Scripted, self).__init__(*args, **kwargs)
                armed["script"] = install(self, *steps)
                armed["client"] = self

        monkeypatch.setattr(vcda, "VcdaClient", Scripted)
        armed["clock"] = clock
        return armed
    return arm


def login(token=TOKEN):
    return Step("POST", "/sessions", 200, body={"user": "root"}, headers={"X-VCAV-Auth": token})


def logout():
    return Step("DELETE", "/sessions", 204)


def make_client(clock=None):
    clock = clock or FakeClock()
    client = vcda.VcdaClient(BASE, "replication_site_pair", clock=clock, sleep=clock.sleep,
                             rng=lambda: 0.5, headers={"Accept": vcda.MEDIA_TYPE}, vendor="vCDA",
                             parse_error=vcda.parse_error)
    return client, clock


def sent_json(call):
    import json
    return json.loads(call[3].body)


# -- sessions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("auth_type, username, body", [
    ("localUser", "root", {"type": "localUser", "localUser": "root", "localPassword": "s3cret!"}),
    ("vcdCredentials", "administrator@System",
     {"type": "vcdCredentials", "vcdUser": "administrator@System", "vcdPassword": "s3cret!"}),
    ("ssoCredentials", "administrator@vsphere.local",
     {"type": "ssoCredentials", "username": "administrator@vsphere.local", "password": "s3cret!"}),
])
def test_session_body_fields_follow_the_auth_type(scripted, auth_type, username, body):
    armed = scripted(login(), logout())
    with vcda.connect(FakeModule(auth_type=auth_type, username=username)):
        pass
    assert sent_json(armed["script"].sent[0]) == body
    armed["script"].assert_done()


def test_token_from_the_header_is_hidden_at_once_and_sent_on_later_requests(scripted):
    armed = scripted(login(), Step("GET", "/sites", body=[]), logout())
    module = FakeModule()
    with vcda.connect(module) as client:
        assert TOKEN in module.no_log_values
        client.get("/sites")
    sent = armed["script"].sent
    assert "X-VCAV-Auth" not in sent[0][3].headers
    assert sent[1][3].headers["X-VCAV-Auth"] == TOKEN
    assert sent[2][3].headers["X-VCAV-Auth"] == TOKEN  # the logout closes this very session


def test_every_request_accepts_the_vendor_media_type_and_carries_one_operation_id(scripted):
    armed = scripted(login(), Step("GET", "/sites", body=[]), logout())
    with vcda.connect(FakeModule()) as client:
        client.get("/sites")
    headers = [call[3].headers for call in armed["script"].sent]
    assert [h["Accept"] for h in headers] == ["application/vnd.vmware.h4-v4.7+json;charset=UTF-8"] * 3
    assert len(set(h["operationID"] for h in headers)) == 1


def test_the_session_is_logged_out_when_the_block_ends(scripted):
    armed = scripted(login(), logout())
    with vcda.connect(FakeModule()) as client:
        pass
    armed["script"].assert_done()
    assert "X-VCAV-Auth" not in client.session.headers


def test_the_session_is_logged_out_also_when_the_block_fails(scripted):
    armed = scripted(login(), Step("GET", "/sites", 500, body=FAILED_ERROR), logout())
    with pytest.raises(ApiError):
        with vcda.connect(FakeModule(retries=0)) as client:
            client.get("/sites")
    armed["script"].assert_done()


def test_a_failed_logout_is_a_warning_not_a_failure(scripted):
    down = {"code": "GeneralServerFailure", "msg": "down"}
    armed = scripted(login(), Step("DELETE", "/sessions", 500, body=down))
    module = FakeModule()
    with vcda.connect(module):
        pass
    assert len(armed["script"].sent) == 2
    assert module.warnings == ["could not log out of vCDA: DELETE /sessions: HTTP 500 Internal Server "
                               "Error, vCDA error GeneralServerFailure: down [operationID %s]"
                               % armed["script"].sent[0][3].headers["operationID"]]


def test_a_refused_login_names_user_and_auth_type_and_sends_nothing_else(scripted):
    armed = scripted(Step("POST", "/sessions", 401, body={
        "code": "NotAuthenticated", "msg": "Invalid credentials.", "args": [], "stacktrace": "x.Y"}))
    with pytest.raises(ApiError) as caught:
        with vcda.connect(FakeModule(password="wrong")):
            pass
    msg = caught.value.msg
    assert msg.startswith("vCDA refused the login of root with auth_type localUser: POST /sessions: "
                          "HTTP 401 Unauthorized, vCDA error NotAuthenticated: Invalid credentials.")
    assert "wrong" not in msg and "x.Y" not in msg
    assert len(armed["script"].sent) == 1  # no renewal loop, no logout of a session never opened


def test_a_login_reply_without_token_is_a_clear_error(scripted):
    scripted(Step("POST", "/sessions", 200, body={"user": "root"}))
    with pytest.raises(ApiError, match="no X-VCAV-Auth header with the session token"):
        with vcda.connect(FakeModule()):
            pass


def test_an_expired_token_is_renewed_once_and_the_request_repeated(scripted):
    expired = {"code": "NotAuthenticated", "msg": "Authentication required.", "args": []}
    armed = scripted(login("first"), Step("GET", "/sites", 401, body=expired), login("second"),
                     Step("GET", "/sites", body=[]), logout())
    module = FakeModule()
    with vcda.connect(module) as client:
        assert client.get("/sites").body == []
    sent = armed["script"].sent
    assert sent[3][3].headers["X-VCAV-Auth"] == "second"
    assert {"first", "second"} <= module.no_log_values
    armed["script"].assert_done()


def test_vcd_credentials_need_user_at_organization_before_any_request(scripted):
    armed = scripted()
    with pytest.raises(InputError, match="username: with auth_type vcdCredentials must be "
                                         "user@organization"):
        with vcda.connect(FakeModule(auth_type="vcdCredentials", username="administrator")):
            pass
    assert "client" not in armed  # refused before a connection was even built


# -- errors ------------------------------------------------------------------------------------
def test_vcda_error_gives_code_and_msg_and_never_the_stacktrace():
    client = make_client()[0]
    install(client, Step("POST", "/sites", 400, body=FAILED_ERROR))
    with pytest.raises(ApiError) as caught:
        client.post("/sites", json={})
    err = caught.value
    assert err.msg == ("POST /sites: HTTP 400 Bad Request, vCDA error CertificateThumbprintMismatch: "
                       "The thumbprint does not match.")
    kwargs = err.to_fail_kwargs()
    assert kwargs["error"] == {"code": "CertificateThumbprintMismatch",
                               "msg": "The thumbprint does not match.",
                               "args": ["https://vcda-b.example.com"]}
    assert "vendor_stacktrace" not in kwargs
    assert "com.vmware" not in str(kwargs)


def test_the_stacktrace_is_returned_apart_only_when_asked():
    client = make_client()[0]
    client.keep_stacktrace = True
    install(client, Step("GET", "/sites", 400, body=FAILED_ERROR))
    with pytest.raises(ApiError) as caught:
        client.get("/sites")
    kwargs = caught.value.to_fail_kwargs()
    assert kwargs["vendor_stacktrace"] == FAILED_ERROR["stacktrace"]
    assert "stacktrace" not in kwargs["error"] and "com.vmware" not in kwargs["msg"]


def test_error_without_msg_falls_back_to_its_args():
    assert vcda.parse_error({"code": "X", "args": ["a", "b"]}) == ("X", "a, b", None)
    assert vcda.parse_error(["not", "a", "dict"]) == (None, None, None)
    assert vcda.parse_error({"code": 7, "msg": ["not", "text"]}) == ("7", None, None)


def test_stack_traces_are_removed_at_every_depth():
    body = {"state": {"incomingCommError": dict(FAILED_ERROR)}, "errors": [dict(FAILED_ERROR)]}
    clean = vcda.without_stacktraces(body)
    assert "stacktrace" not in str(clean) and clean["state"]["incomingCommError"]["code"] == FAILED_ERROR["code"]
    assert "stacktrace" in body["errors"][0]  # the original is left alone


# -- tasks -------------------------------------------------------------------------------------
def task(state, progress=None, **extra):
    body = {"id": "t-1", "state": state}
    if progress is not None:
        body["progress"] = progress
    body.update(extra)
    return body


def follow(client, clock, first, timeout=600):
    return vcda.follow_task(client, first, "vCDA task t-1 pairing", timeout, 10, clock=clock,
                            sleep=clock.sleep, rng=lambda: 0.5)


def test_task_is_polled_while_running_until_it_succeeds():
    client, clock = make_client()
    script = install(client, Step("GET", "/tasks/t-1", body=task("RUNNING", 10)),
                     Step("GET", "/tasks/t-1", body=task("RUNNING", 60)),
                     Step("GET", "/tasks/t-1", body=task("SUCCEEDED", 100, result={"site": "b"})))
    result = follow(client, clock, task("RUNNING", 0))
    script.assert_done()
    assert result.obj["result"] == {"site": "b"} and result.polls == 3
    assert [h["state"] for h in result.history] == ["RUNNING", "SUCCEEDED"]
    assert clock.sleeps and all(0 < s <= 10 for s in clock.sleeps)


@pytest.mark.parametrize("state", ["FAILED", "CANCELED"])
def test_failed_or_canceled_task_fails_with_its_code_and_msg(state):
    client, clock = make_client()
    install(client, Step("GET", "/tasks/t-1", body=task(state, 40, error=FAILED_ERROR)))
    with pytest.raises(WaitFailed) as caught:
        follow(client, clock, task("RUNNING", 0))
    kwargs = caught.value.to_fail_kwargs()
    assert kwargs["msg"] == ("vCDA task t-1 pairing %s: vCDA error CertificateThumbprintMismatch: The "
                             "thumbprint does not match." % state)
    assert kwargs["task"]["state"] == state and "stacktrace" not in kwargs["task"]["error"]
    assert "vendor_stacktrace" not in kwargs


def test_failed_task_keeps_its_stacktrace_apart_when_asked():
    client, clock = make_client()
    client.keep_stacktrace = True
    install(client, Step("GET", "/tasks/t-1", body=task("FAILED", error=FAILED_ERROR)))
    with pytest.raises(WaitFailed) as caught:
        follow(client, clock, task("RUNNING"))
    assert caught.value.to_fail_kwargs()["vendor_stacktrace"] == FAILED_ERROR["stacktrace"]


def test_a_reply_that_already_shows_the_end_needs_no_status_request():
    client, clock = make_client()
    script = install(client)
    result = follow(client, clock, task("SUCCEEDED", 100))
    assert script.sent == [] and result.obj["state"] == "SUCCEEDED"


def test_task_timeout_names_the_last_state_and_progress():
    client, clock = make_client()
    install(client, *[Step("GET", "/tasks/t-1", body=task("RUNNING", 30))] * 20)
    with pytest.raises(WaitTimeout) as caught:
        follow(client, clock, task("RUNNING", 0), timeout=5)
    assert caught.value.msg.startswith("Timed out after 5 s waiting for vCDA task t-1 pairing to "
                                       "succeed; last state: RUNNING (progress 30%)")


def test_a_status_reply_that_is_not_a_task_is_a_clear_error():
    client, clock = make_client()
    install(client, Step("GET", "/tasks/t-1", body=["not", "a", "task"]))
    with pytest.raises(ApiError, match=r"GET /tasks/t-1: expected a task, got \['not'"):
        follow(client, clock, task("RUNNING"))


def test_a_task_state_vcda_does_not_document_counts_as_still_running():
    client, clock = make_client()
    install(client, Step("GET", "/tasks/t-1", body=task("QUEUED")),
            Step("GET", "/tasks/t-1", body=task("SUCCEEDED")))
    result = follow(client, clock, task(["odd"]))
    assert [h["state"] for h in result.history] == ["QUEUED", "SUCCEEDED"]


def test_a_2xx_reply_without_a_task_is_a_clear_error():
    reply = type("Reply", (), {"status": 200, "body": {"ok": True}})()
    with pytest.raises(ApiError, match=r"POST /sites: HTTP 200 but the reply is not a task"):
        vcda.task_of_reply(reply, "POST", "/sites")


# -- URLs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, expected", [
    ("https://vcda-b.example.com", "https://vcda-b.example.com:443"),
    ("https://vcda-b.example.com:443/", "https://vcda-b.example.com:443"),
    ("HTTPS://VCDA-B.Example.COM:443", "https://vcda-b.example.com:443"),
    ("https://10.71.248.18:8048/", "https://10.71.248.18:8048"),
    ("https://[FE80::1]/", "https://[fe80::1]:443"),
    ("https://proxy.example.com/vcda/", "https://proxy.example.com:443/vcda"),
    ("  https://vcda-b.example.com:8443  ", "https://vcda-b.example.com:8443"),
])
def test_api_urls_are_compared_in_one_normal_form(url, expected):
    assert vcda.normalise_url(url) == expected


def test_peer_is_found_by_api_url_or_public_url_and_never_as_the_local_site():
    local = {"site": "a", "apiUrl": "https://vcda-b.example.com/", "isLocal": True}
    by_public = {"site": "b", "apiUrl": "https://10.0.0.2:8048/", "apiPublicUrl": "https://VCDA-B.example.com:443/"}
    assert vcda.find_peer([local, by_public], "https://vcda-b.example.com") is by_public
    assert vcda.find_peer([local], "https://vcda-b.example.com") is None
    assert vcda.find_peer([by_public], "https://10.0.0.2:8048") is by_public


def test_site_path_uses_the_id_else_the_site_name():
    assert vcda.site_path({"id": "5fd0", "site": "b"}) == "/sites/5fd0"
    assert vcda.site_path({"site": "cloud b"}) == "/sites/cloud%20b"


@pytest.mark.parametrize("value, fragment", [
    ("vcda-b.example.com", "must be an https:// URL"),
    ("http://vcda-b.example.com", "vCDA serves its API over https only"),
    ("https://root:pw@vcda-b.example.com", "must not contain credentials"),
    ("https://vcda-b.example.com:99999", "port must be a number"),
    ("https://vcda b.example.com", "must not contain spaces"),
    ("", "must be an https:// URL"),
])
def test_bad_peer_urls_are_refused_naming_the_option(value, fragment):
    with pytest.raises(InputError) as caught:
        vcda.check_api_url(value, "peer_api_url")
    assert caught.value.msg.startswith("peer_api_url: ") and fragment in caught.value.msg


# -- thumbprints --------------------------------------------------------------------------------
PAIRS = ["%02X" % i for i in range(32)]
GOOD = "SHA-256:" + ":".join(PAIRS)


@pytest.mark.parametrize("value", [GOOD, GOOD.lower(), "  %s  " % GOOD, "sha-256:" + ":".join(PAIRS)])
def test_thumbprints_are_accepted_in_any_case_and_normalised(value):
    assert vcda.normalise_thumbprint(value) == GOOD


@pytest.mark.parametrize("value", [
    ":".join(PAIRS),                                    # no SHA-256: prefix
    "SHA-1:" + ":".join(PAIRS[:20]),                    # another digest
    "SHA-256:" + ":".join(PAIRS[:31]),                  # 31 pairs
    "SHA-256:" + "".join(PAIRS),                        # no colons
    "SHA-256:" + ":".join(PAIRS[:31] + ["ZZ"]),         # not hex
])
def test_malformed_thumbprints_are_refused_with_the_expected_form(value):
    with pytest.raises(InputError) as caught:
        vcda.normalise_thumbprint(value)
    assert caught.value.msg.startswith("peer_api_thumbprint: must be a SHA-256 thumbprint in the form "
                                       "SHA-256:")


def test_thumbprint_is_the_sha256_of_the_der_bytes_in_vcda_form():
    der = b"certificate bytes"
    digest = hashlib.sha256(der).hexdigest().upper()
    assert vcda.thumbprint_of(der) == "SHA-256:" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def remote_certificate(der, stated=None):
    body = {"encoded": base64.b64encode(der).decode()}
    if stated:
        body["certificate"] = {"thumbPrint": stated}
    return body


def test_peer_thumbprint_is_computed_from_the_certificate_the_local_appliance_returns():
    client = make_client()[0]
    der = b"peer certificate"
    script = install(client, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fvcda-b.example.com%3A443",
                                  body=remote_certificate(der, vcda.thumbprint_of(der))))
    assert vcda.peer_thumbprint(client, "https://vcda-b.example.com:443") == vcda.thumbprint_of(der)
    script.assert_done()


def test_peer_thumbprint_accepts_a_pem_certificate():
    client = make_client()[0]
    der = b"peer certificate"
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(der).decode()
    install(client, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fb", body={"encoded": pem}))
    assert vcda.peer_thumbprint(client, "https://b") == vcda.thumbprint_of(der)


def test_peer_thumbprint_that_disagrees_with_the_stated_one_is_refused():
    client = make_client()[0]
    install(client, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fb",
                         body=remote_certificate(b"one", vcda.thumbprint_of(b"other"))))
    with pytest.raises(ApiError, match="hashes to SHA-256:.* but vCDA states its thumbprint is"):
        vcda.peer_thumbprint(client, "https://b")


def test_peer_thumbprint_falls_back_to_the_stated_one_without_a_certificate():
    client = make_client()[0]
    install(client, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fb",
                         body={"certificate": {"thumbPrint": GOOD.lower()}}))
    assert vcda.peer_thumbprint(client, "https://b") == GOOD


def test_peer_thumbprint_without_any_certificate_says_to_set_the_option():
    client = make_client()[0]
    install(client, Step("GET", "/config/remote-certificate?url=https%3A%2F%2Fb", body={}))
    with pytest.raises(ApiError, match="set peer_api_thumbprint"):
        vcda.peer_thumbprint(client, "https://b")
