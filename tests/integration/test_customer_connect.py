"""vmware_request_status_info against the simulated Customer Connect gateway, over real HTTPS."""

import json
import os
import subprocess

import pytest

from .harness import BIN, assert_refused_before_any_request

MODULE = "vmware_request_status_info"
APPLIANCE = "customer_connect"
STATUS_PATH = r"/v1/m4/api/myvmware/external/requests/[^/]+/status$"


@pytest.fixture
def gateway(simulator):
    return simulator.appliance(APPLIANCE)


def connection(gateway, sim):
    return {"host": gateway["host"], "access_token": gateway["access_token"],
            "ca_path": sim.config["ca_path"]}


def new_request(sim, **options):
    return sim.command(APPLIANCE, "create_request", **options)


def status_requests(sim, since, request_id=None):
    return [e for e in sim.log(since=since, appliance=APPLIANCE, path=STATUS_PATH)
            if request_id is None or "/requests/%s/status" % request_id in e["path"]]


# -- waiting -----------------------------------------------------------------------------------
def test_waits_through_in_progress_until_completed_and_returns_the_report(ansible, simulator, gateway):
    made = new_request(simulator, complete_after=2, users=["ana@example.com", "bo@example.com"],
                       start_on_first_read=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"]))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is False and result["completed"] is True
    request = result["request"]
    assert request["id"] == made["request_id"] and request["status"] == "COMPLETED"
    assert request["operation"] == "inviteUsers" and request["performedBy"] == gateway["performed_by"]
    assert request["message"] == ("Request is completed successfully. Please check report for "
                                  "further details.")
    assert request["report"] == [
        {"ana@example.com": "Invitation has been sent to user successfully."},
        {"bo@example.com": "Invitation has been sent to user successfully."}]
    assert [h["state"] for h in result["history"]] == ["IN_PROGRESS", "COMPLETED"]
    assert 1.5 <= result["elapsed"] <= 10
    sent = status_requests(simulator, mark, made["request_id"])
    assert len(sent) == result["polls"] >= 2
    assert all(e["method"] == "GET" and e["status"] == 200 for e in sent)
    assert simulator.log(since=mark, appliance=APPLIANCE) == sent


def test_a_status_in_another_case_is_still_a_success(ansible, simulator, gateway):
    made = new_request(simulator, timeline=[[0, "in_progress"], [1, "Completed"]],
                       start_on_first_read=True)
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"]))
    assert run.rc == 0, run
    assert run.last["completed"] is True
    assert [h["state"] for h in run.last["history"]] == ["in_progress", "Completed"]


def test_a_failed_request_fails_with_its_message_and_report(ansible, simulator, gateway):
    failed = gateway["samples"]["failed_request_id"]
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=failed))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith(
        "Customer Connect request %s (inviteUsers by %s) ended with status FAILED: Request has "
        "failed. Please check report for further details. Report: [{\"user1@example.com\": "
        "\"Invitation could not be sent" % (failed, gateway["performed_by"]))
    assert "user3@example.com" in result["msg"]
    assert result["completed"] is False
    assert result["request"]["status"] == "FAILED" and len(result["request"]["report"]) == 3
    assert len(status_requests(simulator, mark, failed)) == 1
    assert "Traceback" not in run.output


def test_a_request_that_fails_later_fails_when_it_does(ansible, simulator, gateway):
    made = new_request(simulator, final_status="FAILED", complete_after=1.5, start_on_first_read=True)
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"]))
    assert run.rc != 0
    assert "ended with status FAILED" in run.last["msg"]
    assert [h["state"] for h in run.last["history"]] == ["IN_PROGRESS", "FAILED"]


def test_a_failed_request_can_be_rescued_and_its_report_read(ansible, simulator, gateway):
    run = ansible.playbook("customer_connect_failed_request.yml", extra_vars={
        "customer_connect": connection(gateway, simulator),
        "request_id": gateway["samples"]["failed_request_id"]})
    assert run.rc == 0, run
    assert run.task("Show the users the request could not handle")["msg"] == [
        "user1@example.com", "user2@example.com", "user3@example.com"]


# -- PARTIALLY_COMPLETED: in neither default list -------------------------------------------------
def test_partially_completed_with_the_default_lists_waits_until_the_timeout_and_says_why(
        ansible, simulator, gateway):
    partial = gateway["samples"]["partial_request_id"]
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=partial, wait_timeout=2))
    assert run.rc != 0
    result = run.last
    assert result["msg"] == (
        "Timed out after 2 s waiting for Customer Connect request %s to reach COMPLETED; last "
        "state: PARTIALLY_COMPLETED (Request is partially completed. Please check report for "
        "further details.); statuses in neither success_statuses nor failure_statuses count as in "
        "progress; add PARTIALLY_COMPLETED to one of them if it is final" % partial)
    assert result["completed"] is False and result["polls"] >= 2
    assert result["request"]["status"] == "PARTIALLY_COMPLETED"


