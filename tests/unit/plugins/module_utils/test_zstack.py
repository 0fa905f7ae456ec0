"""The ZStack platform layer: session, error format, queries and asynchronous jobs."""

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zstack
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, InputError, TransportError, WaitFailed, WaitTimeout,
)

from .scripted import FakeClock, Step, install

HOST = "zstack.example.com"
BASE = "http://zstack.example.com:8080"
PASSWORD = "Sw0rdfish-Q7!"
DIGEST = hashlib.sha512(PASSWORD.encode()).hexdigest()
SESSION = "00d038b699b74e76a01705918d48d939"
SESSION2 = "5c7a3b1f0e2d4c6b8a9f1e0d2c3b4a59"
SESSION3 = "8e1f2a3b4c5d6e7f8091a2b3c4d5e6f7"
CONN = "13b5a2cd8c5c30a9a47ba95802cf4e1a"
JOB = "d825b1a26f4e474b8c59306081920ff2"
JOB2 = "967a26b7431c49c0b1d50d709ef1aef3"
ACTION = "/zstack/v1/ipsec/%s/actions" % CONN
SECRET = "PSK-unit-test-8f3a9c2d"
LOGIN = Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {
    "uuid": SESSION, "accountUuid": "36c27e8ff05c4780bf6d2fa65700f22e",
    "expiredDate": "Jan 1, 2017 11:31:06 AM", "createDate": "Jan 1, 2017 9:31:06 AM"}})
LOGIN2 = Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {"uuid": SESSION2}})
LOGOUT = Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION)
LOGOUT2 = Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION2)


class FakeModule:
    def __init__(self, **params):
        self.params = dict(host=HOST, username="admin", password=PASSWORD, session_uuid=None,
                           validate_certs=True, ca_path=None, timeout=30, retries=3)
        self.params.update(params)
        self._name = "hybridcloud.ops.ipsec_connection_state"
        self.no_log_values = set()
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def zstack_error(code, details, description="An operation failed", cause=None):
    error = {"code": code, "description": description, "details": details}
    if cause:
        error["cause"] = cause
    return {"error": error}


def inventory(state="Disabled", **extra):
    inv = {"uuid": CONN, "name": "dc-to-branch-01", "state": state, "status": "Ready", "authKey": SECRET}
    inv.update(extra)
    return inv


def location(job, host="http://172.20.11.5:8080/zstack"):
    return {"location": "%s/v1/api-jobs/%s" % (host, job)}


def job_step(job=JOB, status=202, **kwargs):
    return Step("GET", "/zstack/v1/api-jobs/%s" % job, status, **kwargs)


@pytest.fixture
def jobs(monkeypatch):
    """The X-Job-UUIDs the code under test will make, in order."""
    made = [JOB, JOB2]
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: made.pop(0))
    return made


def client_for(module):
    """A scripted-HTTP-ready client on a FakeClock (``client.clock``)."""
    clock = FakeClock()
    return zstack.make_client(module, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)


def methods(script):
    return [sent[0] for sent in script.sent]


def sent_json(script, index):
    return json.loads(script.sent[index][3].body)


def follow(client, wait=True, timeout=300, settled=lambda: None, current=None, body=None):
    return zstack.run_async(client, ACTION, body or {"changeIPSecConnectionState": {"stateEvent": "enable"}},
                            what="IPsec connection 'dc-to-branch-01' (%s) to be Enabled" % CONN,
                            wait=wait, timeout=timeout, sleep_cap=10, settled=settled,
                            current=current if current is not None else zstack.masked(inventory()),
                            result_key="connection")


# -- session --------------------------------------------------------------------------------
def test_login_sends_account_and_sha512_digest_then_oauth_header_then_logout():
    module = FakeModule()
    client = client_for(module)
    script = install(client, LOGIN, Step("GET", "/zstack/v1/ipsec/%s" % CONN, body={"inventories": []}), LOGOUT)
    with zstack.connect(module, client=client):
        assert zstack.query(client, "ipsec/%s" % CONN) == []
    script.assert_done()
    assert sent_json(script, 0) == {"logInByAccount": {"accountName": "admin", "password": DIGEST}}
    assert "Authorization" not in script.sent[0][3].headers
    assert script.sent[1][3].headers["Authorization"] == "OAuth %s" % SESSION
    assert {SESSION, DIGEST} <= module.no_log_values


