"""vpn_session_realization_info against the simulated NSX-T Manager, over real HTTPS."""

import pytest

from .harness import assert_refused_before_any_request

MODULE = "vpn_session_realization_info"
STATE_PATH = r"/api/v1/vpn/ipsec/sessions/[^/]+/state$"


@pytest.fixture
def nsx(simulator):
    return simulator.appliance("nsxt")


def connection(nsx, sim):
    return {"host": nsx["host"], "username": nsx["username"], "password": nsx["password"],
            "ca_path": sim.config["ca_path"]}


def new_session(sim, **options):
    return sim.command("nsxt", "create_session", **options)


def state_requests(sim, since, session_id):
    return [e for e in sim.log(since=since, appliance="nsxt", path=STATE_PATH) if session_id in e["path"]]


# -- waiting -----------------------------------------------------------------------------
def test_waits_through_pending_in_progress_and_unknown_until_in_sync(ansible, simulator, nsx):
    # unknown lasts from 3.6 s to 4.5 s: longer than any pause at that point (<= 0.8 s)
    made = new_session(simulator, realize_after=6, start_on_first_read=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"],
                                      request_id=made["request_id"]))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is False
    assert result["in_sync"] is True and result["realization"]["state"] == "in_sync"
    assert result["history"][-1]["state"] == "in_sync"
    assert [h["state"] for h in result["history"]][:1] == ["pending"]
    assert {"in_progress", "unknown"} <= {h["state"] for h in result["history"]}
    assert result["request_id"] == made["request_id"]
    sent = state_requests(simulator, mark, made["session_id"])
    assert len(sent) == result["polls"]
    assert all(e["query"] == "request_id=" + made["request_id"] for e in sent)
    assert all(e["method"] == "GET" for e in simulator.log(since=mark, appliance="nsxt"))


def test_in_effect_waits_past_in_sync_for_success(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=1, outcome="success", success_after=1.5,
                       start_on_first_read=True)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"],
                                      wait_for="in_effect"))
    assert run.rc == 0, run
    states = [h["state"] for h in run.last["history"]]
    assert states[-2:] == ["in_sync", "success"]
    assert run.last["in_sync"] is True


def test_error_state_fails_at_once_listing_each_transport_node(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=0.5, outcome="error")
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"]))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith("NSX IPsec VPN session %s failed to realize: state error" % made["session_id"])
    assert "TransportNode" in result["msg"] and "NO_PROPOSAL_CHOSEN" in result["msg"]
    assert result["realization"]["state"] == "error"
    assert result["elapsed"] < 10
    assert "Traceback" not in run.output


def test_disabled_vpn_service_fails_with_nsx_message_code_and_hint(ansible, simulator, nsx):
    made = new_session(simulator, service_enabled=False)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"]))
    assert run.rc != 0
    result = run.last
    assert "NSX error 110199" in result["msg"] and "is disabled" in result["msg"]
    assert "Hint: enable the IPsec VPN service" in result["msg"]
    assert result["status_code"] == 400 and result["error"]["error_code"] == 110199
    assert result["correlation_id"] and "[x-nsx-requestid %s]" % result["correlation_id"] in result["msg"]
    assert len(state_requests(simulator, mark, made["session_id"])) == 1  # not retried


def test_deleted_waits_for_404_with_error_code_600(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=0)
    simulator.command("nsxt", "delete_session", session_id=made["session_id"], after_reads=3)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"],
                                      wait_for="deleted"))
    assert run.rc == 0, run
    assert run.last["deleted"] is True
    assert run.last["realization"]["error_code"] == 600
    assert [h["state"] for h in run.last["history"]] == ["in_sync", "deleted"]
    assert run.last["polls"] == 4  # three reads of the live session, then the 404


def test_a_deleted_session_is_a_clear_failure_when_waiting_for_realization(ansible, simulator, nsx):
    gone = nsx["samples"]["deleted_session_id"]
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=gone))
    assert run.rc != 0
    assert "NSX IPsec VPN session %s not found" % gone in run.last["msg"]
    assert "wait_for: deleted" in run.last["msg"] and run.last["status_code"] == 404