def test_partially_completed_is_a_success_when_listed_in_success_statuses(ansible, simulator, gateway):
    made = new_request(simulator, final_status="PARTIALLY_COMPLETED", complete_after=1, users=4,
                       start_on_first_read=True)
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"],
                                      success_statuses=["COMPLETED", "partially_completed"]))
    assert run.rc == 0, run
    result = run.last
    assert result["completed"] is True and result["request"]["status"] == "PARTIALLY_COMPLETED"
    outcomes = [list(entry.values())[0] for entry in result["request"]["report"]]
    assert outcomes.count("Invitation has been sent to user successfully.") == 2
    assert len(outcomes) == 4


def test_partially_completed_fails_when_listed_in_failure_statuses(ansible, simulator, gateway):
    partial = gateway["samples"]["partial_request_id"]
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=partial,
                                      failure_statuses=["FAILED", "PARTIALLY_COMPLETED"]))
    assert run.rc != 0
    assert "ended with status PARTIALLY_COMPLETED: Request is partially completed" in run.last["msg"]
    assert run.last["polls"] == 1


# -- errors: the vendor ErrorResponse ---------------------------------------------------------------
def test_a_wrong_token_says_it_is_invalid_or_expired(ansible, simulator, gateway):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(gateway, simulator), access_token="not-the-token",
                                      request_id=gateway["samples"]["completed_request_id"]))
    assert run.rc != 0
    result = run.last
    assert result["msg"].startswith("The Customer Connect access token is invalid or expired; "
                                    "generate a new one from your API key: GET ")
    assert "HTTP 401 Unauthorized, Customer Connect error VMW-TKN-401: Access Token is not valid " \
           "or expired." in result["msg"]
    assert result["status_code"] == 401
    assert len(simulator.log(since=mark, appliance=APPLIANCE)) == 1  # not retried


def test_an_expired_token_says_it_is_invalid_or_expired(ansible, simulator, gateway):
    expired = simulator.command(APPLIANCE, "issue_token", lifetime=0)["access_token"]
    run = ansible.module(MODULE, dict(connection(gateway, simulator), access_token=expired,
                                      request_id=gateway["samples"]["completed_request_id"]))
    assert run.rc != 0
    assert run.last["msg"].startswith("The Customer Connect access token is invalid or expired")
    assert expired not in run.output


def test_an_unknown_request_says_there_is_no_such_request(ansible, simulator, gateway):
    unknown = gateway["samples"]["unknown_request_id"]
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=unknown))
    assert run.rc != 0
    assert run.last["msg"].startswith(
        "Customer Connect has no request with id %s: GET /v1/m4/api/myvmware/external/requests/%s/"
        "status: HTTP 404 Not Found, Customer Connect error VMW-REQ-404: Operation with given "
        "requestId doesn't exist." % (unknown, unknown))
    assert run.last["status_code"] == 404


@pytest.mark.parametrize("case, status, code", [
    ("malformed", 400, "VMW-REQ-400"),
    ("bad_token", 401, "VMW-TKN-401"),
    ("unknown", 404, "VMW-REQ-404"),
    ("server_error", 500, "VMW-SRV-500"),
    ("injected_500", 500, "VMW-SRV-500"),
])
def test_every_error_carries_the_http_status_vendor_code_and_trace_id(
        ansible, simulator, gateway, case, status, code):
    samples = gateway["samples"]
    args = dict(connection(gateway, simulator), request_id=samples["completed_request_id"])
    if case == "malformed":
        args["request_id"] = samples["malformed_request_id"]
    elif case == "bad_token":
        args["access_token"] = "expired-or-made-up"
    elif case == "unknown":
        args["request_id"] = samples["unknown_request_id"]
    elif case == "server_error":
        args["request_id"] = samples["server_error_request_id"]
    else:
        simulator.fault(appliance=APPLIANCE, path=args["request_id"], kind="status", status=500)
    run = ansible.module(MODULE, args)
    assert run.rc != 0
    result = run.last
    trace = result["error"]["traceId"]
    assert result["correlation_id"] == trace and result["msg"].endswith("[traceId %s]" % trace)
    assert result["status_code"] == status and result["vendor_code"] == code
    assert "HTTP %d" % status in result["msg"] and "Customer Connect error %s: " % code in result["msg"]
    # As in the vendor's examples, the body says 400 whatever the HTTP status.
    assert result["error"]["statusCode"] == 400 and result["error"]["requestId"]
    assert "Traceback" not in run.output


