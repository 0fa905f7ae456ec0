"""ipsec_connection_state against the simulated ZStack management node, over plain HTTP."""

import re

import pytest

from .harness import assert_refused_before_any_request

MODULE = "ipsec_connection_state"
ACTION_PATH = r"^/zstack/v1/ipsec/[0-9a-f]{32}/actions$"
JOB_PATH = r"^/zstack/v1/api-jobs/"
LOGIN_PATH = r"^/zstack/v1/accounts/login$"
LOGOUT_PATH = r"^/zstack/v1/accounts/sessions/"


@pytest.fixture
def zs(simulator):
    return simulator.appliance("zstack")


def connection(zs):
    return {"host": zs["host"], "username": zs["username"], "password": zs["password"]}


def new_connection(sim, **options):
    return sim.command("zstack", "create_connection", **options)


def state_of(sim, made):
    return sim.command("zstack", "connection", uuid=made["uuid"])["state"]


def puts(sim, since, made=None):
    """The state-change calls sent since ``since`` (to one connection when ``made`` is given)."""
    return [e for e in sim.log(since=since, appliance="zstack", method="PUT", path=ACTION_PATH)
            if made is None or made["uuid"] in e["path"]]


def requests_of(sim, since, path=None, method=None):
    return sim.log(since=since, appliance="zstack", path=path, method=method)


def sessions_opened_and_closed(sim, since):
    """(logins answered 200, logouts answered 200) since ``since``."""
    logins = [e for e in requests_of(sim, since, LOGIN_PATH) if e["status"] == 200]
    logouts = [e for e in requests_of(sim, since, LOGOUT_PATH, "DELETE") if e["status"] == 200]
    return logins, logouts


# -- changing the state ---------------------------------------------------------------------
def test_enable_follows_the_job_and_returns_the_changed_connection(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=1.5)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is True
    assert result["connection"]["uuid"] == made["uuid"] and result["connection"]["state"] == "Enabled"
    assert result["connection"]["authKey"] == "********"
    assert re.match(r"^[0-9a-f]{32}$", result["job_uuid"])
    assert [h["state"] for h in result["history"]] == ["processing", "succeeded"]
    assert 1.0 <= result["elapsed"] < 10
    assert state_of(simulator, made) == "Enabled"
    assert len(puts(simulator, mark, made)) == 1
    polls = requests_of(simulator, mark, JOB_PATH)
    assert len(polls) == result["polls"] and all(result["job_uuid"] in e["path"] for e in polls)
    assert [e["status"] for e in polls][-1] == 200


def test_disable_changes_an_enabled_connection(ansible, simulator, zs):
    made = new_connection(simulator, state="Enabled", job_seconds=0.5)
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="disabled"))
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["connection"]["state"] == "Disabled"
    assert state_of(simulator, made) == "Disabled"


def test_a_second_run_is_unchanged_and_sends_no_put(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.3)
    first = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert first.rc == 0 and first.last["changed"] is True, first
    mark = simulator.mark()
    second = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert second.rc == 0, second
    assert second.last["changed"] is False and second.last["job_uuid"] is None
    assert second.last["polls"] == 0 and second.last["connection"]["state"] == "Enabled"
    assert puts(simulator, mark) == []
    assert requests_of(simulator, mark, JOB_PATH) == []


def test_lookup_by_name(ansible, simulator, zs):
    made = new_connection(simulator, state="Enabled", job_seconds=0.3)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), name=made["name"], state="disabled"))
    assert run.rc == 0, run
    assert run.last["connection"]["uuid"] == made["uuid"] and run.last["connection"]["state"] == "Disabled"
    lookups = requests_of(simulator, mark, r"^/zstack/v1/ipsec$", "GET")
    assert [e["query"] for e in lookups] == ["q=name%3D" + made["name"]]
    assert len(puts(simulator, mark, made)) == 1


