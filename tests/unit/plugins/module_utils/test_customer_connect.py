"""The Customer Connect platform layer: Bearer token, ErrorResponse parsing, status meaning."""

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _customer_connect as cc
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError, InputError

from .scripted import Step, install

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2VjcmV0LXNpZ25hdHVyZS11bml0"
REQUEST_ID = "1uy14hzktpz7n7a9h"
STATUS_PATH = "/v1/m4/api/myvmware/external/requests/%s/status" % REQUEST_ID
# The vendor's ErrorResponse example, as published for 400, 401, 404 and 500 alike.
VENDOR_ERROR = {
    "statusCode": 400, "timestamp": "string", "traceId": "b13a30a88b1e4d64",
    "requestId": "61f8f6d7acb254330dc6cbc9cf993717",
    "errorDetails": [{"errorCode": "VMW-XXX-XXX", "message": "Error occured while processing your request."}],
}
VENDOR_REQUEST = {
    "id": REQUEST_ID, "operation": "inviteUsers", "performedBy": "ops-admin@example.com",
    "creationTime": "1970-01-01T00:00:00.001Z", "status": "COMPLETED",
    "message": "Request is completed successfully. Please check report for further details.",
    "report": [{"user@example.com": "Invitation has been sent to user successfully."}],
}


class FakeModule:
    def __init__(self, **params):
        self.params = dict(host=cc.DEFAULT_HOST, access_token=TOKEN, validate_certs=True,
                           ca_path=None, timeout=30, retries=3)
        self.params.update(params)
        self._name = "hybridcloud.ops.vmware_request_status_info"
        self.no_log_values = set()


def read(*steps, **params):
    """Read REQUEST_ID through a client built by the platform; return (body or error, script)."""
    with cc.connect(FakeModule(**params)) as client:
        script = install(client, *steps)
        try:
            outcome = cc.read_request_status(client, REQUEST_ID)
        except ApiError as exc:
            outcome = exc
    script.assert_done()
    return outcome, script


# -- options --------------------------------------------------------------------------------
def test_options_are_host_with_the_vendor_default_tls_and_a_no_log_token_from_the_environment():
    spec = cc.argument_spec()
    assert spec["host"]["default"] == "apigw.vmware.com"
    assert spec["host"]["fallback"][1] == ["CUSTOMER_CONNECT_HOST"]
    assert spec["access_token"]["required"] is True and spec["access_token"]["no_log"] is True
    assert spec["access_token"]["fallback"][1] == ["CUSTOMER_CONNECT_ACCESS_TOKEN"]
    assert spec["validate_certs"]["fallback"][1] == ["CUSTOMER_CONNECT_VALIDATE_CERTS"]
    assert spec["ca_path"]["fallback"][1] == ["CUSTOMER_CONNECT_CA_PATH"]
    assert "username" not in spec and "password" not in spec


# -- the request and its Bearer token ---------------------------------------------------------
def test_status_is_read_from_the_default_gateway_with_the_bearer_token():
    body, script = read(Step("GET", STATUS_PATH, body=VENDOR_REQUEST))
    assert body == VENDOR_REQUEST
    (method, url, _kwargs, prepared), = script.sent
    assert method == "GET"
    assert url == "https://apigw.vmware.com" + STATUS_PATH
    assert prepared.headers["Authorization"] == "Bearer " + TOKEN
    assert prepared.headers["User-Agent"].endswith("(vmware_request_status_info)")


def test_a_pasted_bearer_prefix_is_dropped_and_the_bare_token_is_masked():
    module = FakeModule(access_token="Bearer  " + TOKEN)
    with cc.connect(module) as client:
        script = install(client, Step("GET", STATUS_PATH, body=VENDOR_REQUEST))
        cc.read_request_status(client, REQUEST_ID)
    assert script.sent[0][3].headers["Authorization"] == "Bearer " + TOKEN
    assert TOKEN in module.no_log_values


def test_a_successor_gateway_can_be_given_as_host():
    with cc.connect(FakeModule(host="https://api.example.com:8443/cc")) as client:
        script = install(client, Step("GET", "/cc" + STATUS_PATH, body=VENDOR_REQUEST))
        cc.read_request_status(client, REQUEST_ID)
    assert script.sent[0][1] == "https://api.example.com:8443/cc" + STATUS_PATH