def test_a_transient_gateway_error_is_retried(ansible, simulator, gateway):
    done = gateway["samples"]["completed_request_id"]
    simulator.fault(appliance=APPLIANCE, path=done, kind="status", status=503, retry_after=1)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=done))
    assert run.rc == 0, run
    assert [e["status"] for e in status_requests(simulator, mark, done)] == [503, 200]


# -- wait: false and the deadline ------------------------------------------------------------------
def test_wait_false_reads_once_and_reports_the_status_as_it_is(ansible, simulator, gateway):
    made = new_request(simulator, complete_after=60)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"],
                                      wait=False))
    assert run.rc == 0, run
    result = run.last
    assert result["completed"] is False and result["request"]["status"] == "IN_PROGRESS"
    assert "report" not in result["request"]
    assert result["polls"] == 1 and result["history"] == [{"state": "IN_PROGRESS", "elapsed": 0.0}]
    assert len(status_requests(simulator, mark)) == 1


def test_wait_false_reports_a_failed_request_without_failing(ansible, simulator, gateway):
    run = ansible.module(MODULE, dict(connection(gateway, simulator), wait=False,
                                      request_id=gateway["samples"]["failed_request_id"]))
    assert run.rc == 0, run
    assert run.last["completed"] is False and run.last["request"]["status"] == "FAILED"


def test_timeout_names_the_request_the_goal_the_deadline_and_the_last_status(ansible, simulator, gateway):
    made = new_request(simulator, complete_after=60)
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"],
                                      wait_timeout=2))
    assert run.rc != 0
    result = run.last
    assert result["msg"] == ("Timed out after 2 s waiting for Customer Connect request %s to reach "
                             "COMPLETED; last state: IN_PROGRESS (Request is in progress.)"
                             % made["request_id"])
    assert result["request"]["status"] == "IN_PROGRESS" and result["completed"] is False
    assert 1.9 <= result["elapsed"] <= 4 and result["polls"] >= 3


# -- playbook features ---------------------------------------------------------------------------
def test_module_defaults_groups_check_mode_and_async(ansible, simulator, gateway):
    run = ansible.playbook("customer_connect_module_defaults.yml", extra_vars={
        "customer_connect": connection(gateway, simulator),
        "request_id": gateway["samples"]["completed_request_id"]})
    assert run.rc == 0, run
    assert run.task("Wait with the token from module_defaults")["completed"] is True
    assert run.task("Read once in check mode")["request"]["status"] == "COMPLETED"
    assert run.task("Wait as an async task")["completed"] is True
    assert run.task("Wait with the token from the all group")["completed"] is True


def test_environment_variables_are_the_fallbacks(ansible, simulator, gateway):
    env = {"CUSTOMER_CONNECT_HOST": gateway["url"],
           "CUSTOMER_CONNECT_ACCESS_TOKEN": gateway["access_token"],
           "CUSTOMER_CONNECT_CA_PATH": simulator.config["ca_path"]}
    run = ansible.module(MODULE, {"request_id": gateway["samples"]["completed_request_id"]}, env=env)
    assert run.rc == 0, run
    assert run.last["completed"] is True


def test_validate_certs_can_be_turned_off_from_the_environment(ansible, simulator, gateway):
    env = {"CUSTOMER_CONNECT_VALIDATE_CERTS": "false"}
    run = ansible.module(MODULE, {"host": gateway["host"], "access_token": gateway["access_token"],
                                  "request_id": gateway["samples"]["completed_request_id"]}, env=env)
    assert run.rc == 0, run


def test_an_untrusted_certificate_fails_clearly_by_default(ansible, simulator, gateway):
    run = ansible.module(MODULE, {"host": gateway["host"], "access_token": gateway["access_token"],
                                  "request_id": gateway["samples"]["completed_request_id"]})
    assert run.rc != 0
    assert "TLS failed" in run.last["msg"] and "CERTIFICATE_VERIFY_FAILED" in run.last["msg"]


# -- secrets -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["success", "failed_request", "unknown_request", "wrong_token",
                                  "bearer_prefix", "from_environment", "playbook"])