def test_an_immediate_200_is_the_result_without_polling(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", immediate=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    assert run.last["connection"]["state"] == "Enabled" and run.last["polls"] == 0
    assert requests_of(simulator, mark, JOB_PATH) == []


def test_wait_false_returns_once_zstack_accepted_the_change(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=3)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled", wait=False))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is True and result["polls"] == 0
    assert result["connection"]["state"] == "Disabled"  # as it was: the job is still running
    assert [h["state"] for h in result["history"]] == ["accepted"]
    assert requests_of(simulator, mark, JOB_PATH) == []
    jobs = simulator.command("zstack", "jobs", connection_uuid=made["uuid"])["jobs"]
    assert [j["uuid"] for j in jobs] == [result["job_uuid"]]


# -- check and diff mode ----------------------------------------------------------------------
def test_check_mode_predicts_the_change_and_sends_no_put(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled")
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"), check=True)
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["job_uuid"] is None
    assert run.last["connection"]["state"] == "Enabled" and run.last["connection"]["authKey"] == "********"
    assert puts(simulator, mark) == []
    assert state_of(simulator, made) == "Disabled"


def test_diff_mode_shows_the_state_before_and_after(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.3)
    run = ansible.playbook("zstack_module_defaults.yml", extra_vars={
        "zstack": connection(zs), "connection_name": made["name"]}, args=["--diff"])
    assert run.rc == 0, run
    preview = run.task("Preview enabling the connection")
    assert preview["diff"]["before"] == {"state": "Disabled"}
    assert preview["diff"]["after"] == {"state": "Enabled"}
    assert "-    \"state\": \"Disabled\"" in run.stdout and "+    \"state\": \"Enabled\"" in run.stdout


# -- playbook features -------------------------------------------------------------------------
def test_module_defaults_group_check_mode_second_run_and_async(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.5)
    mark = simulator.mark()
    run = ansible.playbook("zstack_module_defaults.yml", extra_vars={
        "zstack": connection(zs), "connection_name": made["name"]})
    assert run.rc == 0, run
    assert run.task("Enable it again")["changed"] is False
    assert run.task("Disable it as an async task")["connection"]["state"] == "Disabled"
    assert len(puts(simulator, mark, made)) == 2  # enable, disable: the preview and the rerun sent none
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 4


def test_environment_variables_and_a_given_session(ansible, simulator, zs):
    made = new_connection(simulator, state="Enabled", job_seconds=0.3)
    session = simulator.command("zstack", "login_session")["session_uuid"]
    env = {"ZSTACK_HOST": zs["host"], "ZSTACK_USERNAME": zs["username"], "ZSTACK_PASSWORD": zs["password"]}
    mark = simulator.mark()
    run = ansible.playbook("zstack_environment.yml", env=env, extra_vars={
        "connection_uuid": made["uuid"], "session_uuid": session})
    assert run.rc == 0, run
    assert run.task("Disable the connection with credentials from the environment")["changed"] is True
    assert run.task("Enable it with a session opened elsewhere")["connection"]["state"] == "Enabled"
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 1  # the given session was neither opened nor closed
    assert session in simulator.command("zstack", "sessions")["open"]
    assert session not in run.output


def test_https_with_the_simulator_ca(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.3)
    run = ansible.module(MODULE, dict(connection(zs), host=zs["urls"]["https"], ca_path=simulator.config["ca_path"],
                                      uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    assert run.last["connection"]["state"] == "Enabled"


# -- failures --------------------------------------------------------------------------------
def test_a_failed_job_fails_with_zstack_code_and_message_and_logs_out(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.5, fail=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith("ZStack job %s (IPsec connection %r (%s) to be Enabled) failed: ZStack error "
                                    "SYS.1006: An operation failed: failed to enable the IPsec connection"
                                    % (result["job_uuid"], made["name"], made["uuid"]))
    assert "caused by SYS.1000" in result["msg"] and "ipsec reload failed" in result["msg"]
    assert result["error"]["error"]["code"] == "SYS.1006" and result["status_code"] == 503
    assert result["connection"]["state"] == "Disabled" and result["connection"]["authKey"] == "********"
    assert state_of(simulator, made) == "Disabled"
    assert len(puts(simulator, mark, made)) == 1  # a failed job is not tried again
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 1
    assert "Traceback" not in run.output


def test_unknown_uuid_is_a_clear_failure_without_a_put(ansible, simulator, zs):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid="0123456789abcdef0123456789abcdef", state="enabled"))
    assert run.rc != 0
    assert run.last["msg"] == "ZStack has no IPsec connection with uuid 0123456789abcdef0123456789abcdef"
    assert puts(simulator, mark) == []
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 1


def test_unknown_name_is_a_clear_failure(ansible, simulator, zs):
    run = ansible.module(MODULE, dict(connection(zs), name="no-such-tunnel", state="enabled"))
    assert run.rc != 0
    assert run.last["msg"] == "ZStack has no IPsec connection named 'no-such-tunnel'"


def test_several_connections_with_the_name_is_a_clear_failure_without_a_put(ansible, simulator, zs):
    name = zs["samples"]["duplicate_name"]
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), name=name, state="enabled"))
    assert run.rc != 0
    assert run.last["msg"].startswith("2 ZStack IPsec connections are named %r (uuids: " % name)
    assert run.last["msg"].endswith("set uuid to choose one")
    assert sorted(run.last["uuids"]) == sorted(zs["samples"]["duplicate_uuids"])
    assert puts(simulator, mark) == []


