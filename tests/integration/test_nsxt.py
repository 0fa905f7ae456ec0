"""vpn_session_realization_info and vpn_session_state against the simulated NSX Manager, over real HTTPS."""

import json

import pytest
import yaml

MODULE = "vpn_session_realization_info"
STATE_MODULE = "vpn_session_state"
POLICY_ENTITIES = r"/infra/realized-state/realized-entities$"
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
# Every case is one task of one playbook run (one ansible-playbook start for all of them instead
# of one per case); each case is still its own test, asserting its own task's result.
BAD_INPUT = [
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
    ({"host": "https://nsx.example.com/policy/api/v1"}, "host: must not include the API path /api/v1"),
    ({"host": "nsx.example.com:70000"}, "host: port must be a number from 1 to 65535"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: no readable file at /nonexistent/ca.pem"),
    ({"session_ids": ["a"]}, "parameters are mutually exclusive: session_id|session_ids|sessions"),
    ({"session_id": None, "sessions": [{"id": "ok-1"}, {"id": "bad id"}]}, "sessions[1].id: must be an NSX object ID"),
    ({"session_id": None, "sessions": []}, "sessions: must list at least one session"),
    ({"session_id": None}, "one of the following is required: session_id, session_ids, sessions"),
    ({"password": None}, "password: is required (or client_cert)"),
]
POLICY_BAD_INPUT = [
    (MODULE, {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/v/sessions/../x"}, "session_path: must be a Policy path without '.', '..'"),
    (MODULE, {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/v/sessions/s?x=1"}, "session_path: must be a Policy path without a query"),
    (MODULE, {"session_path": "/infra/segments/web"}, "session_path: must be the Policy path of an IPsec VPN session"),
    (MODULE, {"session_path": None, "session_paths": ["/infra/tier-0s/a/ipsec-vpn-services/b/sessions/c", "/infra/x"]},
     "session_paths[1]: must be the Policy path"),
    (MODULE, {"session_path": "/orgs/o/projects/p/infra/tier-0s/t0/ipsec-vpn-services/v/sessions/s"},
     "session_path: a project's IPsec VPN sessions live under tier-1s"),
    (MODULE, {"session_id": "abc"}, "parameters are mutually exclusive: session_id|session_ids|sessions|session_path|session_paths"),
    (MODULE, {"wait_for": "in_effect"}, "wait_for: in_effect is a state of the Manager API"),
    (MODULE, {"request_id": "abc"}, "parameters are mutually exclusive: session_path|request_id"),
    (MODULE, {"changed_since": -1}, "changed_since: must be 0 or more"),
    (MODULE, {"wait_for": "tunnel_up", "changed_since": 5}, "changed_since: applies to wait_for: realized only"),
    (STATE_MODULE, {"session_id": "abc"}, "parameters are mutually exclusive: session_path|session_id"),
    (STATE_MODULE, {"wait_for": "tunnel_up"}, "wait_for: tunnel_up with enabled: false can never succeed"),
    (STATE_MODULE, {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/v"}, "session_path: must be the Policy path"),
    (STATE_MODULE, {"session_path": "/infra/tier-1s/t1/ipsec-vpn-services/v/sessions/s#x"}, "session_path: must be a Policy path without a query"),
    (STATE_MODULE, {"session_path": None, "session_id": "a/b"}, "session_id: must be an NSX object ID"),
    (STATE_MODULE, {"session_path": None}, "one of the following is required: session_path, session_id"),
    (STATE_MODULE, {"enabled": None}, "missing required arguments: enabled"),
    (STATE_MODULE, {"enabled": "maybe"}, "enabled"),
    (STATE_MODULE, {"wait_for": "in_effect"}, "value of wait_for must be one of: realized, tunnel_up, tunnel_down"),
]


@pytest.fixture(scope="module")
def bad_input_runs(ansible, sim, tmp_path_factory):
    """Every bad-input case as one task of one playbook (errors ignored), run once."""
    nsx = sim.appliance("nsxt")
    cases = [("manager-%d" % i, MODULE, dict(connection(nsx, sim), session_id=nsx["samples"]["session_id"]), override)
             for i, (override, _fragment) in enumerate(BAD_INPUT)]
    for i, (module, override, _fragment) in enumerate(POLICY_BAD_INPUT):
        args = dict(connection(nsx, sim), session_path=nsx["samples"]["policy_session_path"])
        if module == STATE_MODULE:
            args["enabled"] = False
        cases.append(("policy-%d" % i, module, args, override))
    tasks = []
    for name, module, args, override in cases:
        args = dict((k, v) for k, v in dict(args, **override).items() if v is not None)
        tasks.append({"name": name, "hybridcloud.ops." + module: args, "ignore_errors": True})
    path = tmp_path_factory.mktemp("nsxt-bad-input") / "bad_input.yml"
    path.write_text(yaml.safe_dump([{"name": "NSX bad input", "hosts": "localhost", "gather_facts": False,
                                     "tasks": tasks}]))
    mark = sim.mark()
    run = ansible.playbook(str(path))
    return run, sim.log(since=mark, appliance="nsxt")


def assert_refused(bad_input_runs, name, fragment):
    run, requests = bad_input_runs
    assert "Traceback" not in run.output, run
    assert requests == [], "a bad-input case sent requests to NSX: %s" % requests
    rows = [r for r in run.results if r["task"] == name]
    assert [r["status"] for r in rows] == ["failed"], rows
    assert fragment in rows[0]["result"]["msg"], rows[0]["result"]["msg"]


@pytest.mark.parametrize("index", range(len(BAD_INPUT)), ids=[f for _o, f in BAD_INPUT])
def test_bad_input_is_refused_before_any_request(bad_input_runs, index):
    assert_refused(bad_input_runs, "manager-%d" % index, BAD_INPUT[index][1])


@pytest.mark.parametrize("index", range(len(POLICY_BAD_INPUT)), ids=["%s-%s" % (m, f) for m, _o, f in POLICY_BAD_INPUT])
def test_policy_bad_input_is_refused_before_any_request(bad_input_runs, index):
    assert_refused(bad_input_runs, "policy-%d" % index, POLICY_BAD_INPUT[index][2])


# == Policy API: session paths (NSX-T 3.x, 4.x, 9.x) ===========================================


def policy_session(sim, **options):
    return sim.command("nsxt", "create_policy_session", **options)


def policy_writes(sim, since, path):
    return [e for e in sim.log(since=since, appliance="nsxt") if e["method"] in ("PATCH", "PUT", "POST")
            and e["path"].endswith(path)]


@pytest.mark.parametrize("sample, prefix", [
    ("policy_session_path", ""), ("policy_tier0_session_path", ""),
    ("policy_project_session_path", ""), ("policy_session_path", "/policy/api/v1"),
    ("policy_project_session_path", "/policy/api/v1")])
def test_policy_path_of_every_form_is_followed_to_realized(ansible, simulator, nsx, sample, prefix):
    path = nsx["samples"][sample]
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=prefix + path))
    assert run.rc == 0, run
    assert run.last["in_sync"] is True and run.last["realization"]["state"] == "REALIZED"
    assert run.last["session_path"] == path and run.last["changed"] is False
    assert all(e["state"] == "REALIZED" for e in run.last["realization"]["entities"])
    reads = simulator.log(since=mark, appliance="nsxt")
    assert [e["method"] for e in reads] == ["GET"]
    if "/orgs/" in path:  # a project's objects are read in the project's scope
        assert reads[0]["path"] == "/policy/api/v1/orgs/default/projects/tenant-a/infra/realized-state/realized-entities"


def test_policy_error_fails_at_once_with_every_alarm_message(ansible, simulator, nsx):
    path = nsx["samples"]["policy_error_session_path"]
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=path))
    assert run.rc != 0
    msg = run.last["msg"]
    assert msg.startswith("NSX IPsec VPN session %s failed to realize: " % path)
    assert "NO_PROPOSAL_CHOSEN" in msg and "no route to peer" in msg
    assert run.last["realization"]["state"] == "ERROR" and run.last["polls"] == 1
    assert "Traceback" not in run.output


def test_policy_stale_realized_is_not_taken_with_changed_since(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=1.5, realize_after=3)
    changed = simulator.command("nsxt", "change_policy_session", path=made["path"], enabled=False)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"],
                                      changed_since=changed["_last_modified_time"]))
    assert run.rc == 0, run
    states = [h["state"] for h in run.last["history"]]
    assert states[0] == "STALE" and states[-1] == "REALIZED" and "UNREALIZED" in states
    assert all(e["_last_modified_time"] >= changed["_last_modified_time"]
               for e in run.last["realization"]["entities"])
    # ... while without changed_since the REALIZED left from before is what NSX shows first
    early = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=early["path"], stale_window=5, realize_after=6)
    simulator.command("nsxt", "change_policy_session", path=early["path"], enabled=False)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=early["path"]))
    assert run.last["polls"] == 1 and run.last["realization"]["state"] == "REALIZED"