@pytest.mark.parametrize("token", ["", "   ", "Bearer ", "abc def", "abc\ndef", "t\u00f6ken"])
def test_a_token_that_cannot_be_sent_is_refused_without_being_echoed(token):
    with pytest.raises(InputError) as caught:
        cc.bearer_token(token)
    assert caught.value.msg.startswith("access_token: must be a Customer Connect access token")
    if token.strip() and token.strip() != "Bearer":
        assert token not in caught.value.msg and token.split()[-1] not in caught.value.msg


def test_the_request_id_is_quoted_into_the_path():
    assert cc.request_status_path("a b/c") == "/v1/m4/api/myvmware/external/requests/a%20b%2Fc/status"


def test_a_status_answer_that_is_not_an_object_is_a_clear_error():
    error, _script = read(Step("GET", STATUS_PATH, body=["COMPLETED"]))
    assert isinstance(error, ApiError)
    assert error.msg == 'GET %s: the answer is not a request status object: ["COMPLETED"]' % STATUS_PATH


# -- ErrorResponse -----------------------------------------------------------------------------
@pytest.mark.parametrize("status, lead", [
    (400, "GET %s: HTTP 400 Bad Request" % STATUS_PATH),
    (401, "The Customer Connect access token is invalid or expired; generate a new one from "
          "your API key: GET %s: HTTP 401 Unauthorized" % STATUS_PATH),
    (404, "Customer Connect has no request with id %s: GET %s: HTTP 404 Not Found"
          % (REQUEST_ID, STATUS_PATH)),
    (500, "GET %s: HTTP 500 Internal Server Error" % STATUS_PATH),
])
def test_error_response_gives_the_http_status_error_details_and_trace_id(status, lead):
    # One request only: none of these is retried (retries=3 would use a second step).
    error, script = read(Step("GET", STATUS_PATH, status=status, body=VENDOR_ERROR))
    assert len(script.sent) == 1
    assert error.msg == ("%s, Customer Connect error VMW-XXX-XXX: Error occured while processing "
                         "your request. [traceId b13a30a88b1e4d64]" % lead)
    # The body says statusCode 400 whatever happened: the HTTP status wins.
    assert error.status_code == status
    assert error.vendor_code == "VMW-XXX-XXX"
    assert error.correlation_id == "b13a30a88b1e4d64"
    assert error.error == VENDOR_ERROR
    assert error.to_fail_kwargs()["correlation_id"] == "b13a30a88b1e4d64"


def test_every_error_detail_is_reported():
    body = dict(VENDOR_ERROR, errorDetails=[
        {"errorCode": "VMW-REQ-001", "message": "requestId is malformed."},
        {"errorCode": "VMW-REQ-002", "message": "requestId is too long."},
    ])
    error, _script = read(Step("GET", STATUS_PATH, status=400, body=body))
    assert ("Customer Connect error VMW-REQ-001: requestId is malformed.; VMW-REQ-002: requestId "
            "is too long. [traceId b13a30a88b1e4d64]") in error.msg


@pytest.mark.parametrize("body, parsed", [
    ({}, (None, None, None)),
    ({"traceId": "t1"}, (None, None, "t1")),
    ({"errorDetails": []}, (None, None, None)),
    ({"errorDetails": [{"message": "No code."}]}, (None, "No code.", None)),
    ({"errorDetails": [{"errorCode": "VMW-A-1"}]}, ("VMW-A-1", None, None)),
    ({"errorDetails": [{}, "junk", {"errorCode": "VMW-A-1", "message": "m"}]}, ("VMW-A-1", "m", None)),
    ({"errorDetails": None, "traceId": None}, (None, None, None)),
    ({"message": "Unauthorized"}, (None, "Unauthorized", None)),
    ({"error": "invalid_token", "error_description": "Token expired"}, (None, "Token expired", None)),
    ({"errorDetails": 1, "traceId": 7}, (None, None, "7")),
    ({"errorDetails": {"errorCode": 42, "message": ["a"]}}, ("42", '["a"]', None)),
    ({"errorDetails": "VMW-A-1: broken"}, (None, None, None)),
    ({"message": {"text": "nested"}}, (None, '{"text": "nested"}', None)),
    (["not", "an", "object"], (None, None, None)),
    ("text", (None, None, None)),
])
def test_parse_error_copes_with_missing_fields_and_other_shapes(body, parsed):
    assert cc.parse_error(body) == parsed