def test_a_connection_that_is_not_ready_is_refused_before_any_put(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", status="Disconnected")
    mark = simulator.mark()
    for check in (False, True):
        run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"), check=check)
        assert run.rc != 0
        assert run.last["msg"] == (
            "ZStack cannot change the state of IPsec connection %r (%s) to Enabled: its status is Disconnected, "
            "and ZStack only changes a connection whose status is Ready. Nothing was sent."
            % (made["name"], made["uuid"]))
    assert puts(simulator, mark) == []


def test_a_connection_already_in_state_is_fine_even_when_not_ready(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", status="Disconnected")
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="disabled"))
    assert run.rc == 0, run
    assert run.last["changed"] is False


def test_wrong_password_is_a_clear_failure(ansible, simulator, zs):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), password="Not-The-Password-4711",
                                      uuid=zs["samples"]["enabled_uuid"], state="enabled"))
    assert run.rc != 0
    assert run.last["msg"] == (
        "ZStack login as 'admin' failed (check username and password): PUT /zstack/v1/accounts/login: HTTP 503 "
        "Service Unavailable, ZStack error ID.1000: Authentication error: wrong account name or password")
    assert [e["path"] for e in requests_of(simulator, mark)] == ["/zstack/v1/accounts/login"]


def test_timeout_names_the_job_and_the_last_state(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=30)
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled", wait_timeout=2))
    assert run.rc != 0
    result = run.last
    expected = ("Timed out after 2 s waiting for ZStack job %s (IPsec connection %r (%s) to be Enabled); last "
                "state: processing" % (result["job_uuid"], made["name"], made["uuid"]))
    assert result["msg"].startswith(expected)
    assert result["connection"]["state"] == "Disabled" and 1.9 <= result["elapsed"] <= 6


# -- sessions ------------------------------------------------------------------------------------
def test_the_session_is_logged_out_after_success(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.3)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    sent = requests_of(simulator, mark)
    assert sent[0]["path"] == "/zstack/v1/accounts/login"
    assert sent[-1]["method"] == "DELETE" and sent[-1]["status"] == 200
    session = sent[-1]["path"].rsplit("/", 1)[1]
    assert session in simulator.command("zstack", "sessions")["logged_out"]


def test_an_expired_session_on_the_lookup_logs_in_again_once(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.3)
    simulator.fault(appliance="zstack", kind="expire_session", method="GET", path=made["uuid"] + "$")
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    lookups = requests_of(simulator, mark, made["uuid"] + "$", "GET")
    assert [e["status"] for e in lookups] == [503, 200]
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 2 and len(logouts) == 1
    assert len(puts(simulator, mark, made)) == 1


def test_a_change_refused_for_an_expired_session_is_sent_again_once_after_a_new_login(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=1.5)
    simulator.fault(appliance="zstack", kind="expire_session", method="PUT", path=ACTION_PATH)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    assert run.rc == 0, run
    assert run.last["connection"]["state"] == "Enabled"
    states = [h["state"] for h in run.last["history"]]
    assert states[:2] == ["session_renewed", "resent"] and states[-1] == "succeeded"
    jobs = simulator.command("zstack", "jobs", connection_uuid=made["uuid"])["jobs"]
    assert [j["error_code"] for j in jobs] == ["ID.1001", None]
    assert jobs[1]["uuid"] == run.last["job_uuid"]
    assert len(puts(simulator, mark, made)) == 2
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 2 and len(logouts) == 1