def test_the_session_is_logged_out_also_when_the_block_fails():
    module = FakeModule()
    client = client_for(module)
    script = install(client, LOGIN, LOGOUT)
    with pytest.raises(RuntimeError):
        with zstack.connect(module, client=client):
            raise RuntimeError("the module failed")
    script.assert_done()
    assert script.sent[-1][0] == "DELETE"


def test_a_failed_logout_is_a_warning_without_the_session_uuid():
    module = FakeModule(retries=0)
    client = client_for(module)
    install(client, LOGIN, Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION, 500, text="boom"))
    with zstack.connect(module, client=client):
        pass
    assert len(module.warnings) == 1
    assert "Could not log out of the ZStack session" in module.warnings[0] and "boom" in module.warnings[0]
    assert SESSION not in module.warnings[0]


def test_a_given_session_uuid_is_used_as_it_is_and_never_logged_out():
    module = FakeModule(username=None, password=None, session_uuid=SESSION2)
    client = client_for(module)
    script = install(client, Step("GET", "/zstack/v1/ipsec/%s" % CONN, body={"inventories": [inventory()]}))
    with zstack.connect(module, client=client):
        zstack.query(client, "ipsec/%s" % CONN)
    script.assert_done()
    assert script.sent[0][3].headers["Authorization"] == "OAuth %s" % SESSION2
    assert SESSION2 in module.no_log_values


def test_wrong_password_fails_once_with_zstack_code_and_a_hint():
    module = FakeModule()
    client = client_for(module)
    clock = client.clock
    script = install(client, Step("PUT", "/zstack/v1/accounts/login", 503, body=zstack_error(
        "ID.1000", "wrong account name or password", "Authentication error")))
    with pytest.raises(ApiError) as caught:
        with zstack.connect(module, client=client):
            pass
    script.assert_done()
    assert caught.value.msg == (
        "ZStack login as 'admin' failed (check username and password): PUT /zstack/v1/accounts/login: "
        "HTTP 503 Service Unavailable, ZStack error ID.1000: Authentication error: wrong account name or password")
    assert clock.sleeps == []  # a ZStack error is final, not a busy server


def test_expired_session_on_a_read_logs_in_again_once_and_repeats_the_read():
    module = FakeModule()
    client = client_for(module)
    expired = zstack_error("ID.1001", "Session expired", "Invalid session")
    script = install(client, LOGIN,
                     Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503, body=expired), LOGIN2,
                     Step("GET", "/zstack/v1/ipsec/%s" % CONN, body={"inventories": [inventory()]}),
                     LOGOUT2)
    with zstack.connect(module, client=client):
        assert zstack.query(client, "ipsec/%s" % CONN)[0]["uuid"] == CONN
    script.assert_done()
    assert script.sent[3][3].headers["Authorization"] == "OAuth %s" % SESSION2


def test_each_expired_session_is_renewed_once():
    module = FakeModule()
    client = client_for(module)
    expired = zstack_error("ID.1001", "Session expired", "Invalid session")
    refused = Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503, body=expired)
    answered = Step("GET", "/zstack/v1/ipsec/%s" % CONN, body={"inventories": [inventory()]})
    login3 = Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {"uuid": SESSION3}})
    # The first session expires, then the second one: each is replaced once, and only the last is logged out.
    script = install(client, LOGIN, refused, LOGIN2, answered, refused, login3, answered,
                     Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION3))
    with zstack.connect(module, client=client):
        zstack.query(client, "ipsec/%s" % CONN)
        zstack.query(client, "ipsec/%s" % CONN)
    script.assert_done()


def test_a_request_refused_again_with_its_new_session_is_not_renewed_twice():
    module = FakeModule()
    client = client_for(module)
    expired = zstack_error("ID.1001", "Session expired", "Invalid session")
    refused = Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503, body=expired)
    script = install(client, LOGIN, refused, LOGIN2, refused, LOGOUT2)
    with pytest.raises(ApiError, match="ZStack error ID.1001"):
        with zstack.connect(module, client=client):
            zstack.query(client, "ipsec/%s" % CONN)
    script.assert_done()


