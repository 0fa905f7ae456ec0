"""vmware_request_status_info: input checks, waiting, failure and timeout, on a fake clock."""


import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _customer_connect as cc
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, InputError, WaitFailed, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.modules import vmware_request_status_info as module_under_test

from ..module_utils.scripted import Step, fake_waits, install

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.bW9kdWxlLXRlc3Qtc2lnbmF0dXJl"
REQUEST_ID = "1uy14hzktpz7n7a9h"
STATUS_PATH = "/v1/m4/api/myvmware/external/requests/%s/status" % REQUEST_ID
TRACE = "b13a30a88b1e4d64"


def params(**overrides):
    values = dict(host=cc.DEFAULT_HOST, access_token=TOKEN, validate_certs=True, ca_path=None,
                  timeout=30, retries=3, request_id=REQUEST_ID, success_statuses=["COMPLETED"],
                  failure_statuses=["FAILED", "ERROR", "CANCELLED"], wait=True, wait_timeout=300,
                  wait_sleep=10)
    values.update(overrides)
    return values


class FakeModule:
    def __init__(self, **overrides):
        self.params = params(**overrides)
        self._name = "hybridcloud.ops.vmware_request_status_info"
        self.no_log_values = set()


def status(name, **fields):
    body = {"id": REQUEST_ID, "operation": "inviteUsers", "performedBy": "ops-admin@example.com",
            "creationTime": "2024-03-05T09:12:44.001Z", "message": "Request status is %s." % name}
    if name is not None:
        body["status"] = name
    body.update(fields)
    return Step("GET", STATUS_PATH, body=body)


@pytest.fixture
def clock(monkeypatch):
    return fake_waits(monkeypatch, module_under_test)


def run(clock, *steps, **overrides):
    """Run the module's run() against scripted answers; return (result or error, script)."""
    module = FakeModule(**overrides)
    with cc.connect(module) as client:
        client.clock, client.sleep = clock, clock.sleep
        script = install(client, *steps)
        try:
            outcome = module_under_test.run(module, client)
        except (ApiError, WaitFailed, WaitTimeout) as exc:
            outcome = exc
    script.assert_done()
    return outcome


# -- waiting ---------------------------------------------------------------------------------
def test_waits_through_in_progress_until_completed_and_returns_the_report(clock):
    report = [{"user@example.com": "Invitation has been sent to user successfully."}]
    result = run(clock, status("IN_PROGRESS"), status("IN_PROGRESS"),
                 status("COMPLETED", report=report))
    assert result["changed"] is False and result["completed"] is True
    assert result["request"]["status"] == "COMPLETED" and result["request"]["report"] == report
    assert result["polls"] == 3 and len(clock.sleeps) == 2
    assert [h["state"] for h in result["history"]] == ["IN_PROGRESS", "COMPLETED"]
    assert result["elapsed"] == pytest.approx(sum(clock.sleeps), abs=0.001)


@pytest.mark.parametrize("final, success_statuses", [
    ("Completed", ["COMPLETED"]),
    ("COMPLETED", ["completed"]),
    ("done", ["DONE"]),
])
def test_success_statuses_are_matched_without_regard_to_case(clock, final, success_statuses):
    result = run(clock, status(final), success_statuses=success_statuses)
    assert result["completed"] is True and result["polls"] == 1
    assert result["history"] == [{"state": final, "elapsed": 0.0}]


def test_unknown_and_missing_statuses_count_as_in_progress(clock):
    result = run(clock, status("QUEUED_FOR_APPROVAL"), status(None), status("COMPLETED"))
    assert result["completed"] is True
    assert [h["state"] for h in result["history"]] == ["QUEUED_FOR_APPROVAL", "(no status)", "COMPLETED"]


def test_partially_completed_is_a_success_when_listed(clock):
    result = run(clock, status("IN_PROGRESS"), status("PARTIALLY_COMPLETED"),
                 success_statuses=["COMPLETED", "PARTIALLY_COMPLETED"])
    assert result["completed"] is True and result["request"]["status"] == "PARTIALLY_COMPLETED"


# -- failure ---------------------------------------------------------------------------------
def test_a_failure_status_fails_at_once_with_the_request_message_and_report(clock):
    report = [{"a@example.com": "Invitation could not be sent: the user already has access."}]
    error = run(clock, status("IN_PROGRESS"),
                status("Failed", message="Request has failed. Please check report for further details.",
                       report=report))
    assert isinstance(error, WaitFailed)
    assert error.msg == (
        "Customer Connect request %s (inviteUsers by ops-admin@example.com) ended with status "
        "Failed: Request has failed. Please check report for further details. Report: "
        '[{"a@example.com": "Invitation could not be sent: the user already has access."}]' % REQUEST_ID)
    fail = error.to_fail_kwargs()
    assert fail["completed"] is False and fail["polls"] == 2
    assert fail["request"]["report"] == report
    assert [h["state"] for h in fail["history"]] == ["IN_PROGRESS", "Failed"]


def test_a_custom_failure_status_fails(clock):
    error = run(clock, status("PARTIALLY_COMPLETED"),
                failure_statuses=["FAILED", "PARTIALLY_COMPLETED"])
    assert isinstance(error, WaitFailed)
    assert "ended with status PARTIALLY_COMPLETED" in error.msg