def test_policy_tunnel_up_waits_through_negotiating(ansible, simulator, nsx):
    made = policy_session(simulator, realize_after=0.5, tunnel_up_after=2)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"], wait_for="tunnel_up"))
    assert run.rc == 0, run
    assert [h["state"] for h in run.last["history"]][-1] == "UP"
    tunnel = run.last["tunnel"]
    assert tunnel["runtime_status"] == "UP" and tunnel["ike_session_state"] == "UP"
    assert tunnel["negotiated_tunnels"] == tunnel["total_tunnels"] == 1


def test_policy_tunnel_never_up_times_out_naming_state_and_fail_reason(ansible, simulator, nsx):
    made = policy_session(simulator, tunnel_up_after=None, fail_reason="IKE SA negotiation failed: NO_PROPOSAL_CHOSEN")
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"],
                                      wait_for="tunnel_up", wait_timeout=3))
    assert run.rc != 0
    msg = run.last["msg"]
    assert msg.startswith("Timed out after 3 s waiting for NSX IPsec VPN session %s to have its tunnel up"
                          % made["path"])
    assert "runtime_status DOWN" in msg and "NO_PROPOSAL_CHOSEN" in msg and "ike_session_state" in msg
    assert run.last["tunnel"]["fail_reason"].endswith("NO_PROPOSAL_CHOSEN")


