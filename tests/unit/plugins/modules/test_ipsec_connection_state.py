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


# -- connections: many in one run ------------------------------------------------------------------
THIRD = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
JOB2 = "aa25b1a26f4e474b8c59306081920ff2"


def many(items, **params):
    params.setdefault("max_concurrent", 1)
    return FakeModule(uuid=None, state=None, connections=items, **params)


def query_step(field, values, rows):
    path = "/zstack/v1/ipsec?limit=1000&start=0&replyWithCount=true&q=%s%%3F%%3D%s" % (
        field, "%2C".join(values))
    return Step("GET", path, body={"inventories": rows, "total": len(rows)})


def test_many_looks_up_in_two_queries_and_puts_only_where_needed(monkeypatch):
    jobs = iter([JOB, JOB2])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": None, "name": "branch-2", "state": "enabled"},
                   {"uuid": THIRD, "name": None, "state": "disabled"}], diff=True)
    result, script = run(
        module,
        query_step("uuid", [CONN, THIRD], [inventory(THIRD, name="branch-3", state="Enabled"), inventory()]),
        query_step("name", ["branch-2"], [inventory(OTHER, name="branch-2", state="Enabled")]),
        # Both calls go out first (side by side), then both jobs are read.
        Step("PUT", "/zstack/v1/ipsec/%s/actions" % CONN, 202, body={"location": "x/zstack/v1/api-jobs/%s" % JOB}),
        Step("PUT", "/zstack/v1/ipsec/%s/actions" % THIRD, 202, body={"location": "x/zstack/v1/api-jobs/%s" % JOB2}),
        Step("GET", "/zstack/v1/api-jobs/%s" % JOB, 200, body={"inventory": inventory(state="Enabled")}),
        Step("GET", "/zstack/v1/api-jobs/%s" % JOB2, 200,
             body={"inventory": inventory(THIRD, name="branch-3", state="Disabled")}))
    entries = result["connections"]
    assert [e["changed"] for e in entries] == [True, False, True]
    assert [e["job_uuid"] for e in entries] == [JOB, None, JOB2]
    assert [e["connection"]["state"] for e in entries] == ["Enabled", "Enabled", "Disabled"]
    assert SECRET not in json.dumps(result)
    assert result["changed"] is True
    assert result["diff"]["before"]["IPsec connection 'branch-3' (%s)" % THIRD] == "Enabled"
    assert result["diff"]["after"]["IPsec connection 'branch-3' (%s)" % THIRD] == "Disabled"


def test_many_a_failed_job_is_reported_and_the_next_is_still_followed(monkeypatch):
    jobs = iter([JOB, JOB2])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": THIRD, "name": None, "state": "enabled"}])
    failure = {"error": {"code": "SYS.1006", "description": "An operation failed", "details": "boom"}}
    with pytest.raises(HybridCloudError) as caught:
        run(module,
            query_step("uuid", [CONN, THIRD], [inventory(), inventory(THIRD, name="b3")]),
            Step("PUT", "/zstack/v1/ipsec/%s/actions" % CONN, 202, body={"location": "x/zstack/v1/api-jobs/%s" % JOB}),
            Step("PUT", "/zstack/v1/ipsec/%s/actions" % THIRD, 202, body={"location": "x/zstack/v1/api-jobs/%s" % JOB2}),
            Step("GET", "/zstack/v1/api-jobs/%s" % JOB, 503, body=failure),
            Step("GET", "/zstack/v1/api-jobs/%s" % JOB2, 200, body={"inventory": inventory(THIRD, state="Enabled")}))
    entries = caught.value.context["connections"]
    assert entries[0]["failed"] is True and "SYS.1006" in entries[0]["msg"]
    assert entries[1]["failed"] is False and entries[1]["connection"]["state"] == "Enabled"
    assert caught.value.msg.startswith("1 of 2 IPsec connections failed: %s: " % CONN)


def test_many_check_mode_sends_no_put():
    module = many([{"uuid": CONN, "name": None, "state": "enabled"}], check_mode=True)
    result, script = run(module, query_step("uuid", [CONN], [inventory()]))
    assert result["connections"][0]["changed"] is True and len(script.sent) == 1


@pytest.mark.parametrize("params, fragment", [
    ({"connections": []}, "connections: must list at least one connection"),
    ({"connections": [{"uuid": CONN, "name": "x", "state": "enabled"}]}, "connections[0]: needs exactly one"),
    ({"connections": [{"uuid": CONN, "state": "enabled"}, {"uuid": CONN.upper(), "state": "enabled"}]},
     "connections[1]: lists uuid"),
    ({"connections": [{"uuid": CONN, "state": "enabled"}], "max_concurrent": 0}, "max_concurrent: must be 1 or more"),
    ({"connections": [{"uuid": CONN, "state": "enabled"}], "state": "enabled"}, "cannot be combined with state"),
])
def test_many_validate_names_the_option(params, fragment):
    params.setdefault("max_concurrent", 10)
    with pytest.raises(InputError) as caught:
        module_under_test.validate(FakeModule(uuid=None, state=params.pop("state", None), **params).params)
    assert fragment in caught.value.msg