def test_the_token_never_appears_even_with_vvvv(ansible, simulator, gateway, case, tmp_path):
    samples = gateway["samples"]
    token = gateway["access_token"]
    args = dict(connection(gateway, simulator), request_id=samples["completed_request_id"])
    env = None
    if case == "failed_request":
        args["request_id"] = samples["failed_request_id"]
    elif case == "unknown_request":
        args["request_id"] = samples["unknown_request_id"]
    elif case == "wrong_token":
        token = "Wrong-" + token
        args["access_token"] = token
    elif case == "bearer_prefix":
        args["access_token"] = "Bearer " + token
    elif case == "from_environment":
        env = {"CUSTOMER_CONNECT_ACCESS_TOKEN": args.pop("access_token")}
    if case == "playbook":
        # From a vars file: ansible-playbook -vvvv echoes its own command line, -e included.
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps({"customer_connect": connection(gateway, simulator),
                                     "request_id": samples["completed_request_id"]}))
        run = ansible.playbook("customer_connect_module_defaults.yml", verbosity=4,
                               args=("-e", "@%s" % extra))
    else:
        run = ansible.module(MODULE, args, env=env, verbosity=4)
    assert (run.rc == 0) == (case in ("success", "bearer_prefix", "from_environment", "playbook")), run
    assert token not in run.output
    # The random signature alone must not leak either.
    assert token.rsplit(".", 1)[-1] not in run.output
    assert "********" in run.output or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output


# -- bad input: a clear message naming the option, and no request sent -----------------------------
@pytest.mark.parametrize("override, fragment", [
    ({"request_id": "a/../b"}, "request_id: must be a Customer Connect request id such as 1uy14hzktpz7n7a9h"),
    ({"request_id": ""}, "request_id: must be a Customer Connect request id"),
    ({"request_id": "-1uy14hzktpz7n7a9h"}, "request_id: must be a Customer Connect request id"),
    ({"request_id": None}, "missing required arguments: request_id"),
    ({"success_statuses": ["COMPLETED", "FAILED"]},
     "success_statuses: FAILED is also listed in failure_statuses"),
    ({"success_statuses": ["completed"], "failure_statuses": ["Completed"]},
     "success_statuses: COMPLETED is also listed in failure_statuses"),
    ({"success_statuses": []}, "success_statuses: must list at least one status"),
    ({"failure_statuses": ["FAILED", ""]}, "failure_statuses: must list status names"),
    ({"access_token": None}, "missing required arguments: access_token"),
    ({"access_token": ""}, "access_token: must be a Customer Connect access token, got an empty value"),
    ({"access_token": "two words"}, "access_token: must be a Customer Connect access token (visible ASCII"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"timeout": 0}, "timeout: must be from 1 to 3600, got 0"),
    ({"retries": 11}, "retries: must be from 0 to 10, got 11"),
    ({"host": "https://apigw.example.com/v1/m4/api/myvmware/external"},
     "host: must not include the API path /v1/m4/api/myvmware/external"),
    ({"host": "apigw.example.com:0"}, "host: port must be a number from 1 to 65535"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: no readable file at /nonexistent/ca.pem"),
    ({"username": "admin"}, "Unsupported parameters"),
])
def test_bad_input_is_refused_before_any_request(ansible, simulator, gateway, override, fragment):
    assert_refused_before_any_request(
        ansible, simulator, MODULE,
        dict(connection(gateway, simulator), request_id=gateway["samples"]["completed_request_id"]),
        override, fragment, [APPLIANCE])


# -- the retired API: deprecated the way ansible-core shows it, still working for a gateway ------
def test_module_warns_that_it_is_deprecated_and_why_and_still_works(ansible, simulator, gateway):
    made = new_request(simulator, complete_after=0)
    run = ansible.module(MODULE, dict(connection(gateway, simulator), request_id=made["request_id"]),
                         env={"ANSIBLE_DEPRECATION_WARNINGS": "true"})
    assert run.rc == 0, run
    assert run.last["completed"] is True
    assert "[DEPRECATION WARNING]" in run.output and "vmware_request_status_info" in run.output
    assert "apigw.vmware.com" in run.output and "2.0.0" in run.output


def test_ansible_doc_shows_the_deprecation_with_its_reason_and_removal_version(ansible):
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "hybridcloud.ops." + MODULE],
                         env=ansible.env(), capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)["hybridcloud.ops." + MODULE]["doc"]
    assert doc["deprecated"]["removed_in"] == "2.0.0"
    assert "retired" in doc["deprecated"]["why"] and "apigw.vmware.com" in doc["deprecated"]["why"]
    assert any("apigw.vmware.com" in note for note in doc["notes"])