def test_an_expired_given_session_fails_and_says_what_to_do(ansible, simulator, zs):
    session = simulator.command("zstack", "login_session")["session_uuid"]
    simulator.fault(appliance="zstack", kind="expire_session", method="GET", path=r"^/zstack/v1/ipsec/")
    mark = simulator.mark()
    run = ansible.module(MODULE, {"host": zs["host"], "session_uuid": session,
                                  "uuid": zs["samples"]["enabled_uuid"], "state": "enabled"})
    assert run.rc != 0
    assert "ZStack error ID.1001" in run.last["msg"]
    assert "session_uuid is invalid or has expired" in run.last["msg"]
    assert session not in run.output
    assert requests_of(simulator, mark, LOGIN_PATH) == [] and requests_of(simulator, mark, LOGOUT_PATH) == []


# -- lost replies and expired jobs --------------------------------------------------------------
def test_a_lost_reply_is_followed_by_job_uuid_and_the_put_is_not_sent_again(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.5)
    # ZStack takes 3 s to take the PUT; the module gives up on the reply after 2 s.
    simulator.fault(appliance="zstack", kind="timeout", seconds=3, method="PUT", path=made["uuid"])
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled", timeout=2))
    assert run.rc == 0, run
    assert run.last["connection"]["state"] == "Enabled"
    assert len(puts(simulator, mark, made)) == 1
    assert any("was lost" in w and run.last["job_uuid"] in w for w in run.last.get("warnings", []))
    polled = {e["path"].rsplit("/", 1)[1] for e in requests_of(simulator, mark, JOB_PATH)}
    assert polled == {run.last["job_uuid"]}


def test_a_call_that_never_reached_zstack_fails_clearly_and_is_not_sent_again(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.5)
    simulator.fault(appliance="zstack", kind="reset", method="PUT", path=made["uuid"])
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled", timeout=2))
    assert run.rc != 0
    assert run.last["msg"] == (
        "ZStack job %s (IPsec connection %r (%s) to be Enabled) was never registered: the reply to the call was "
        "lost and ZStack still did not know the job 2 s later, so the change was not made. Nothing was sent "
        "again: run the task again." % (run.last["job_uuid"], made["name"], made["uuid"]))
    assert len(puts(simulator, mark, made)) == 1
    assert state_of(simulator, made) == "Disabled"


def test_an_expired_job_is_settled_by_reading_the_connection(ansible, simulator, zs):
    made = new_connection(simulator, state="Disabled", job_seconds=0.5)
    simulator.command("zstack", "configure", job_ttl=0)
    try:
        run = ansible.module(MODULE, dict(connection(zs), uuid=made["uuid"], state="enabled"))
    finally:
        simulator.command("zstack", "configure", job_ttl=172800)
    assert run.rc == 0, run
    assert run.last["connection"]["state"] == "Enabled"
    assert any("no longer knows job" in w for w in run.last.get("warnings", []))


# -- secrets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["change", "unchanged", "check", "job_failure", "bad_password"])
def test_auth_key_password_and_session_never_appear_even_with_vvvv(ansible, simulator, zs, case):
    made = new_connection(simulator, state="Enabled" if case == "unchanged" else "Disabled",
                          job_seconds=0.3, fail=case == "job_failure")
    args = dict(connection(zs), uuid=made["uuid"], state="enabled")
    if case == "bad_password":
        args["password"] = "Wrong-%s" % zs["password"]
    mark = simulator.mark()
    run = ansible.module(MODULE, args, verbosity=4, check=case == "check")
    assert (run.rc == 0) == (case in ("change", "unchanged", "check")), run
    assert made["auth_key"] not in run.output
    assert args["password"] not in run.output
    sessions = [e["path"].rsplit("/", 1)[1] for e in requests_of(simulator, mark, LOGOUT_PATH)]
    assert all(s not in run.output for s in sessions)
    if case != "bad_password":
        assert sessions and "********" in run.output