# -- many: one connection named twice, the shared deadline, refused calls, broken polls ------------
JOB3 = "bb35b1a26f4e474b8c59306081920ff3"
JOB4 = "cc45b1a26f4e474b8c59306081920ff4"
EXPIRED = {"error": {"code": "ID.1001", "description": "Invalid session", "details": "Session expired"}}
LOGIN = Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {"uuid": SESSION}})
SESSION2 = "5c7a3b1f0e2d4c6b8a9f1e0d2c3b4a59"
LOGIN2 = Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {"uuid": SESSION2}})


def put_step(uuid, job, status=202, **kwargs):
    if status == 202 and "body" not in kwargs:
        kwargs["body"] = {"location": "x/zstack/v1/api-jobs/%s" % job}
    return Step("PUT", "/zstack/v1/ipsec/%s/actions" % uuid, status, **kwargs)


def job_step(job, status=200, **kwargs):
    return Step("GET", "/zstack/v1/api-jobs/%s" % job, status, **kwargs)


def test_many_one_connection_listed_by_uuid_and_by_name_is_refused_before_any_put():
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": None, "name": "branch-2", "state": "enabled"},
                   {"uuid": None, "name": "dc-to-branch-01", "state": "disabled"}])
    with pytest.raises(InputError) as caught:
        run(module, query_step("uuid", [CONN], [inventory()]),
            query_step("name", ["branch-2", "dc-to-branch-01"],
                       [inventory(OTHER, name="branch-2"), inventory()]))
    assert caught.value.msg == (
        "connections[2]: names the same IPsec connection as connections[0] ('dc-to-branch-01', uuid %s); "
        "list each connection once. Nothing was sent." % CONN)


def test_many_an_upper_case_uuid_is_looked_up_in_zstack_s_lower_case():
    module = many([{"uuid": CONN.upper(), "name": None, "state": "disabled"}])
    result = run(module, query_step("uuid", [CONN], [inventory()]))[0]
    assert result["connections"][0]["connection"]["uuid"] == CONN and result["changed"] is False


def test_one_upper_case_uuid_is_read_in_lower_case():
    result = run(FakeModule(uuid=CONN.upper(), state="disabled"), read())[0]
    assert result["changed"] is False


def test_max_concurrent_below_one_is_refused_also_for_one_connection():
    with pytest.raises(InputError, match="max_concurrent: must be 1 or more, got 0"):
        module_under_test.validate(FakeModule(max_concurrent=0).params)


def test_the_http_pool_holds_as_many_connections_as_may_be_in_flight():
    module = many([{"uuid": CONN, "name": None, "state": "enabled"}], max_concurrent=25)
    client = zstack.make_client(module)
    assert client.session.get_adapter("http://zstack.example.com")._pool_maxsize == 25
    assert zstack.make_client(FakeModule()).session.get_adapter("http://x")._pool_maxsize == 10


class SlowScript:
    """Moves the fake clock by ``seconds`` during each state-change PUT (a slow appliance)."""

    def __init__(self, clock, seconds):
        self.clock, self.seconds = clock, seconds

    def wrap(self, script):
        send = script.send

        def slow(request, **kwargs):
            if request.method == "PUT" and request.path_url.endswith("/actions"):
                self.clock.advance(self.seconds)
            return send(request, **kwargs)
        script.send = slow
        return script