def test_policy_deleted_waits_for_404_of_the_path(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "delete_policy_session", path=made["path"], after=1.5)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"], wait_for="deleted"))
    assert run.rc == 0, run
    assert run.last["deleted"] is True
    assert [h["state"] for h in run.last["history"]] == ["exists", "deleted"]


def test_policy_path_not_found_is_clear(ansible, simulator, nsx):
    run = ansible.module(MODULE, dict(connection(nsx, simulator),
                                      session_path="/infra/tier-1s/nope/ipsec-vpn-services/x/sessions/y"))
    assert run.rc != 0
    assert "not found" in run.last["msg"] and "500090" in run.last["msg"] and run.last["status_code"] == 404


def test_policy_paths_are_followed_concurrently(ansible, simulator, nsx):
    paths = [policy_session(simulator, realize_after=2.5)["path"] for dummy in range(12)]
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_paths=paths))
    assert run.rc == 0, run
    assert [s["session_path"] for s in run.last["sessions"]] == paths
    assert all(s["in_sync"] and not s["failed"] for s in run.last["sessions"])
    assert run.last["elapsed"] < 5  # side by side, not one after the other (12 x 2.5 s)


# -- vpn_session_state ---------------------------------------------------------------------------
def test_state_policy_disable_writes_once_and_waits_for_this_change(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=1, realize_after=3)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is True and result["writes"] == 1
    writes = policy_writes(simulator, mark, made["path"])
    assert [(e["method"], e["status"]) for e in writes] == [("PATCH", 200)]
    assert result["session"]["enabled"] is False and result["session"]["psk"] == "********"
    stored = simulator.command("nsxt", "policy_session", path=made["path"])
    assert stored["resource"]["enabled"] is False and stored["resource"]["psk"] == made["psk"]
    assert result["changed_since"] == stored["resource"]["_last_modified_time"]
    states = [h["state"] for h in result["history"]]
    assert states[0] == "STALE" and states[-1] == "REALIZED"
    assert result["realization"]["state"] == "REALIZED"
    assert made["psk"] not in run.output


def test_state_policy_no_write_when_already_in_the_wanted_state(ansible, simulator, nsx):
    made = policy_session(simulator, enabled=False)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False))
    assert run.rc == 0, run
    assert run.last["changed"] is False and run.last["writes"] == 0
    assert policy_writes(simulator, mark, made["path"]) == []
    assert run.last["realization"]["state"] == "REALIZED"


def test_state_policy_enable_and_wait_for_the_tunnel(ansible, simulator, nsx):
    made = policy_session(simulator, enabled=False)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.5, realize_after=1,
                      tunnel_up_after=1.5)
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=True,
                                            wait_for="tunnel_up"))
    assert run.rc == 0, run
    assert run.last["tunnel"]["runtime_status"] == "UP"
    states = [h["state"] for h in run.last["history"]]
    assert "REALIZED" in states and states[-1] == "UP"