# -- bad input: a clear message naming the option, and no request sent ------------------------
@pytest.mark.parametrize("override, fragment", [
    ({"uuid": "76424bb2-5d3a-37c9-961f-ff1116bc06da"}, "uuid: must be a ZStack UUID (32 hexadecimal characters"),
    ({"uuid": "../accounts"}, "uuid: must be a ZStack UUID"),
    ({"name": "dc-to-branch-01"}, "parameters are mutually exclusive: uuid|name"),
    ({"uuid": None}, "one of the following is required: uuid, name"),
    ({"state": "on"}, "value of state must be one of: enabled, disabled, got: on"),
    ({"state": None}, "state: is required with uuid or name"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"wait_sleep": 0}, "wait_sleep: must be from 1 to 3600, got 0"),
    ({"timeout": 0}, "timeout: must be from 1 to 3600, got 0"),
    ({"host": "http://zstack.example.com:8080/zstack/v1"}, "host: must not include the API path /zstack/v1"),
    ({"host": "zstack.example.com:99999"}, "host: port must be a number from 1 to 65535"),
    ({"session_uuid": "short"}, "session_uuid: must be a ZStack UUID (32 hexadecimal characters, no dashes)"),
    ({"password": None}, "password: is required (or session_uuid)"),
    ({"user_tags": [""]}, "user_tags: must be a list of non-empty ZStack tags"),
])
def test_bad_input_is_refused_before_any_request(ansible, simulator, zs, override, fragment):
    assert_refused_before_any_request(ansible, simulator, MODULE,
                                      dict(connection(zs), uuid=zs["samples"]["disabled_uuid"], state="enabled"),
                                      override, fragment, ["zstack"])


def test_a_name_zstack_cannot_query_is_refused_before_any_request(ansible, simulator, zs):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(zs), name="a!=b", state="enabled"))
    assert run.rc != 0
    assert run.last["msg"].startswith("name: ZStack's query syntax cannot match a value containing '!='")
    assert requests_of(simulator, mark) == []


# -- many connections in one run (connections) --------------------------------------------------
def bulk(sim, count, **options):
    return sim.command("zstack", "create_connections", count=count, **options)["connections"]


def many(zs, items, **extra):
    return dict(connection(zs), connections=items, **extra)


def test_many_connections_one_login_one_logout_few_lookups_one_put_each_change(ansible, simulator, zs):
    made = bulk(simulator, 6, state="Enabled", job_seconds=1.5)
    items = [{"name": m["name"], "state": "disabled"} for m in made[:3]] + \
        [{"uuid": m["uuid"], "state": "disabled"} for m in made[3:5]] + [{"uuid": made[5]["uuid"], "state": "enabled"}]
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, items))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is True
    entries = result["connections"]
    assert [e["connection"]["uuid"] for e in entries] == [m["uuid"] for m in made]
    assert [e["changed"] for e in entries] == [True] * 5 + [False]
    assert all(e["connection"]["authKey"] == "********" for e in entries)
    assert [e["connection"]["state"] for e in entries] == ["Disabled"] * 5 + ["Enabled"]
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 1 and len(logouts) == 1
    lookups = requests_of(simulator, mark, r"^/zstack/v1/ipsec$", "GET")
    assert len(lookups) == 2, lookups
    sent = puts(simulator, mark)
    assert sorted(e["path"].split("/")[4] for e in sent) == sorted(m["uuid"] for m in made[:5])
    # The jobs ran side by side: all five PUTs went out before the first job (1.5 s) could end.
    assert max(e["time"] for e in sent) - min(e["time"] for e in sent) < 1.0
    assert max(e["elapsed"] for e in entries) < 4.5
    for m in made[:5]:
        assert state_of(simulator, m) == "Disabled"
    rerun_mark = simulator.mark()
    again = ansible.module(MODULE, many(zs, items))
    assert again.rc == 0 and again.last["changed"] is False
    assert puts(simulator, rerun_mark) == []


def test_many_a_failed_job_does_not_stop_the_others_and_the_task_names_it(ansible, simulator, zs):
    made = bulk(simulator, 4, state="Disabled", job_seconds_each=[0.5, 0.3, 2.0, 1.0], fail=[1])
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "enabled"} for m in made]))
    assert run.rc != 0
    result = run.last
    assert "1 of 4 IPsec connections failed" in result["msg"] and made[1]["uuid"] in result["msg"]
    assert "SYS.1006" in result["msg"]
    entries = result["connections"]
    assert [e["failed"] for e in entries] == [False, True, False, False]
    assert [state_of(simulator, m) for m in made] == ["Enabled", "Disabled", "Enabled", "Enabled"]
    assert len(puts(simulator, mark)) == 4
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 1 and len(logouts) == 1