def run_slow(module, seconds, *steps):
    clock = FakeClock()
    client = zstack.make_client(module, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    script = SlowScript(clock, seconds).wrap(install(client, *steps))
    with zstack.connect(module, client=client):
        try:
            module_under_test.run(module, client)
        except HybridCloudError as exc:
            script.assert_done()
            return exc
    raise AssertionError("the task should have failed")


def test_many_no_change_is_sent_once_the_shared_wait_timeout_has_passed(monkeypatch):
    jobs = iter([JOB, JOB2, JOB3])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    module = many([{"uuid": u, "name": None, "state": "enabled"} for u in (CONN, OTHER, THIRD)],
                  wait=False, wait_timeout=5)
    # Each PUT takes 3 s and one is in flight at a time: the third one's turn comes at 6 s.
    failure = run_slow(module, 3, query_step("uuid", [CONN, OTHER, THIRD],
                                             [inventory(), inventory(OTHER), inventory(THIRD)]),
                       put_step(CONN, JOB), put_step(OTHER, JOB2))
    entries = failure.context["connections"]
    assert [e["changed"] for e in entries] == [True, True, False]
    assert entries[2]["failed"] is True and entries[2]["job_uuid"] is None
    assert entries[2]["msg"].startswith("Not sent: wait_timeout had passed before its turn came")
    assert failure.msg.startswith("1 of 3 IPsec connections failed: %s: Not sent" % THIRD)


@pytest.mark.parametrize("answer", [
    dict(status=503, body={"error": {"code": "SYS.1007", "description": "One or more API argument is invalid",
                                     "details": "resource[uuid:%s, type:IPsecConnectionVO] not found" % CONN}}),
    dict(status=400, text="Invalid header[X-Job-UUID]"),
])
def test_many_a_change_zstack_refused_outright_is_not_a_change_and_carries_its_error(monkeypatch, answer):
    jobs = iter([JOB, JOB2])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": THIRD, "name": None, "state": "enabled"}])
    with pytest.raises(HybridCloudError) as caught:
        run(module, query_step("uuid", [CONN, THIRD], [inventory(), inventory(THIRD)]),
            put_step(CONN, JOB, **answer), put_step(THIRD, JOB2),
            job_step(JOB2, body={"inventory": inventory(THIRD, state="Enabled")}))
    refused, done = caught.value.context["connections"]
    assert refused["failed"] is True and refused["changed"] is False and refused["job_uuid"] is None
    assert refused["status_code"] == answer["status"]
    assert "HTTP %d" % answer["status"] in refused["msg"]
    if "body" in answer:
        assert refused["error"] == answer["body"] and refused["vendor_code"] == "SYS.1007"
    assert done["changed"] is True and done["job_uuid"] == JOB2
    assert caught.value.context["changed"] is True


def test_many_a_failed_job_is_not_a_change_and_carries_zstack_s_error(monkeypatch):
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: JOB)
    failure = {"error": {"code": "SYS.1006", "description": "An operation failed", "details": "boom"}}
    with pytest.raises(HybridCloudError) as caught:
        run(many([{"uuid": CONN, "name": None, "state": "enabled"}]),
            query_step("uuid", [CONN], [inventory()]), put_step(CONN, JOB), job_step(JOB, 503, body=failure))
    entry = caught.value.context["connections"][0]
    assert entry["changed"] is False and entry["job_uuid"] == JOB
    assert entry["status_code"] == 503 and entry["error"] == failure and entry["vendor_code"] == "SYS.1006"
    assert caught.value.context["changed"] is False


def test_many_jobs_refused_for_one_expired_session_share_one_new_login(monkeypatch):
    jobs = iter([JOB, JOB2, JOB3, JOB4])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": THIRD, "name": None, "state": "enabled"}], session_uuid=None,
                  username="admin", password="Sw0rdfish-Q7!")
    result, script = run(
        module, LOGIN,
        query_step("uuid", [CONN, THIRD], [inventory(), inventory(THIRD)]),
        put_step(CONN, JOB), put_step(THIRD, JOB2),
        job_step(JOB, 503, body=EXPIRED), LOGIN2,       # the first refusal logs in again ...
        job_step(JOB2, 503, body=EXPIRED),              # ... the second finds that done already
        job_step(JOB, 503, body=EXPIRED), read(), put_step(CONN, JOB3),
        job_step(JOB2, 503, body=EXPIRED), read(THIRD), put_step(THIRD, JOB4),
        job_step(JOB3, body={"inventory": inventory(state="Enabled")}),
        job_step(JOB4, body={"inventory": inventory(THIRD, state="Enabled")}),
        Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION2))
    assert [e["connection"]["state"] for e in result["connections"]] == ["Enabled", "Enabled"]
    assert [e["job_uuid"] for e in result["connections"]] == [JOB3, JOB4]
    logins = [s for s in script.sent if s[1].endswith("/accounts/login")]
    assert len(logins) == 2


def test_many_an_unexpected_error_in_one_item_leaves_every_other_report(monkeypatch):
    jobs = iter([JOB, JOB2])
    monkeypatch.setattr(zstack, "new_job_uuid", lambda: next(jobs))
    check = zstack.AsyncCall.check

    def broken(call):
        if call.job_uuid == JOB:
            raise ValueError("a parser bug")
        return check(call)
    monkeypatch.setattr(zstack.AsyncCall, "check", broken)
    module = many([{"uuid": CONN, "name": None, "state": "enabled"},
                   {"uuid": THIRD, "name": None, "state": "enabled"}])
    with pytest.raises(HybridCloudError) as caught:
        run(module, query_step("uuid", [CONN, THIRD], [inventory(), inventory(THIRD)]),
            put_step(CONN, JOB), put_step(THIRD, JOB2),
            job_step(JOB2, body={"inventory": inventory(THIRD, state="Enabled")}))
    first, second = caught.value.context["connections"]
    assert first["failed"] is True and "unexpected ValueError" in first["msg"] and "a parser bug" in first["msg"]
    assert first["job_uuid"] == JOB and first["changed"] is True  # sent and accepted: it may well happen
    assert second["failed"] is False and second["connection"]["state"] == "Enabled"
    assert "Traceback" in caught.value.context["exception"]  # shown at -vvv only
    assert "Traceback" not in first["msg"] and "exception" not in first