def test_timeout_names_the_condition_the_deadline_and_the_last_state(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=10, start_on_first_read=True)  # in_progress 1.5-6 s
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"],
                                      wait_timeout=3))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith("Timed out after 3 s waiting for NSX IPsec VPN session %s to be "
                                    "realized (in_sync or success); last state: in_progress"
                                    % made["session_id"])
    assert result["realization"]["state"] == "in_progress"
    assert 2.9 <= result["elapsed"] <= 4.5 and result["polls"] >= 3


def test_wait_false_reads_once_and_reports_the_state_as_it_is(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=60, start_on_first_read=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"], wait=False))
    assert run.rc == 0, run
    assert run.last["in_sync"] is False and run.last["polls"] == 1
    assert run.last["realization"]["state"] in ("pending", "in_progress")
    assert len(state_requests(simulator, mark, made["session_id"])) == 1


def test_many_sessions_are_followed_concurrently_in_one_run(ansible, simulator, nsx):
    made = simulator.command("nsxt", "create_sessions", count=12, realize_min=1, realize_max=3)
    ids = [s["session_id"] for s in made["sessions"]]
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_ids=ids))
    assert run.rc == 0, run
    result = run.last
    assert [s["session_id"] for s in result["sessions"]] == ids
    assert all(s["in_sync"] and not s["failed"] for s in result["sessions"])
    # Followed side by side: the whole wait ends soon after the slowest session.
    assert result["elapsed"] < 6


def test_sessions_follow_each_change_by_its_own_request_id(ansible, simulator, nsx):
    first = new_session(simulator, realize_after=1)
    second = new_session(simulator, realize_after=1.5)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), sessions=[
        {"id": first["session_id"], "request_id": first["request_id"]},
        {"id": second["session_id"], "request_id": second["request_id"]}]))
    assert run.rc == 0, run
    assert [(s["session_id"], s["request_id"]) for s in run.last["sessions"]] == [
        (first["session_id"], first["request_id"]), (second["session_id"], second["request_id"])]
    for made in (first, second):
        sent = state_requests(simulator, mark, made["session_id"])
        assert sent and all(e["query"] == "request_id=" + made["request_id"] for e in sent)


def test_many_sessions_fail_together_naming_each_failure(ansible, simulator, nsx):
    good = new_session(simulator, realize_after=0.5)
    bad = new_session(simulator, realize_after=0.5, outcome="error")
    run = ansible.module(MODULE, dict(connection(nsx, simulator),
                                      session_ids=[good["session_id"], bad["session_id"]]))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith("1 of 2 NSX IPsec VPN sessions failed to be realized")
    assert bad["session_id"] in result["msg"] and good["session_id"] not in result["msg"]
    assert [s["failed"] for s in result["sessions"]] == [False, True]


# -- transient faults ----------------------------------------------------------------------
def test_rate_limited_429_is_waited_out(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=0)
    simulator.fault(appliance="nsxt", path=made["session_id"], kind="status", status=429,
                    retry_after=1, count=2)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=made["session_id"]))
    assert run.rc == 0, run
    statuses = [e["status"] for e in state_requests(simulator, mark, made["session_id"])]
    assert statuses == [429, 429, 200]


# -- playbook features -------------------------------------------------------------------
def test_module_defaults_group_check_mode_and_async(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=1)
    run = ansible.playbook("nsxt_module_defaults.yml", extra_vars={
        "nsx": connection(nsx, simulator), "session_id": made["session_id"]}, check=True)
    assert run.rc == 0, run
    assert run.task("Wait with credentials from module_defaults")["in_sync"] is True
    assert run.task("Wait as an async task")["in_sync"] is True


def test_environment_variables_are_the_fallbacks(ansible, simulator, nsx):
    env = {"NSXT_MANAGER_HOST": nsx["url"], "NSXT_USERNAME": nsx["username"],
           "NSXT_PASSWORD": nsx["password"], "NSXT_CA_PATH": simulator.config["ca_path"]}
    run = ansible.module(MODULE, {"session_id": nsx["samples"]["session_id"]}, env=env)
    assert run.rc == 0, run
    assert run.last["in_sync"] is True