def test_many_not_found_duplicate_named_and_not_ready_items_fail_without_a_put(ansible, simulator, zs):
    good = bulk(simulator, 1, state="Disabled", job_seconds=0.3)[0]
    samples = zs["samples"]
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [
        {"name": "no-such-tunnel", "state": "enabled"}, {"name": samples["duplicate_name"], "state": "enabled"},
        {"uuid": samples["not_ready_uuid"], "state": "enabled"}, {"uuid": good["uuid"], "state": "enabled"}]))
    assert run.rc != 0
    entries = run.last["connections"]
    assert "no IPsec connection named 'no-such-tunnel'" in entries[0]["msg"]
    assert "2 ZStack IPsec connections are named" in entries[1]["msg"]
    assert "its status is Disconnected" in entries[2]["msg"]
    assert entries[3]["failed"] is False and entries[3]["changed"] is True
    assert [e["path"].split("/")[4] for e in puts(simulator, mark)] == [good["uuid"]]


def test_many_check_and_diff_send_no_put(ansible, simulator, zs):
    made = bulk(simulator, 3, state="Enabled")
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "disabled"} for m in made[:2]]
                                      + [{"uuid": made[2]["uuid"], "state": "enabled"}]), check=True)
    assert run.rc == 0, run
    assert [e["changed"] for e in run.last["connections"]] == [True, True, False]
    assert [e["connection"]["state"] for e in run.last["connections"]] == ["Disabled", "Disabled", "Enabled"]
    assert puts(simulator, mark) == []
    assert [state_of(simulator, m) for m in made] == ["Enabled"] * 3


def most_in_flight(entries, slack=0.02):
    """The most requests the appliance was serving at one moment, from the log's timing (each
    entry ends at ``time`` and lasted ``ms``). ``slack`` keeps back-to-back requests apart."""
    events = []
    for e in entries:
        end = e["time"]
        start = end - e["ms"] / 1000.0
        events += [(start + slack, 1), (end - slack, -1)]
    most = now = 0
    for _at, step in sorted(events):
        now += step
        most = max(most, now)
    return most


@pytest.mark.parametrize("max_concurrent", [1, 3])
def test_many_max_concurrent_bounds_the_requests_in_flight(ansible, simulator, zs, max_concurrent):
    made = bulk(simulator, 8, state="Enabled", job_seconds=0.5)
    # Every change and job read takes 0.25 s at the appliance: requests in flight together overlap.
    simulator.fault(appliance="zstack", kind="latency", seconds=0.25, count=None, path=r"/actions$|/api-jobs/")
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "disabled"} for m in made],
                                      max_concurrent=max_concurrent))
    assert run.rc == 0, run
    assert all(e["connection"]["state"] == "Disabled" for e in run.last["connections"])
    followed = requests_of(simulator, mark, r"/actions$|/api-jobs/")
    assert len([e for e in followed if e["method"] == "PUT"]) == 8
    assert most_in_flight(followed) == max_concurrent


def test_many_diff_shows_each_connection_before_and_after_and_a_rerun_is_unchanged(ansible, simulator, zs):
    made = bulk(simulator, 3, state="Enabled", job_seconds=0.3)
    items = [{"name": made[0]["name"], "state": "disabled"}, {"uuid": made[1]["uuid"], "state": "disabled"},
             {"uuid": made[2]["uuid"], "state": "enabled"}]
    mark = simulator.mark()
    run = ansible.playbook("zstack_many.yml", extra_vars={"zstack": connection(zs), "items": items}, args=["--diff"])
    assert run.rc == 0, run
    first = run.task("Set the connections")
    labels = ["IPsec connection %r (%s)" % (m["name"], m["uuid"]) for m in made]
    assert first["diff"]["before"] == dict(zip(labels, ["Enabled"] * 3))
    assert first["diff"]["after"] == dict(zip(labels, ["Disabled", "Disabled", "Enabled"]))
    assert "-    \"%s\": \"Enabled\"" % labels[0] in run.stdout and "+    \"%s\": \"Disabled\"" % labels[0] in run.stdout
    again = run.task("Set them again")
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"]
    assert len(puts(simulator, mark)) == 2
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 2


def test_many_wait_false_returns_once_zstack_accepted_each_change(ansible, simulator, zs):
    made = bulk(simulator, 3, state="Disabled", job_seconds=3)
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "enabled"} for m in made], wait=False))
    assert run.rc == 0, run
    entries = run.last["connections"]
    assert [e["changed"] for e in entries] == [True] * 3
    assert all(e["connection"]["state"] == "Disabled" and e["polls"] == 0 for e in entries)  # as they were
    assert requests_of(simulator, mark, JOB_PATH) == []
    for m, e in zip(made, entries):
        jobs = simulator.command("zstack", "jobs", connection_uuid=m["uuid"])["jobs"]
        assert [j["uuid"] for j in jobs] == [e["job_uuid"]]