def test_an_error_body_without_details_is_shown_and_keeps_the_trace_id():
    error, _script = read(Step("GET", STATUS_PATH, status=500, body={"statusCode": 500, "traceId": "abc123"}))
    assert error.msg.startswith("GET %s: HTTP 500 Internal Server Error, Customer Connect error body: "
                                % STATUS_PATH)
    assert '"statusCode": 500' in error.msg and error.msg.endswith("[traceId abc123]")
    assert error.correlation_id == "abc123"


def test_a_non_json_error_page_gives_the_status_and_the_start_of_the_text():
    page = "<html><head><title>500</title></head><body><h1>Internal Server Error</h1></body></html>"
    error, _script = read(Step("GET", STATUS_PATH, status=500, text=page))
    assert error.msg == ("GET %s: HTTP 500 Internal Server Error, body: '500 Internal Server Error'"
                         % STATUS_PATH)
    assert error.correlation_id is None and error.error == {"text": page}


def test_an_empty_401_still_says_the_token_is_invalid_or_expired():
    error, _script = read(Step("GET", STATUS_PATH, status=401, text=""))
    assert error.msg.startswith("The Customer Connect access token is invalid or expired")
    assert "HTTP 401 Unauthorized, body: (empty body)" in error.msg
    assert error.status_code == 401


def test_the_token_never_appears_in_an_error():
    error, _script = read(Step("GET", STATUS_PATH, status=401, body=VENDOR_ERROR))
    assert TOKEN not in repr(error.to_fail_kwargs())


# -- what a status means ---------------------------------------------------------------------------
SUCCESS = cc.normalise_statuses(["COMPLETED"])
FAILURE = cc.normalise_statuses(cc.DEFAULT_FAILURE_STATUSES)


@pytest.mark.parametrize("status, meaning", [
    ("COMPLETED", "success"), ("completed", "success"), (" Completed ", "success"),
    ("FAILED", "failure"), ("Failed", "failure"), ("error", "failure"), ("CANCELLED", "failure"),
    ("IN_PROGRESS", "in_progress"), ("PARTIALLY_COMPLETED", "in_progress"),
    ("QUEUED_FOR_APPROVAL", "in_progress"), ("", "in_progress"), (None, "in_progress"),
])
def test_statuses_are_matched_without_regard_to_case_and_unknown_ones_are_in_progress(status, meaning):
    assert cc.classify(status, SUCCESS, FAILURE) == meaning


def test_custom_lists_are_normalised():
    success = cc.normalise_statuses(["completed", " Partially_Completed "])
    assert success == frozenset(["COMPLETED", "PARTIALLY_COMPLETED"])
    assert cc.classify("PARTIALLY_COMPLETED", success, FAILURE) == "success"


@pytest.mark.parametrize("status, running", [
    ("IN_PROGRESS", True), ("pending", True), ("QUEUED", True), ("Running", True),
    ("PARTIALLY_COMPLETED", False), ("COMPLETED", False), ("WEIRD", False),
])
def test_names_that_plainly_mean_running_are_recognised(status, running):
    assert cc.looks_in_progress(status) is running


def test_a_failure_is_described_with_the_request_message_and_report():
    body = dict(VENDOR_REQUEST, status="FAILED", message="Request has failed.",
                report=[{"a@example.com": "User already exists."}])
    assert cc.describe_failure(REQUEST_ID, body) == (
        'Customer Connect request %s (inviteUsers by ops-admin@example.com) ended with status '
        'FAILED: Request has failed. Report: [{"a@example.com": "User already exists."}]' % REQUEST_ID)


def test_a_report_object_is_described_as_given_and_a_missing_one_is_left_out():
    body = {"status": "ERROR", "report": {"summary": "0 of 2 users invited"}}
    assert cc.describe_failure("r1", body) == (
        'Customer Connect request r1 ended with status ERROR. Report: {"summary": "0 of 2 users invited"}')
    assert cc.describe_failure("r1", {"status": "ERROR", "message": "Boom"}) == (
        "Customer Connect request r1 ended with status ERROR: Boom.")


def test_a_long_report_is_cut_in_the_message():
    report = [{"user%d@example.com" % i: "Invitation could not be sent."} for i in range(500)]
    text = cc.describe_failure("r1", {"status": "FAILED", "report": report})
    assert len(text) < cc.REPORT_TEXT_LIMIT + 200
    assert text.endswith("... (the whole report is in the returned request)")
