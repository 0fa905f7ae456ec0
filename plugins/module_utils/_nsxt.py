# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to VMware NSX-T Manager: basic or certificate auth, the NSX error body
(``error_code``, ``error_message``, ``related_errors``), the ``x-nsx-requestid`` correlation
header, and what the realization states of the IPsec VPN session state API mean.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, vendor_text,
)

API_ROOT = "/api/v1"
VENDOR = "NSX"
CORRELATION_HEADER = "x-nsx-requestid"
# NSX admits 100 requests/s per client (then 429, error_code "102") and 40 concurrent requests
# per client (then 503). Following many sessions, stay well inside both.
MAX_REQUESTS_PER_SECOND = 50
MAX_CONCURRENT_REQUESTS = 16

ERROR_SERVICE_DISABLED = "110199"
ERROR_NOT_FOUND = "600"

# ConfigurationState: "in_sync" = the host has received the configuration; "success" = it is in
# effect. States named *FAILED*/*ERROR* (and partial_success, orphaned) are final failures;
# everything else (pending, in_progress, unknown, NOT_AVAILABLE, ...) is still moving.
REALIZED_STATES = frozenset(("in_sync", "success"))
IN_EFFECT_STATES = frozenset(("success",))
FAILED_STATES = frozenset(("error", "failed", "partial_success", "orphaned"))


def argument_spec():
    return connection_spec("NSXT_", host_env="NSXT_MANAGER_HOST", client_cert=True)


def parse_error(body):
    """(code, message, correlation id) of an NSX ApiError body."""
    if not isinstance(body, dict):
        return None, None, None
    message = vendor_text(body.get("error_message"))
    related = body.get("related_errors")
    extra = [vendor_text(r.get("error_message")) for r in related if isinstance(r, dict)] \
        if isinstance(related, list) else []
    extra = [text for text in extra if text]
    if extra:
        message = "%s (%s)" % (message or "", "; ".join(extra))
    return vendor_text(body.get("error_code")), message, None


@contextmanager
def connect(module, pool_size=1):
    """An ``ApiClient`` for NSX Manager, closed when the block ends."""
    with ApiClient.basic_or_certificate(module.params, module._name, API_ROOT, vendor=VENDOR,
                                        parse_error=parse_error, correlation_header=CORRELATION_HEADER,
                                        pool_size=pool_size) as client:
        yield client


def session_state_path(session_id):
    return "%s/vpn/ipsec/sessions/%s/state" % (API_ROOT, quote(session_id, safe=""))


def is_failed_state(state):
    text = str(state or "")
    return text in FAILED_STATES or "FAILED" in text.upper() or "ERROR" in text.upper()


def describe_failure(state_body):
    """The overall state and message, then each transport node that reported a problem."""
    head = "state %s" % state_body.get("state")
    if state_body.get("failure_code") is not None:
        head += " (failure_code %s)" % state_body["failure_code"]
    if state_body.get("failure_message"):
        head += ": %s" % state_body["failure_message"]
    nodes = []
    for node in state_body.get("details") or []:
        if not isinstance(node, dict):
            continue
        if node.get("state") in REALIZED_STATES and not node.get("failure_message"):
            continue
        nodes.append("%s %s is %s%s" % (
            node.get("sub_system_type") or "node", node.get("sub_system_id") or "?",
            node.get("state"), ": %s" % node["failure_message"] if node.get("failure_message") else ""))
    return " ".join([head.rstrip(".") + "."] + [n.rstrip(".") + "." for n in nodes])