def test_many_one_connection_named_by_uuid_and_by_name_is_refused_before_any_put(ansible, simulator, zs):
    made = bulk(simulator, 2, state="Disabled", job_seconds=0.3)
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": made[0]["uuid"], "state": "enabled"},
                                           {"uuid": made[1]["uuid"], "state": "enabled"},
                                           {"name": made[0]["name"], "state": "disabled"}]))
    assert run.rc != 0
    assert run.last["msg"] == (
        "connections[2]: names the same IPsec connection as connections[0] (%r, uuid %s); list each connection "
        "once. Nothing was sent." % (made[0]["name"], made[0]["uuid"]))
    assert puts(simulator, mark) == []
    assert [state_of(simulator, m) for m in made] == ["Disabled", "Disabled"]
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 1


def test_many_changes_whose_turn_comes_after_the_deadline_are_not_sent(ansible, simulator, zs):
    made = bulk(simulator, 6, state="Disabled", job_seconds=0.3)
    # One change at a time, each taking 0.7 s at the appliance, and 2 s for all of them.
    simulator.fault(appliance="zstack", kind="latency", seconds=0.7, count=None, method="PUT", path=ACTION_PATH)
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "enabled"} for m in made],
                                      max_concurrent=1, wait=False, wait_timeout=2))
    assert run.rc != 0
    entries = run.last["connections"]
    unsent = [e for e in entries if e["failed"]]
    assert 1 <= len(unsent) < 6, entries
    for e in unsent:
        assert e["msg"].startswith("Not sent: wait_timeout had passed before its turn came")
        assert e["changed"] is False and e["job_uuid"] is None
    sent = sorted(e["path"].split("/")[4] for e in puts(simulator, mark))
    assert sent == sorted(e["connection"]["uuid"] for e in entries if not e["failed"])
    assert [state_of(simulator, m) for m in made].count("Disabled") >= len(unsent)
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == len(logouts) == 1


def test_many_a_change_refused_outright_is_not_a_change_and_shows_the_answer(ansible, simulator, zs):
    made = bulk(simulator, 2, state="Disabled", job_seconds=0.3)
    # Something in front of ZStack (or its REST layer) refuses the first change with a 400.
    simulator.fault(appliance="zstack", kind="status", status=400, method="PUT", path=made[0]["uuid"])
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "enabled"} for m in made]))
    assert run.rc != 0
    refused, done = run.last["connections"]
    assert refused["failed"] is True and refused["changed"] is False and refused["job_uuid"] is None
    assert refused["status_code"] == 400 and "HTTP 400" in refused["msg"]
    assert refused["error"] == {"text": "Injected fault: HTTP 400"}
    assert state_of(simulator, made[0]) == "Disabled"
    assert done["changed"] is True and state_of(simulator, made[1]) == "Enabled"
    assert run.last["changed"] is True
    assert len(puts(simulator, mark)) == 2


def test_many_sessions_that_expire_while_jobs_run_take_one_new_login(ansible, simulator, zs):
    made = bulk(simulator, 4, state="Disabled", job_seconds=0.5)
    # The module's session lives 0.5 s and each change takes 1 s to reach ZStack: all four jobs
    # fail with ID.1001, and the four polls that find it out run side by side.
    simulator.command("zstack", "configure", next_session_seconds=0.5)
    simulator.fault(appliance="zstack", kind="latency", seconds=1.0, count=None, method="PUT", path=ACTION_PATH)
    mark = simulator.mark()
    run = ansible.module(MODULE, many(zs, [{"uuid": m["uuid"], "state": "enabled"} for m in made],
                                      max_concurrent=4))
    assert run.rc == 0, run
    assert [state_of(simulator, m) for m in made] == ["Enabled"] * 4
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 2 and len(logouts) == 1
    # Each change was turned away once for the expired session and sent once more: 2 jobs each, 1 applied.
    for m in made:
        jobs = simulator.command("zstack", "jobs", connection_uuid=m["uuid"])["jobs"]
        assert [j["error_code"] for j in jobs] == ["ID.1001", None]