def test_state_check_mode_and_diff_send_no_write(ansible, simulator, nsx):
    made = policy_session(simulator)
    mark = simulator.mark()
    run = ansible.playbook("nsxt_session_state.yml", extra_vars={
        "nsx": connection(nsx, simulator), "session_path": made["path"]}, check=True, args=["--diff"])
    assert run.rc == 0, run
    result = run.task("Disable the session")
    assert result["changed"] is True and result["diff"] == {"before": {"enabled": True}, "after": {"enabled": False}}
    assert result["session"]["enabled"] is False and result["session"]["psk"] == "********"
    assert policy_writes(simulator, mark, made["path"]) == []


@pytest.mark.parametrize("case", ["policy", "manager"])
def test_state_psk_never_appears_at_vvvv(ansible, simulator, nsx, case):
    # manager: the password only (the Manager API keeps the psk on the peer endpoint, not read here);
    # the psk on failure, in check/diff mode and in the info module: the test after the next ones
    made = policy_session(simulator)
    if case == "policy":
        args = dict(connection(nsx, simulator), session_path=made["path"], enabled=False)
    else:
        args = dict(connection(nsx, simulator), session_id=new_session(simulator, realize_after=0)["session_id"],
                    enabled=False)
    run = ansible.module(STATE_MODULE, args, verbosity=4)
    assert run.rc == 0, run
    for secret in simulator.command("nsxt", "psks")["psks"] + [nsx["password"]]:
        assert secret not in run.output


def test_state_manager_put_with_revision_follows_its_request_id(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=0)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_id=made["session_id"], enabled=False))
    assert run.rc == 0, run
    puts = list(simulator.log(since=mark, appliance="nsxt", method="PUT"))
    assert [e["status"] for e in puts] == [200] and run.last["writes"] == 1
    assert run.last["request_id"] and run.last["in_sync"] is True
    states = list(simulator.log(since=mark, appliance="nsxt", path=STATE_PATH))
    assert states and all(e["query"] == "request_id=" + run.last["request_id"] for e in states)
    again = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_id=made["session_id"], enabled=False))
    assert again.rc == 0 and again.last["changed"] is False and again.last["writes"] == 0


@pytest.mark.parametrize("race_enabled, puts", [(None, [412, 200]), (False, [412])])
def test_state_manager_412_rereads_once_and_puts_again_only_if_needed(ansible, simulator, nsx, race_enabled, puts):
    made = new_session(simulator, realize_after=0)
    simulator.command("nsxt", "race_next_write", session_id=made["session_id"], enabled=race_enabled)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_id=made["session_id"], enabled=False))
    assert run.rc == 0, run
    assert [e["status"] for e in simulator.log(since=mark, appliance="nsxt", method="PUT")] == puts
    assert run.last["session"]["enabled"] is False and run.last["writes"] == len(puts)


# == issue 13 audit (M8 and the bugs): each test below was seen failing before its fix ===========
def entity_reads(sim, since, path=POLICY_ENTITIES):
    return list(sim.log(since=since, appliance="nsxt", path=path))


def test_state_policy_never_returns_before_the_realization_instant(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=1, realize_after=2)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False))
    assert run.rc == 0, run
    realized_at = simulator.command("nsxt", "policy_session", path=made["path"])["realized_at"]
    reads = entity_reads(simulator, mark)
    assert len(reads) == run.last["polls"]
    # the read that ended the wait came at or after the realization instant, every earlier one before it
    assert reads[-1]["time"] >= realized_at - 0.01
    assert all(r["time"] < realized_at + 0.01 for r in reads[:-1])