def test_an_api_error_while_waiting_ends_the_wait_with_the_token_message(clock):
    expired = Step("GET", STATUS_PATH, status=401, body={
        "statusCode": 400, "traceId": TRACE,
        "errorDetails": [{"errorCode": "VMW-XXX-XXX", "message": "Access Token is not valid or expired."}]})
    error = run(clock, status("IN_PROGRESS"), expired)
    assert isinstance(error, ApiError) and error.status_code == 401
    assert error.msg.startswith("The Customer Connect access token is invalid or expired")
    assert error.correlation_id == TRACE and error.msg.endswith("[traceId %s]" % TRACE)


# -- timeout -----------------------------------------------------------------------------------
def test_timeout_names_the_request_the_goal_the_deadline_and_the_last_status(clock):
    steps = [status("IN_PROGRESS", message="Request is in progress.")] * 11
    error = run(clock, *steps, wait_timeout=5)
    assert isinstance(error, WaitTimeout)
    assert error.msg == ("Timed out after 5 s waiting for Customer Connect request %s to reach "
                         "COMPLETED; last state: IN_PROGRESS (Request is in progress.)" % REQUEST_ID)
    fail = error.to_fail_kwargs()
    assert fail["completed"] is False and fail["polls"] == 11 and fail["elapsed"] == 5.0
    assert fail["request"]["status"] == "IN_PROGRESS"


def test_timeout_on_a_status_in_neither_list_says_how_to_make_it_final(clock):
    steps = [status("PARTIALLY_COMPLETED")] * 6
    error = run(clock, *steps, wait_timeout=2, success_statuses=["Completed", "done"])
    assert isinstance(error, WaitTimeout)
    assert error.msg.startswith("Timed out after 2 s waiting for Customer Connect request %s to "
                                "reach COMPLETED or DONE; last state: PARTIALLY_COMPLETED" % REQUEST_ID)
    assert error.msg.endswith("statuses in neither success_statuses nor failure_statuses count as "
                              "in progress; add PARTIALLY_COMPLETED to one of them if it is final")


def test_an_empty_failure_list_keeps_waiting_on_failed(clock):
    error = run(clock, *[status("FAILED")] * 6, wait_timeout=2, failure_statuses=[])
    assert isinstance(error, WaitTimeout)
    assert "last state: FAILED" in error.msg and "add FAILED to one of them" in error.msg


# -- wait: false -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, completed", [("IN_PROGRESS", False), ("COMPLETED", True), ("FAILED", False)])
def test_wait_false_reads_once_and_reports_the_status_as_it_is(clock, name, completed):
    result = run(clock, status(name), wait=False)
    assert result["completed"] is completed and result["request"]["status"] == name
    assert result["polls"] == 1 and result["elapsed"] == 0.0 and clock.sleeps == []
    assert result["history"] == [{"state": name, "elapsed": 0.0}]


# -- input checks (before any request) ------------------------------------------------------------
@pytest.mark.parametrize("request_id", [REQUEST_ID, "A1", "req-2024_03.5", "x" * 128])
def test_request_ids_of_the_expected_form_are_accepted(request_id):
    module_under_test.validate(params(request_id=request_id))


@pytest.mark.parametrize("request_id, fragment", [
    ("", "got an empty string"),
    ("   ", "got an empty string"),
    ("a/../b", "without '/', '?', '#', '%' or spaces"),
    ("abc?x=1", "without '/', '?', '#', '%' or spaces"),
    ("abc def", "without '/', '?', '#', '%' or spaces"),
    ("-abc", "got '-abc'"),
    (".hidden", "got '.hidden'"),
    ("x" * 129, "got 'xxxx"),
    ("r\u00e9quest", "got 'r\u00e9quest'"),
])
def test_a_malformed_request_id_is_refused_naming_the_option_and_the_form(request_id, fragment):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(params(request_id=request_id))
    assert caught.value.msg.startswith("request_id: must be a Customer Connect request id such as "
                                       "1uy14hzktpz7n7a9h")
    assert fragment in caught.value.msg


@pytest.mark.parametrize("success, failure, message", [
    (["COMPLETED", "FAILED"], ["FAILED", "ERROR"],
     "success_statuses: FAILED is also listed in failure_statuses; a status means success or "
     "failure, not both"),
    (["completed", "Error"], ["ERROR", "COMPLETED"],
     "success_statuses: COMPLETED, ERROR are also listed in failure_statuses; a status means "
     "success or failure, not both"),
    ([], ["FAILED"], "success_statuses: must list at least one status, such as COMPLETED"),
    (["COMPLETED", " "], ["FAILED"], "success_statuses: must list status names such as COMPLETED, "
                                     "got an empty one"),
    (["COMPLETED"], [""], "failure_statuses: must list status names such as COMPLETED, got an empty one"),
])
def test_status_lists_must_be_usable_and_must_not_overlap(success, failure, message):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(params(success_statuses=success, failure_statuses=failure))
    assert caught.value.msg == message


def test_an_empty_failure_list_is_allowed():
    module_under_test.validate(params(failure_statuses=[]))


@pytest.mark.parametrize("option, value, message", [
    ("wait_timeout", 0, "wait_timeout: must be from 1 to 86400, got 0"),
    ("wait_sleep", 0, "wait_sleep: must be from 1 to 3600, got 0"),
])
def test_wait_options_are_checked(option, value, message):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(params(**{option: value}))
    assert caught.value.msg == message