class ExpiringZStack(requests.adapters.BaseAdapter):
    """A thread-safe stand-in for ZStack: logins make sessions, reads with a session that is no
    longer valid get ID.1001. The first ``together`` reads are held until all of them arrived, so
    they are in flight at once with the same (expired) session."""

    def __init__(self, together):
        super().__init__()
        self.lock = threading.Lock()
        self.valid = None
        self.logins, self.logouts, self.reads = [], [], []
        self.barrier = threading.Barrier(together, timeout=10)
        self.held = together

    def send(self, request, **kwargs):
        resp = requests.Response()
        resp.request, resp.url, resp.reason = request, request.url, ""
        resp.headers = requests.structures.CaseInsensitiveDict({"Content-Type": "application/json"})
        if request.path_url == "/zstack/v1/accounts/login":
            time.sleep(0.05)  # a slow login: plenty of time for the others to try their own
            with self.lock:
                self.valid = "%032x" % (len(self.logins) + 1)
                self.logins.append(self.valid)
            resp.status_code, body = 200, {"inventory": {"uuid": self.valid}}
        elif request.method == "DELETE":
            with self.lock:
                self.logouts.append(request.path_url.rsplit("/", 1)[1])
            resp.status_code, body = 200, None
        else:
            with self.lock:
                hold = self.held > 0
                self.held -= 1
            if hold:
                self.barrier.wait()
            used = request.headers["Authorization"].split()[1]
            with self.lock:
                self.reads.append(used)
                fresh = used == self.valid
            resp.status_code = 200 if fresh else 503
            body = {"inventories": [inventory()]} if fresh else zstack_error("ID.1001", "Session expired")
        resp._content = json.dumps(body).encode() if body is not None else b""
        return resp

    def close(self):
        pass


@pytest.mark.parametrize("readers", [2, 6])
def test_requests_in_flight_when_the_session_expires_share_one_new_login(readers):
    module = FakeModule()
    client = zstack.make_client(module, pool_size=readers)
    server = ExpiringZStack(readers)
    client.session.mount("http://", server)
    with zstack.connect(module, client=client):
        server.valid = None  # the session expires while the reads are on their way
        with ThreadPoolExecutor(readers) as pool:
            found = list(pool.map(lambda _i: zstack.query(client, "ipsec/%s" % CONN), range(readers)))
    assert all(f[0]["uuid"] == CONN for f in found)
    first, second = server.logins
    assert server.logouts == [second]  # 2 logins, 1 logout: the expired session needs none
    assert server.reads.count(first) == readers and server.reads.count(second) == readers


def test_an_expired_given_session_is_not_renewed_and_says_what_to_do():
    module = FakeModule(session_uuid=SESSION2)
    client = client_for(module)
    script = install(client, Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503,
                                  body=zstack_error("ID.1001", "Session expired", "Invalid session")))
    with pytest.raises(ApiError) as caught:
        with zstack.connect(module, client=client):
            zstack.query(client, "ipsec/%s" % CONN)
    script.assert_done()
    assert "session_uuid is invalid or has expired" in caught.value.msg


# -- errors ------------------------------------------------------------------------------------
def test_error_message_joins_description_details_and_causes():
    body = zstack_error("SYS.1006", "failed to enable the IPsec connection", cause={
        "code": "SYS.1000", "description": "An internal error happened in system",
        "details": "ipsec reload failed"})
    assert zstack.parse_error(body) == (
        "SYS.1006", "An operation failed: failed to enable the IPsec connection; caused by SYS.1000: "
                    "An internal error happened in system: ipsec reload failed", None)
    assert zstack.parse_error({"inventories": []}) == (None, None, None)
    assert zstack.parse_error("plain") == (None, None, None)


def test_plain_text_error_of_the_rest_layer_is_shown_as_text():
    module = FakeModule(session_uuid=SESSION)
    client = client_for(module)
    install(client, Step("GET", "/zstack/v1/ipsec/%s" % CONN, 400, text="missing header 'Authorization'"))
    with pytest.raises(ApiError) as caught:
        zstack.query(client, "ipsec/%s" % CONN)
    assert caught.value.msg == ("GET /zstack/v1/ipsec/%s: HTTP 400 Bad Request, body: "
                                "\"missing header 'Authorization'\"" % CONN)