@pytest.mark.parametrize("module", [MODULE, STATE_MODULE])
def test_policy_tunnel_down_waits_through_the_stale_window_while_the_old_tunnel_is_up(ansible, simulator, nsx, module):
    made = policy_session(simulator, realize_after=0, tunnel_up_after=0)  # realized and UP from the start
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=1, realize_after=2)
    args = dict(connection(nsx, simulator), session_path=made["path"], wait_for="tunnel_down")
    if module == MODULE:
        simulator.command("nsxt", "change_policy_session", path=made["path"], enabled=False)
    else:
        args["enabled"] = False
    run = ansible.module(module, args)
    assert run.rc == 0, run
    states = [h["state"] for h in run.last["history"]]
    assert states[-1] == "DOWN" and run.last["tunnel"]["runtime_status"] == "DOWN"
    assert run.last["tunnel"]["fail_reason"] == "Session is disabled"
    if module == MODULE:
        assert states[0] == "UP"  # the tunnel of before the change, still up while NSX realizes it
        assert "in_sync" not in run.last and "realization" not in run.last  # only the tunnel was read
    else:  # first the realization of this change (never the REALIZED of before), then the tunnel
        assert states[0] == "STALE" and states[-2:] == ["REALIZED", "DOWN"]
        assert run.last["in_sync"] is True and run.last["realization"]["state"] == "REALIZED"


def test_policy_wait_false_reports_stale_as_data_and_the_state_module_returns_changed_since(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=20, realize_after=30)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False,
                                            wait=False))
    assert run.rc == 0, run
    stored = simulator.command("nsxt", "policy_session", path=made["path"])["resource"]
    assert run.last["changed"] is True and run.last["changed_since"] == stored["_last_modified_time"]
    assert run.last["polls"] == 0 and entity_reads(simulator, mark) == []
    info = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"], wait=False,
                                       changed_since=run.last["changed_since"]))
    assert info.rc == 0, info
    assert info.last["realization"]["state"] == "STALE" and info.last["in_sync"] is False
    assert info.last["polls"] == 1 and info.last["realization"]["ignored_entities"] == 2
    assert len(entity_reads(simulator, mark)) == 1


@pytest.mark.parametrize("form", ["tier-0", "project", "prefixed"])
def test_state_policy_works_on_every_path_form(ansible, simulator, nsx, form):
    options = {"tier-0": dict(tier="tier-0"), "project": dict(project="tenant-b"), "prefixed": {}}[form]
    made = policy_session(simulator, **options)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.5, realize_after=1)
    given = ("/policy/api/v1" + made["path"]) if form == "prefixed" else made["path"]
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=given, enabled=False))
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["realization"]["state"] == "REALIZED"
    assert [(e["method"], e["path"]) for e in policy_writes(simulator, mark, made["path"])] == [
        ("PATCH", "/policy/api/v1" + made["path"])]
    reads = entity_reads(simulator, mark)
    scope = made["path"].split("/infra/")[0]
    assert reads and all(e["path"] == "/policy/api/v1%s/infra/realized-state/realized-entities" % scope for e in reads)
    assert simulator.command("nsxt", "policy_session", path=made["path"])["resource"]["enabled"] is False


@pytest.mark.parametrize("module", [MODULE, STATE_MODULE])
def test_manager_tunnel_is_read_from_the_session_status(ansible, simulator, nsx, module):
    made = new_session(simulator, realize_after=1.5)
    mark = simulator.mark()
    args = dict(connection(nsx, simulator), session_id=made["session_id"])
    if module == MODULE:
        args["wait_for"] = "tunnel_up"  # UP once the session's change is realized
    else:
        args.update(enabled=False, wait_for="tunnel_down")
    run = ansible.module(module, args)
    assert run.rc == 0, run
    wanted = "UP" if module == MODULE else "DOWN"
    assert run.last["tunnel"]["runtime_status"] == wanted and run.last["history"][-1]["state"] == wanted
    status = list(simulator.log(since=mark, appliance="nsxt", path=r"/sessions/%s/status$" % made["session_id"]))
    assert status and all(e["query"] == "source=realtime" for e in status)
    if module == MODULE:
        assert "in_sync" not in run.last and [h["state"] for h in run.last["history"]][0] == "DOWN"
    else:
        assert run.last["in_sync"] is True and run.last["request_id"]


PSK_CASES = ["error_after_the_change", "patch_refused", "check_and_diff", "info_paths"]