@pytest.mark.parametrize("override, fragment", [
    ({"connections": []}, "connections: must list at least one connection"),
    ({"connections": [{"uuid": "76424bb25d3a37c9961fff1116bc06da", "name": "x", "state": "enabled"}]},
     "connections[0]: needs exactly one of uuid and name"),
    ({"connections": [{"state": "enabled"}]}, "connections[0]: needs exactly one of uuid and name"),
    ({"connections": [{"name": "a", "state": "enabled"}, {"name": "a", "state": "disabled"}]},
     "connections[1]: lists name 'a' again (also connections[0])"),
    ({"connections": [{"uuid": "76424BB25d3a37c9961fff1116bc06da", "state": "enabled"},
                      {"uuid": "76424bb25d3a37c9961fff1116bc06da", "state": "enabled"}]}, "connections[1]: lists uuid"),
    ({"connections": [{"uuid": "nope", "state": "enabled"}]}, "connections[0].uuid: must be a ZStack UUID"),
    ({"connections": [{"name": "a~=b", "state": "enabled"}]}, "connections[0].name: ZStack's query syntax"),
    ({"connections": [{"name": "a", "state": "on"}]}, "value of state must be one of: enabled, disabled"),
    ({"max_concurrent": 0}, "max_concurrent: must be 1 or more, got 0"),
    ({"connections": None, "uuid": "76424bb25d3a37c9961fff1116bc06da", "state": "enabled", "max_concurrent": 0},
     "max_concurrent: must be 1 or more, got 0"),
    ({"uuid": "76424bb25d3a37c9961fff1116bc06da"}, "connections: cannot be combined with uuid"),
    ({"state": "enabled"}, "connections: cannot be combined with state"),
])
def test_many_bad_input_is_refused_before_any_request(ansible, simulator, zs, override, fragment):
    assert_refused_before_any_request(ansible, simulator, MODULE,
                                      many(zs, [{"name": "dc-to-branch-01", "state": "enabled"}]),
                                      override, fragment, ["zstack"])


# -- ipsec_connection_info ----------------------------------------------------------------------
INFO = "ipsec_connection_info"


def test_info_filters_by_name_wildcard_state_and_conditions_with_one_login(ansible, simulator, zs):
    made = bulk(simulator, 5, state="Enabled")
    prefix = made[0]["name"].rsplit("-", 1)[0]
    simulator.command("zstack", "set_connection", uuid=made[1]["uuid"], state="Disabled")
    mark = simulator.mark()
    run = ansible.module(INFO, dict(connection(zs), name=prefix + "-%", state="enabled"))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is False and result["count"] == 4
    assert sorted(c["uuid"] for c in result["connections"]) == sorted(m["uuid"] for i, m in enumerate(made) if i != 1)
    assert all(c["authKey"] == "********" for c in result["connections"])
    for m in made:
        assert m["auth_key"] not in run.output
    logins, logouts = sessions_opened_and_closed(simulator, mark)
    assert len(logins) == 1 and len(logouts) == 1
    queries = requests_of(simulator, mark, r"^/zstack/v1/ipsec$", "GET")
    assert len(queries) == 1
    peer = ansible.module(INFO, dict(connection(zs), conditions=["name~=%s-%%" % prefix, "uuid!=%s" % made[0]["uuid"]]))
    assert peer.rc == 0 and peer.last["count"] == 4
    one = ansible.module(INFO, dict(connection(zs), uuid=made[2]["uuid"], status="Ready"))
    assert [c["name"] for c in one.last["connections"]] == [made[2]["name"]]


@pytest.mark.parametrize("override, fragment", [
    ({"conditions": ["peerAddress"]}, "conditions[0]: 'peerAddress' has no query operator"),
    ({"conditions": [""]}, "conditions[0]: must be a ZStack query condition"),
    ({"conditions": ["=x"]}, "conditions[0]: '=x' must start with a field name"),
    ({"uuid": "not-a-uuid"}, "uuid: must be a ZStack UUID"),
    ({"name": "a!=b"}, "name: ZStack's query syntax cannot match"),
    ({"state": "on"}, "value of state must be one of: enabled, disabled"),
])
def test_info_bad_input_is_refused_before_any_request(ansible, simulator, zs, override, fragment):
    assert_refused_before_any_request(ansible, simulator, INFO, connection(zs), override, fragment, ["zstack"])