def test_client_certificate_authenticates_without_a_password(ansible, simulator, nsx):
    run = ansible.module(MODULE, {"host": nsx["host"], "ca_path": simulator.config["ca_path"],
                                  "client_cert": nsx["client_cert"], "client_key": nsx["client_key"],
                                  "session_id": nsx["samples"]["session_id"]})
    assert run.rc == 0, run


def test_wrong_password_is_a_clear_403(ansible, simulator, nsx):
    run = ansible.module(MODULE, dict(connection(nsx, simulator), password="not-the-password",
                                      session_id=nsx["samples"]["session_id"]))
    assert run.rc != 0
    assert "HTTP 403" in run.last["msg"] and "username/password combination is incorrect" in run.last["msg"]


# -- secrets ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["success", "vendor_error", "bad_password"])
def test_password_never_appears_even_with_vvvv(ansible, simulator, nsx, case):
    args = dict(connection(nsx, simulator), session_id=nsx["samples"]["session_id"])
    if case == "vendor_error":
        args["session_id"] = nsx["samples"]["disabled_session_id"]
    if case == "bad_password":
        args["password"] = "Wrong-%s" % nsx["password"]
    run = ansible.module(MODULE, args, verbosity=4)
    assert (run.rc == 0) == (case == "success"), run
    assert args["password"] not in run.output
    assert "********" in run.output or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output


# -- TLS ---------------------------------------------------------------------------------------
def test_untrusted_certificate_fails_clearly_by_default(ansible, simulator, nsx):
    args = connection(nsx, simulator)
    del args["ca_path"]
    run = ansible.module(MODULE, dict(args, session_id=nsx["samples"]["session_id"]))
    assert run.rc != 0
    assert "TLS failed" in run.last["msg"] and "CERTIFICATE_VERIFY_FAILED" in run.last["msg"]


def test_validate_certs_false_skips_verification(ansible, simulator, nsx):
    args = connection(nsx, simulator)
    del args["ca_path"]
    run = ansible.module(MODULE, dict(args, validate_certs=False, session_id=nsx["samples"]["session_id"]))
    assert run.rc == 0, run


def test_requests_ca_bundle_does_not_override_ca_path(ansible, simulator, nsx):
    env = {"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_id=nsx["samples"]["session_id"]), env=env)
    assert run.rc == 0, run


# -- bad input: a clear message naming the option, and no request sent ----------------------
@pytest.mark.parametrize("override, fragment", [
    ({"session_id": "a/../b"}, "session_id: must be an NSX object ID"),
    ({"session_id": ""}, "session_id: must be an NSX object ID"),
    ({"request_id": "x y"}, "request_id: must be the x-nsx-requestid"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"wait_sleep": 0}, "wait_sleep: must be from 1 to 3600, got 0"),
    ({"timeout": -1}, "timeout: must be from 1 to 3600, got -1"),
    ({"retries": 11}, "retries: must be from 0 to 10, got 11"),
    ({"wait_for": "done"}, "value of wait_for must be one of: realized, in_effect, deleted"),
    ({"wait_timeout": "soon"}, "wait_timeout"),
    ({"host": "https://nsx.example.com/api/v1"}, "host: must not include the API path /api/v1"),
    ({"host": "nsx.example.com:70000"}, "host: port must be a number from 1 to 65535"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: no readable file at /nonexistent/ca.pem"),
    ({"session_ids": ["a"]}, "parameters are mutually exclusive: session_id|session_ids|sessions"),
    ({"session_id": None, "sessions": [{"id": "ok-1"}, {"id": "bad id"}]}, "sessions[1].id: must be an NSX object ID"),
    ({"session_id": None, "sessions": []}, "sessions: must list at least one session"),
    ({"session_id": None}, "one of the following is required: session_id, session_ids, sessions"),
    ({"password": None}, "password: is required (or client_cert)"),
])
def test_bad_input_is_refused_before_any_request(ansible, simulator, nsx, override, fragment):
    assert_refused_before_any_request(ansible, simulator, MODULE,
                                      dict(connection(nsx, simulator), session_id=nsx["samples"]["session_id"]),
                                      override, fragment, ["nsxt"])