def test_a_503_with_a_zstack_error_is_final_but_a_proxy_503_is_retried():
    module = FakeModule(session_uuid=SESSION)
    client = client_for(module)
    clock = client.clock
    script = install(client, Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503, text="<html>busy</html>"),
                     Step("GET", "/zstack/v1/ipsec/%s" % CONN, 503, body=zstack_error("SYS.1007", "bad")))
    with pytest.raises(ApiError, match="ZStack error SYS.1007"):
        zstack.query(client, "ipsec/%s" % CONN)
    script.assert_done()
    assert len(clock.sleeps) == 1


# -- queries -----------------------------------------------------------------------------------
def test_query_sends_conditions_as_q_and_returns_inventories():
    module = FakeModule(session_uuid=SESSION)
    client = client_for(module)
    script = install(client, Step("GET", "/zstack/v1/ipsec?q=name%3Ddc+to+branch&q=state%3DEnabled",
                                  body={"inventories": [inventory()], "total": 1}))
    assert zstack.query(client, "ipsec", ["name=dc to branch", "state=Enabled"]) == [inventory()]
    script.assert_done()


# -- asynchronous jobs ----------------------------------------------------------------------
def test_202_is_followed_on_the_users_base_url_until_200(jobs):
    module = FakeModule(session_uuid=SESSION)
    client = client_for(module)
    clock = client.clock
    script = install(client, Step("PUT", ACTION, 202, body=location(JOB)),
                     job_step(), job_step(text=""), job_step(status=200, body={"inventory": inventory("Enabled")}))
    call, result = follow(client, body={"changeIPSecConnectionState": {"stateEvent": "enable"},
                                        "systemTags": ["a::b"], "userTags": ["change:42"]})
    script.assert_done()
    put = script.sent[0][3]
    assert put.headers["X-Job-UUID"] == JOB and len(JOB) == 32
    assert json.loads(put.body) == {"changeIPSecConnectionState": {"stateEvent": "enable"},
                                    "systemTags": ["a::b"], "userTags": ["change:42"]}
    assert all(url.startswith(BASE + "/zstack/v1/api-jobs/") for url in [sent[1] for sent in script.sent[1:]])
    assert call.job_uuid == JOB and result.polls == 3
    assert [h["state"] for h in result.history] == ["processing", "succeeded"]
    assert result.obj == dict(inventory("Enabled"), authKey="********")
    assert clock.sleeps[0] == pytest.approx(0.4)


def test_the_job_uuid_of_the_location_is_followed_when_it_differs(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, 202, body=location(JOB2, "http://localhost:8989")),
                     job_step(JOB2, status=200, body={"inventory": inventory("Enabled")}))
    call = follow(client)[0]
    script.assert_done()
    assert call.job_uuid == JOB2


def test_an_immediate_200_is_the_result_without_polling(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, 200, body={"inventory": inventory("Enabled")}))
    call, result = follow(client)
    script.assert_done()
    assert result.polls == 0 and result.obj["state"] == "Enabled" and result.obj["authKey"] == "********"
    assert result.history == [{"state": "succeeded", "elapsed": 0.0}]


def test_wait_false_returns_once_the_call_is_accepted(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, 202, body=location(JOB)))
    call, result = follow(client, wait=False)
    script.assert_done()
    assert call.job_uuid == JOB and result.polls == 0 and result.history[0]["state"] == "accepted"