@pytest.mark.parametrize("case", PSK_CASES)
def test_psk_never_appears_at_vvvv_on_failure_check_diff_and_in_the_info_module(ansible, simulator, nsx, case, tmp_path):
    made = policy_session(simulator)
    if case == "check_and_diff":
        extra = tmp_path / "vars.json"  # in a file: -vvvv prints the command line
        extra.write_text(json.dumps({"nsx": connection(nsx, simulator), "session_path": made["path"]}))
        run = ansible.playbook("nsxt_session_state.yml", check=True, args=["--diff", "-e", "@%s" % extra], verbosity=4)
        assert run.rc == 0, run
        assert run.task("Disable the session")["diff"] == {"before": {"enabled": True}, "after": {"enabled": False}}
    elif case == "info_paths":
        other = policy_session(simulator)
        simulator.command("nsxt", "delete_policy_session", path=other["path"], after=1)
        run = ansible.module(MODULE, dict(connection(nsx, simulator), session_paths=[made["path"], other["path"]],
                                          wait_for="deleted", wait_timeout=3), verbosity=4)
        assert run.rc != 0 and made["path"] in run.last["msg"]  # one deleted, one still there
    else:
        if case == "error_after_the_change":
            simulator.command("nsxt", "configure_policy_session", path=made["path"], outcome="ERROR", realize_after=0.5)
        else:
            simulator.fault(appliance="nsxt", method="PATCH", path=made["path"] + "$", kind="status", status=400)
        run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False),
                             verbosity=4)
        assert run.rc != 0, run
        assert ("failed to realize" if case == "error_after_the_change" else "HTTP 400") in run.last["msg"]
    for secret in simulator.command("nsxt", "psks")["psks"] + [nsx["password"]]:
        assert secret not in run.output
    assert made["psk"] in simulator.command("nsxt", "psks")["psks"]  # the scan looked for this one


def test_state_policy_session_changed_by_someone_else_between_get_and_patch(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.5, realize_after=1.5)
    simulator.command("nsxt", "race_next_write", path=made["path"])  # another client writes first
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False))
    assert run.rc == 0, run
    assert [(e["method"], e["status"]) for e in policy_writes(simulator, mark, made["path"])] == [("PATCH", 200)]
    stored = simulator.command("nsxt", "policy_session", path=made["path"])
    assert stored["changes"] == 3 and stored["resource"]["enabled"] is False  # creation, theirs, ours
    # tied to our change, the later one: its realization, not the other client's
    assert run.last["changed_since"] == stored["resource"]["_last_modified_time"]
    assert all(e["_last_modified_time"] >= run.last["changed_since"] for e in run.last["realization"]["entities"])


def test_state_policy_no_change_run_does_not_wait_for_ever_when_the_intent_is_newer(ansible, simulator, nsx):
    made = policy_session(simulator, enabled=False)
    simulator.command("nsxt", "touch_policy_session", path=made["path"])  # a tag edit: nothing to realize
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False,
                                            wait_timeout=3))
    assert run.rc == 0, run
    assert run.last["changed"] is False and run.last["in_sync"] is True and run.last["polls"] == 1
    assert "changed_since" not in run.last
    assert any("older than the session's last modification" in w for w in run.last.get("warnings", []))


@pytest.mark.parametrize("status, outcome", [(503, "resent"), (504, "not_resent")])
def test_state_policy_patch_refused_before_nsx_took_it(ansible, simulator, nsx, status, outcome):
    made = policy_session(simulator)
    simulator.command("nsxt", "configure_policy_session", path=made["path"], stale_window=0.3, realize_after=1)
    simulator.fault(appliance="nsxt", method="PATCH", path=made["path"] + "$", kind="status", status=status)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_path=made["path"], enabled=False))
    writes = policy_writes(simulator, mark, made["path"])
    stored = simulator.command("nsxt", "policy_session", path=made["path"])
    if outcome == "resent":  # NSX turned it away: sent again, one accepted write
        assert run.rc == 0, run
        assert [e["status"] for e in writes] == [503, 200] and run.last["writes"] == 2
        assert stored["changes"] == 2 and run.last["realization"]["state"] == "REALIZED"
    else:  # NSX may still apply it: not sent again, a clear failure
        assert run.rc != 0
        assert [e["status"] for e in writes] == [504] and "not sent again" in run.last["msg"]
        assert stored["changes"] == 1 and stored["resource"]["enabled"] is True
    assert "Traceback" not in run.output


