# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to the VMware Customer Connect API gateway: a Bearer access token, the
``ErrorResponse`` body (``errorDetails[].errorCode/message`` and a ``traceId`` to quote to
support), and what the status of an asynchronous request (``/requests/{id}/status``) means.

The vendor labelled this API beta and moved Customer Connect users to the Broadcom Support
Portal in May 2024; ``host`` stays configurable for a successor gateway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from contextlib import contextmanager

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec, validate_connection,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, base_url, vendor_text,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError, InputError

DEFAULT_HOST = "apigw.vmware.com"
API_ROOT = "/v1/m4/api/myvmware/external"
VENDOR = "Customer Connect"
CORRELATION_LABEL = "traceId"
ENV_PREFIX = "CUSTOMER_CONNECT_"

# Only COMPLETED is documented by the vendor; the failure names are the usual ones.
DEFAULT_SUCCESS_STATUSES = ("COMPLETED",)
DEFAULT_FAILURE_STATUSES = ("FAILED", "ERROR", "CANCELLED")

# A token goes into an HTTP header: visible ASCII only (no spaces, no line breaks).
_TOKEN_FORM = re.compile(r"^[\x21-\x7e]+$")
_BEARER_PREFIX = re.compile(r"^\s*bearer\s+", re.IGNORECASE)
REPORT_TEXT_LIMIT = 2000
# Words of status names that plainly mean "still running" (a timeout on them needs no hint).
RUNNING_WORDS = frozenset(("PROGRESS", "PENDING", "QUEUED", "RUNNING", "SUBMITTED", "PROCESSING",
                           "STARTED", "NEW", "WAITING", "SCHEDULED"))


def argument_spec():
    """Host, TLS, timeout and retries as every platform, plus the access token (no user/password)."""
    spec = connection_spec(ENV_PREFIX, default_host=DEFAULT_HOST, credentials=False)
    spec["access_token"] = dict(type="str", required=True, no_log=True,
                                fallback=(env_fallback, [ENV_PREFIX + "ACCESS_TOKEN"]))
    return spec


def bearer_token(value):
    """The token alone (a pasted ``Bearer `` prefix is dropped), or InputError without echoing it."""
    token = _BEARER_PREFIX.sub("", value or "").strip()
    if not token:
        raise InputError("access_token", "must be a Customer Connect access token, got an empty "
                                         "value; set it or CUSTOMER_CONNECT_ACCESS_TOKEN")
    if not _TOKEN_FORM.match(token):
        raise InputError("access_token", "must be a Customer Connect access token (visible ASCII "
                                         "characters, no spaces or line breaks); the value given "
                                         "is not one (not shown)")
    return token


def parse_error(body):
    """(code, message, traceId) of a Customer Connect ``ErrorResponse`` body.

    The body's ``statusCode`` is ignored on purpose: the vendor's own examples put 400 in the
    bodies of 401, 404 and 500 answers, so only the HTTP status is trusted.
    """
    if not isinstance(body, dict):
        return None, None, None
    details = body.get("errorDetails")
    if isinstance(details, dict):
        details = [details]
    pairs = []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict):
            code, text = vendor_text(detail.get("errorCode")), vendor_text(detail.get("message"))
            if code or text:
                pairs.append((code, text))
    code = message = None
    if pairs:
        code, message = pairs[0]
        others = ["%s: %s" % (c, m) if c and m else (c or m) for c, m in pairs[1:]]
        if others:
            message = "; ".join([message or "(no message)"] + others)
    else:
        # A gateway in front of the API may answer in its own words.
        for key in ("message", "error_description", "error"):
            message = vendor_text(body.get(key))
            if message:
                break
    return code, message, vendor_text(body.get("traceId"))


@contextmanager
def connect(module):
    """An ``ApiClient`` for the Customer Connect gateway, closed when the block ends."""
    params = module.params
    validate_connection(params)
    token = bearer_token(params["access_token"])
    # The option itself is no_log; the bare token (prefix dropped) must be masked as well.
    module.no_log_values.add(token)
    base = base_url(params["host"], api_root=API_ROOT)
    with ApiClient.from_params(
            params, module._name, base, headers={"Authorization": "Bearer %s" % token}, vendor=VENDOR,
            parse_error=parse_error, correlation_label=CORRELATION_LABEL, pool_size=1) as client:
        yield client


def request_status_path(request_id):
    return "%s/requests/%s/status" % (API_ROOT, quote(request_id, safe=""))


def read_request_status(client, request_id):
    """One ``GET .../requests/{id}/status``: the request object, or an ApiError that says why not."""
    try:
        body = client.get(request_status_path(request_id)).body
    except ApiError as exc:
        if exc.status_code == 401:
            raise _explained(exc, "The Customer Connect access token is invalid or expired; generate "
                                  "a new one from your API key")
        if exc.status_code == 404:
            raise _explained(exc, "Customer Connect has no request with id %s" % request_id)
        raise
    if not isinstance(body, dict):
        raise ApiError("GET %s: the answer is not a request status object: %s"
                       % (request_status_path(request_id), _short(body, 200, "...")),
                       method="GET", path=request_status_path(request_id), status_code=200)
    return body


def _explained(exc, lead):
    return ApiError("%s: %s" % (lead, exc.msg), **dict(exc.context))


def normalise_statuses(statuses):
    return frozenset(str(s).strip().upper() for s in statuses or ())


def classify(status, success, failure):
    """``success``, ``failure`` or ``in_progress`` (anything unknown, or no status at all).

    ``success`` and ``failure`` are sets of upper-case names; the comparison ignores case.
    """
    name = str(status).strip().upper() if status is not None else ""
    if name and name in success:
        return "success"
    if name and name in failure:
        return "failure"
    return "in_progress"


def looks_in_progress(status):
    """Whether a status name says by itself that the request is still running."""
    return bool(RUNNING_WORDS & set(re.split(r"[^A-Z]+", str(status).upper())))


def describe_request(request_id, body):
    """``Customer Connect request <id> (<operation> by <user>)``."""
    about = [body.get("operation"), body.get("performedBy") and "by %s" % body["performedBy"]]
    about = " ".join(a for a in about if a)
    return "Customer Connect request %s%s" % (request_id, " (%s)" % about if about else "")


def describe_failure(request_id, body):
    """The request, its final status, its message and its report, in one line."""
    text = "%s ended with status %s" % (describe_request(request_id, body), body.get("status"))
    if body.get("message"):
        text += ": %s" % str(body["message"]).rstrip(".")
    text += "."
    if body.get("report") not in (None, "", [], {}):
        text += " Report: %s" % _short(body["report"], REPORT_TEXT_LIMIT,
                                       "... (the whole report is in the returned request)")
    return text


def _short(value, limit, ellipsis):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + ellipsis