def test_a_failed_job_fails_with_its_code_error_body_and_job_uuid(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    error = zstack_error("SYS.1006", "failed to enable", cause={"code": "SYS.1000", "description": "internal",
                                                                "details": "ipsec reload failed"})
    script = install(client, Step("PUT", ACTION, 202, body=location(JOB)), job_step(),
                     job_step(status=503, body=error))
    with pytest.raises(WaitFailed) as caught:
        follow(client)
    script.assert_done()  # a failed job is not polled again
    err = caught.value
    assert err.msg == ("ZStack job %s (IPsec connection 'dc-to-branch-01' (%s) to be Enabled) failed: ZStack "
                       "error SYS.1006: An operation failed: failed to enable; caused by SYS.1000: internal: "
                       "ipsec reload failed" % (JOB, CONN))
    kwargs = err.to_fail_kwargs()
    assert kwargs["job_uuid"] == JOB and kwargs["error"] == error and kwargs["status_code"] == 503
    assert kwargs["connection"]["authKey"] == "********" and kwargs["polls"] == 2


def test_retry_after_on_a_running_job_is_honoured(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    clock = client.clock
    install(client, Step("PUT", ACTION, 202, body=location(JOB)), job_step(headers={"Retry-After": "3"}),
            job_step(status=200, body={"inventory": inventory("Enabled")}))
    follow(client)
    assert clock.sleeps == [3.0]


def test_timeout_names_the_job_and_returns_the_connection(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    install(client, Step("PUT", ACTION, 202, body=location(JOB)), *[job_step()] * 8)
    with pytest.raises(WaitTimeout) as caught:
        follow(client, timeout=3)
    err = caught.value
    assert err.msg.startswith("Timed out after 3 s waiting for ZStack job %s (IPsec connection" % JOB)
    assert "last state: processing (ZStack job %s is still running)" % JOB in err.msg
    assert err.context["job_uuid"] == JOB and err.context["connection"]["state"] == "Disabled"


def test_a_lost_reply_is_followed_by_the_job_uuid_sent_and_never_resent(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, raises=requests.exceptions.ReadTimeout("read timed out")),
                     job_step(), job_step(status=200, body={"inventory": inventory("Enabled")}))
    call, result = follow(client)
    script.assert_done()
    assert methods(script) == ["PUT", "GET", "GET"]
    assert result.obj["state"] == "Enabled"
    assert call.lost and "The reply to PUT %s was lost" % ACTION in call.warnings[0]


def test_a_lost_call_that_never_registered_fails_after_the_grace_without_resending(jobs):
    client = client_for(FakeModule(session_uuid=SESSION, timeout=5))
    clock = client.clock
    gone = job_step(status=404, text="the job has been expired")
    script = install(client, Step("PUT", ACTION, raises=requests.exceptions.ConnectionError("Connection reset")),
                     *[gone] * 30)
    with pytest.raises(WaitFailed) as caught:
        follow(client, settled=lambda: None)
    assert caught.value.msg == (
        "ZStack job %s (IPsec connection 'dc-to-branch-01' (%s) to be Enabled) was never registered: the reply "
        "to the call was lost and ZStack still did not know the job 5 s later, so the change was not made. "
        "Nothing was sent again: run the task again." % (JOB, CONN))
    assert methods(script).count("PUT") == 1
    assert clock() - 1000.0 >= 5  # kept polling while the lost call could still be in flight
    assert [h["state"] for h in caught.value.context["history"]] == ["not_registered", "unknown"]


def test_a_refused_call_is_an_error_not_a_lost_reply(jobs):
    client = client_for(FakeModule(session_uuid=SESSION, retries=0))
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    install(client, Step("PUT", ACTION, raises=refused))
    with pytest.raises(TransportError, match="connection refused"):
        follow(client)


def test_an_expired_job_with_the_change_in_place_is_success_with_a_warning(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    install(client, Step("PUT", ACTION, 202, body=location(JOB)), job_step(),
            job_step(status=404, text="the job has been expired"))
    now = zstack.masked(inventory("Enabled"))
    call, result = follow(client, settled=lambda: now)
    assert result.obj is now
    assert "no longer knows job %s (HTTP 404: 'the job has been expired')" % JOB in call.warnings[0]


def test_an_expired_job_without_the_change_is_a_clear_failure(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    install(client, Step("PUT", ACTION, 202, body=location(JOB)), job_step(status=404, text="the job has been expired"))
    with pytest.raises(WaitFailed) as caught:
        follow(client)
    assert caught.value.msg == (
        "ZStack job %s (IPsec connection 'dc-to-branch-01' (%s) to be Enabled) is no longer known to ZStack "
        "(HTTP 404: 'the job has been expired'; finished jobs expire) and the change is not in place." % (JOB, CONN))


def test_a_proxy_error_while_polling_does_not_end_the_wait(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, 202, body=location(JOB)),
                     job_step(status=503, text="<html><h1>503 Service Unavailable</h1></html>"),
                     job_step(status=200, body={"inventory": inventory("Enabled")}))
    result = follow(client)[1]
    script.assert_done()
    assert result.polls == 2


def test_a_job_refused_for_an_expired_session_is_resent_once_after_a_new_login(jobs):
    module = FakeModule()
    client = client_for(module)
    expired = zstack_error("ID.1001", "Session expired", "Invalid session")
    script = install(client, LOGIN, Step("PUT", ACTION, 202, body=location(JOB)),
                     job_step(status=503, body=expired), LOGIN2,
                     job_step(status=503, body=expired),  # the stored failure: the job never ran
                     Step("PUT", ACTION, 202, body=location(JOB2)),
                     job_step(JOB2, status=200, body={"inventory": inventory("Enabled")}), LOGOUT2)
    settled_calls = []
    with zstack.connect(module, client=client):
        call, result = follow(client, settled=lambda: settled_calls.append(1))
    script.assert_done()
    puts = [sent[3] for sent in script.sent if sent[0] == "PUT" and sent[3].path_url == ACTION]
    assert [p.headers["X-Job-UUID"] for p in puts] == [JOB, JOB2]
    assert puts[1].headers["Authorization"] == "OAuth %s" % SESSION2
    assert settled_calls == [1]  # looked before sending again
    assert call.job_uuid == JOB2 and result.obj["state"] == "Enabled"
    assert [h["state"] for h in result.history] == ["session_renewed", "resent", "succeeded"]


def test_a_job_that_runs_after_all_is_not_resent_after_a_new_login(jobs):
    module = FakeModule()
    client = client_for(module)
    expired = zstack_error("ID.1001", "Session expired", "Invalid session")
    script = install(client, LOGIN, Step("PUT", ACTION, 202, body=location(JOB)),
                     job_step(status=503, body=expired), LOGIN2, job_step(),
                     job_step(status=200, body={"inventory": inventory("Enabled")}), LOGOUT2)
    with zstack.connect(module, client=client):
        call, result = follow(client)
    script.assert_done()
    assert call.job_uuid == JOB and result.obj["state"] == "Enabled"


def test_a_job_refused_for_a_given_session_fails_and_says_what_to_do(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    install(client, Step("PUT", ACTION, 202, body=location(JOB)),
            job_step(status=503, body=zstack_error("ID.1001", "Session expired", "Invalid session")))
    with zstack.connect(FakeModule(session_uuid=SESSION), client=client):
        with pytest.raises(WaitFailed) as caught:
            follow(client)
    assert "session_uuid is invalid or has expired" in caught.value.msg
    assert "ZStack error ID.1001: Invalid session: Session expired" in caught.value.msg


# -- helpers and input ------------------------------------------------------------------------
@pytest.mark.parametrize("location_value, expected", [
    ("http://172.20.11.5:8080/zstack/v1/api-jobs/%s" % JOB, JOB),
    ("http://localhost:8989/v1/api-jobs/%s" % JOB, JOB),
    ("https://proxy.example.com/zs/zstack/v1/api-jobs/%s/" % JOB, JOB),
    ("http://zstack/v1/vm-instances/%s" % JOB, None),
    ("http://zstack/v1/api-jobs/not-a-uuid", None),
    (None, None),
])
def test_job_uuid_from_location(location_value, expected):
    assert zstack.job_uuid_from(location_value) == expected


def test_masked_hides_every_auth_key_and_keeps_the_rest():
    inv = inventory(peerCidrs=[{"cidr": "10.0.0.0/16"}], nested={"authKey": SECRET})
    shown = zstack.masked(inv)
    assert SECRET not in json.dumps(shown)
    assert shown["authKey"] == "********" and shown["name"] == inv["name"]
    assert inv["authKey"] == SECRET  # a copy


def test_protect_adds_long_secrets_to_no_log_values():
    module = FakeModule()
    zstack.protect(module, {"inventories": [inventory(), inventory(authKey="abc")]})
    assert module.no_log_values == {SECRET}


@pytest.mark.parametrize("host, expected", [
    ("zstack.example.com", "http://zstack.example.com:8080"),
    ("zstack.example.com:9090", "http://zstack.example.com:9090"),
    ("https://zstack.example.com", "https://zstack.example.com"),
    ("https://proxy.example.com/zs", "https://proxy.example.com/zs"),
])
def test_host_defaults_to_http_on_port_8080(host, expected):
    assert client_for(FakeModule(host=host)).base == expected


@pytest.mark.parametrize("params, fragment", [
    ({"host": "http://zstack.example.com:8080/zstack/v1"}, "host: must not include the API path /zstack/v1"),
    ({"session_uuid": "not-a-session"}, "session_uuid: must be a ZStack UUID (32 hexadecimal characters"),
    ({"password": None}, "password: is required (or session_uuid)"),
])
def test_bad_connection_options_are_refused_before_any_request(params, fragment):
    with pytest.raises(InputError) as caught:
        zstack.make_client(FakeModule(**params))
    assert fragment in caught.value.msg
    assert "not-a-session" not in caught.value.msg


@pytest.mark.parametrize("name, ok", [("dc-to-branch-01", True), ("a b_c%", True), ("a!=b", False),
                                      ("x~=y", False), ("", False)])
def test_names_zstack_queries_cannot_express_are_refused(name, ok):
    if ok:
        zstack.check_query_value({"name": name}, "name")
    else:
        with pytest.raises(InputError, match="^name: "):
            zstack.check_query_value({"name": name}, "name")


def test_wait_false_after_a_lost_reply_follows_the_job_until_zstack_knows_it(jobs):
    client = client_for(FakeModule(session_uuid=SESSION))
    script = install(client, Step("PUT", ACTION, raises=requests.exceptions.ReadTimeout("read timed out")),
                     job_step(status=404, text="the job has been expired"), job_step())
    call, result = follow(client, wait=False)
    script.assert_done()
    assert call.job_uuid == JOB and result.polls == 2
    assert [h["state"] for h in result.history] == ["not_registered", "processing"]


# -- queries: pages and ?= lists ---------------------------------------------------------------
def test_query_all_reads_every_page_and_query_in_uses_one_list_per_chunk(monkeypatch):
    from .scripted import Step, install
    from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zs

    class M:
        params = dict(host="zstack.example.com", username=None, password=None, session_uuid="0" * 32,
                      validate_certs=True, ca_path=None, timeout=30, retries=0)
        _name = "hybridcloud.ops.ipsec_connection_info"
        no_log_values = set()
    client = zs.make_client(M())
    rows = [{"uuid": "%032x" % i} for i in range(5)]
    script = install(client,
                     Step("GET", "/zstack/v1/ipsec?limit=2&start=0&replyWithCount=true&q=state%3DEnabled",
                          body={"inventories": rows[:2], "total": 5}),
                     Step("GET", "/zstack/v1/ipsec?limit=2&start=2&replyWithCount=true&q=state%3DEnabled",
                          body={"inventories": rows[2:4], "total": 5}),
                     Step("GET", "/zstack/v1/ipsec?limit=2&start=4&replyWithCount=true&q=state%3DEnabled",
                          body={"inventories": rows[4:], "total": 5}))
    assert zs.query_all(client, "ipsec", ["state=Enabled"], page_size=2) == rows
    script.assert_done()
    monkeypatch.setattr(zs, "LIST_CHUNK", 2)
    script = install(client,
                     Step("GET", "/zstack/v1/ipsec?limit=1000&start=0&replyWithCount=true&q=name%3F%3Da%2Cb",
                          body={"inventories": [], "total": 0}),
                     Step("GET", "/zstack/v1/ipsec?limit=1000&start=0&replyWithCount=true&q=name%3F%3Dc",
                          body={"inventories": [], "total": 0}),
                     Step("GET", "/zstack/v1/ipsec?limit=1000&start=0&replyWithCount=true&q=name%3Dd%2Ce",
                          body={"inventories": [], "total": 0}))
    assert zs.query_in(client, "ipsec", "name", ["a", "b", "a", "c", "d,e"]) == []
    script.assert_done()