def test_state_manager_lost_put_answer_warns_that_the_request_id_is_unknown(ansible, simulator, nsx):
    made = new_session(simulator, realize_after=0.5)
    simulator.fault(appliance="nsxt", method="PUT", path=made["session_id"] + "$", kind="status", status=502, after=True)
    mark = simulator.mark()
    run = ansible.module(STATE_MODULE, dict(connection(nsx, simulator), session_id=made["session_id"], enabled=False))
    assert run.rc == 0, run
    puts = list(simulator.log(since=mark, appliance="nsxt", method="PUT"))
    assert [e["status"] for e in puts] == [502, 412] and run.last["writes"] == 2
    assert "request_id" not in run.last and run.last["in_sync"] is True
    assert any("x-nsx-requestid" in w for w in run.last.get("warnings", []))


def test_policy_html_404_is_not_taken_for_deleted(ansible, simulator, nsx):
    made = policy_session(simulator)
    simulator.fault(appliance="nsxt", method="GET", path=made["path"] + "$", kind="html", status=404, count=None)
    run = ansible.module(MODULE, dict(connection(nsx, simulator), session_path=made["path"], wait_for="deleted"))
    assert run.rc != 0
    assert "HTTP 404" in run.last["msg"] and "without NSX's error body" in run.last["msg"]
    assert run.last.get("deleted") is not True


# -- the vpn_realization_check role with Policy paths and a tunnel wait ----------------------------
ROLE_PHASES = {
    "realized": ("Wait for the NSX IPsec VPN sessions given by Manager id", "Wait for the NSX IPsec VPN sessions given by Policy path"),
    "tunnel": ("Wait for the tunnels of the sessions given by Manager id", "Wait for the tunnels of the sessions given by Policy path"),
}


def test_role_follows_ids_and_paths_and_reports_realization_and_tunnel(ansible, simulator, nsx, tmp_path):
    from .test_roles import run_role
    manager = new_session(simulator, realize_after=0.5)
    broken = new_session(simulator, realize_after=0.5, outcome="error")
    # realized 2 s after the role first reads them, whenever Ansible gets there
    up = policy_session(simulator, realize_after=2, tunnel_up_after=0.5, start_on_first_read=True)
    never = policy_session(simulator, realize_after=2, tunnel_up_after=None, fail_reason="NO_PROPOSAL_CHOSEN",
                           start_on_first_read=True)
    mark = simulator.mark()
    run = run_role(ansible, simulator, tmp_path, "vpn_realization_check", vpn_realization_check_wait_for="tunnel_up",
                   vpn_realization_check_wait_timeout=6, vpn_realization_check_sessions=[
                       {"id": manager["session_id"], "name": "manager"}, {"path": up["path"], "name": "office"},
                       {"path": never["path"], "name": "lab"}, {"id": broken["session_id"], "name": "broken"}])
    assert run.rc != 0
    report = run.task("Report each session")["msg"]
    assert report[0].startswith("manager: realization in_sync, tunnel UP"), report
    assert report[1].startswith("office: realization REALIZED, tunnel UP (IKE UP)"), report
    assert report[2].startswith("FAILED lab: realization REALIZED, tunnel DOWN") and "NO_PROPOSAL_CHOSEN" in report[2]
    assert report[3].startswith("FAILED broken: realization error, tunnel not read") and "NO_PROPOSAL_CHOSEN" in report[3]
    assert "2 of 4 sessions failed: lab | broken" in run.task("Fail when a session did not get there")["msg"]
    # a session whose realization failed is not waited for again
    assert list(simulator.log(since=mark, appliance="nsxt", path=r"%s/status$" % broken["session_id"])) == []
    tunnel_ids = run.task(ROLE_PHASES["tunnel"][0])
    assert [s["session_id"] for s in tunnel_ids["sessions"]] == [manager["session_id"]]
    # one deadline for the whole role: the realization phase's time is not given again to the tunnel phase
    first, second = run.task(ROLE_PHASES["realized"][1]), run.task(ROLE_PHASES["tunnel"][1])
    assert first["elapsed"] >= 1.5 and first["elapsed"] + second["elapsed"] <= 6.5, (first["elapsed"], second["elapsed"])


def test_role_refuses_in_effect_with_policy_paths_before_any_request(ansible, simulator, nsx, tmp_path):
    from .test_roles import run_role
    mark = simulator.mark()
    run = run_role(ansible, simulator, tmp_path, "vpn_realization_check", vpn_realization_check_wait_for="in_effect",
                   vpn_realization_check_sessions=[{"path": nsx["samples"]["policy_session_path"]}])
    assert run.rc != 0
    assert "vpn_realization_check: in_effect is a state of the Manager API" in run.output
    assert simulator.log(since=mark, appliance="nsxt") == []
