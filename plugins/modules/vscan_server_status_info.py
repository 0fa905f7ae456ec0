#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vscan_server_status_info
short_description: Read the Vscan server connection status of a NetApp ONTAP cluster, and wait for it
version_added: 1.0.0
description:
  - Reads the connection status of the external virus-scanning (Vscan) servers of an ONTAP
    cluster (C(GET /api/protocols/vscan/server-status), the REST form of
    C(vserver vscan connection-status show-all)), page by page, and sums it up per state,
    disconnection reason and SVM.
  - Follows ONTAP's C(_links.next.href) to the end of the collection (or to O(max_records)),
    over one connection, holding one page at a time besides the records it returns.
  - O(filters) are sent as ONTAP query parameters exactly as written, so ONTAP's own query
    syntax works, for example V(!connected), V(svm*) or V(svm1|svm2).
  - With O(wait_for_connected), reads again until at least O(min_connected) of the matching
    servers are connected and none is disconnected; on timeout the task fails listing the
    disconnected servers and their reasons.
  - With O(svm_min_connected), each SVM is judged against its own minimum (RV(svm_checks)), and
    O(wait_for_connected) waits until every listed SVM meets it; on timeout the task fails
    naming the SVMs still below their minimum.
  - O(return_servers) returns every record, only those not connected, or none; RV(summary),
    RV(count) and RV(svm_checks) always cover every matching server. A health check of a large
    cluster then returns kilobytes instead of megabytes (Ansible's handling of a large result,
    not the HTTP, is the dominant cost of a large read).
  - ONTAP error code 4 (entry doesn't exist, for example an unknown SVM in O(filters)) is an
    empty result, not a failure.
  - Never changes anything on the cluster.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.ontap
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait.timing
  - hybridcloud.ops.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  filters:
    description:
      - ONTAP fields and the values to match, sent as query parameters, for example
        C(svm.name), C(node.name), C(state), C(disconnected_reason), C(ip), C(type),
        C(vendor), C(update_time).
      - Values use ONTAP's query syntax and reach ONTAP unchanged, for example V(!connected)
        (not connected), V(svm*) (wildcard), V(svm1|svm2) (either), V(>2024-05-01T00:00:00Z),
        V(null) or V(!null). A list is sent as alternatives (V([a, b]) as V(a|b)).
      - Keys are ONTAP field names (letters, digits, C(_) and C(.)); the query options of
        this module (C(fields), C(order_by), C(max_records), C(return_timeout)) have options
        of their own.
    type: dict
  fields:
    description:
      - ONTAP fields to return for each server. ONTAP returns only key fields unless asked.
      - V(*) returns every field. Otherwise the module also asks for C(svm.name),
        C(node.name), C(ip), C(state) and C(disconnected_reason), which RV(summary) and the
        wait need.
    type: list
    elements: str
    default: ['*']
  order_by:
    description:
      - Sort order, each element a field and an optional direction, such as V(svm.name) or
        V(update_time desc).
    type: list
    elements: str
  max_records:
    description:
      - At most this many servers in total (over all pages). By default, all that match.
    type: int
  page_size:
    description:
      - Records asked for per request (ONTAP's C(max_records) of one request). The last
        request asks only for what is left of O(max_records).
      - ONTAP may answer with fewer (when O(return_timeout) runs out); the module then follows
        the next link as usual.
    type: int
    default: 1000
  return_timeout:
    description:
      - Seconds ONTAP may spend on one request before it answers with the records it has and a
        link to the rest (0 to 120). Must be less than O(timeout).
    type: int
    default: 15
  wait_for_connected:
    description:
      - Read again until at least O(min_connected) of the matching servers are C(connected)
        and none is C(disconnected), within O(wait_timeout). Each read is a full, paginated
        read.
      - The pause between two reads starts near half a second and grows with the time already
        waited, up to O(wait_sleep).
      - On timeout the task fails with the counts last seen and the first ten disconnected
        servers, each as its IP address, SVM, node and C(disconnected_reason), saying how many
        more there are, and returns that last read.
    type: bool
    default: false
  min_connected:
    description:
      - With O(wait_for_connected), how many matching servers must be connected (0 or more).
      - Not used when O(svm_min_connected) is set.
    type: int
    default: 1
  svm_min_connected:
    description:
      - Per SVM, the fewest connected Vscan servers it may have, as a dict of SVM name (or a
        pattern with C(*), such as V(prod*), which stands for every matching SVM) to a number
        (0 or more). Names are compared exactly, case included.
      - The module then returns RV(svm_checks), one verdict per SVM; a name or pattern that
        matches no SVM with servers counts as one SVM with no servers.
      - With O(wait_for_connected), the module reads again until every listed SVM has at least
        its minimum connected (disconnected servers elsewhere, or above the minimum, do not hold
        the wait); this replaces O(min_connected) and the none-disconnected condition. On timeout
        the task fails naming the SVMs below their minimum, and returns the last read.
      - Only the servers that O(filters) match are counted; to check a few SVMs, also filter
        on C(svm.name) (for example V(svm1|prod*)).
    type: dict
  return_servers:
    description:
      - Which records RV(servers) holds. V(all) every matching server; V(disconnected) only
        those not C(connected); V(none) none.
      - RV(count), RV(summary) and RV(svm_checks) always cover every matching server, and the
        wait judges every one of them, whatever this option says.
    type: str
    choices: [all, disconnected, none]
    default: all
notes:
  - The module asks ONTAP for JSON (C(Accept) C(application/json)), so records carry no HAL
    C(_links); this keeps large answers small.
  - A next-page link that ONTAP returns a second time means a broken cursor on the cluster;
    the task then fails rather than loop or return part of the collection silently.
  - Next-page links are followed only on the cluster's own scheme, host and port.
seealso:
  - name: ONTAP REST API, retrieve Vscan server status
    description: The API this module reads.
    link: https://docs.netapp.com/us-en/ontap-restapi/protocols_vscan_server-status_endpoint_overview.html
  - name: ONTAP automation, input variables controlling an API request
    description: ONTAP query syntax, C(fields), C(max_records), C(return_timeout) and paging.
    link: https://docs.netapp.com/us-en/ontap-automation/rest/input_variables.html
'''

EXAMPLES = r'''
- name: Health check of the Vscan servers of every SVM
  module_defaults:
    group/hybridcloud.ops.ontap:
      host: cluster1.example.com
      username: "{{ vault_ontap_user }}"
      password: "{{ vault_ontap_password }}"
      ca_path: /etc/pki/tls/ontap-ca.pem
  block:
    - name: Read the connection status of every Vscan server
      hybridcloud.ops.vscan_server_status_info:
      register: vscan_status

    - name: Fail for each SVM that has a disconnected Vscan server
      ansible.builtin.assert:
        that:
          - item.value.disconnected == 0
        fail_msg: >-
          SVM {{ item.key }}: {{ item.value.disconnected }} Vscan server(s) disconnected,
          {{ item.value.connected }} connected
        quiet: true
      loop: "{{ vscan_status.summary.by_svm | dict2items }}"
      loop_control:
        label: "{{ item.key }}"

    - name: Show why servers are disconnected
      ansible.builtin.debug:
        msg: "{{ vscan_status.summary.by_reason }}"

- name: Only the disconnected servers of the production SVMs (ONTAP query syntax)
  hybridcloud.ops.vscan_server_status_info:
    filters:
      svm.name: "prod*"
      state: "!connected"
    fields: [svm.name, node.name, ip, disconnected_reason, update_time]
    order_by: [svm.name, update_time desc]
  register: vscan_down

- name: After restarting the scanners, wait until at least 4 servers of svm1 are back
  hybridcloud.ops.vscan_server_status_info:
    filters:
      svm.name: svm1
    wait_for_connected: true
    min_connected: 4
    wait_timeout: 600

- name: Wait until each SVM has its own minimum of connected servers, return only the disconnected ones
  hybridcloud.ops.vscan_server_status_info:
    filters:
      svm.name: "svm1|prod*"
    svm_min_connected:
      svm1: 4
      "prod*": 2
    return_servers: disconnected
    wait_for_connected: true
    wait_timeout: 300
  register: vscan_svms

- name: Fail naming each SVM below its minimum
  ansible.builtin.assert:
    that:
      - vscan_svms.svm_checks | rejectattr('healthy') | list | length == 0
    fail_msg: "{{ vscan_svms.svm_checks | rejectattr('healthy') | map(attribute='svm') | join(', ') }}"

- name: The first 50 servers of two nodes, 25 per request
  hybridcloud.ops.vscan_server_status_info:
    filters:
      node.name: [cluster1-01, cluster1-02]
    max_records: 50
    page_size: 25

- name: Certificate authentication, host and certificate from ONTAP_* environment variables
  hybridcloud.ops.vscan_server_status_info:
    filters:
      disconnected_reason: "remote_closed|inactive_connection"
  environment:
    ONTAP_HOST: cluster1.example.com
    ONTAP_CLIENT_CERT: /etc/pki/tls/ontap-automation.pem
    ONTAP_CLIENT_KEY: /etc/pki/tls/private/ontap-automation.key
    ONTAP_CA_PATH: /etc/pki/tls/ontap-ca.pem
'''

RETURN = r'''
servers:
  description:
    - The matching Vscan server connection records, in ONTAP's order (or O(order_by)), with the
      fields of O(fields); with O(return_servers=disconnected) only those not connected, with
      O(return_servers=none) none.
  returned: always (also when a wait times out)
  type: list
  elements: dict
  sample:
    - svm: {name: svm1, uuid: 02c9e252-41be-11e9-81d5-00a0986138f7}
      node: {name: cluster1-01, uuid: 1cd8a442-86d1-11e0-ae1c-123478563412}
      ip: 10.16.0.1
      state: connected
      type: primary
      update_time: "2024-05-02T10:15:30+00:00"
      vendor: Trend Micro Inc.
      version: 6.0.1171
    - svm: {name: svm1, uuid: 02c9e252-41be-11e9-81d5-00a0986138f7}
      node: {name: cluster1-02, uuid: 4a6b1a2e-86d1-11e0-ae1c-123478563412}
      ip: 10.16.0.2
      state: disconnected
      disconnected_reason: remote_closed
      type: backup
      update_time: "2024-05-02T10:17:02+00:00"
  contains:
    svm:
      description: The SVM (C(name), C(uuid)).
      type: dict
    node:
      description: The node that holds the connection (C(name), C(uuid)).
      type: dict
    interface:
      description: The data LIF of the connection (C(name), C(uuid), C(ip.address)); ONTAP 9.10 and later.
      type: dict
      returned: when ONTAP reports it
    ip:
      description: IP address of the Vscan server.
      type: str
    state:
      description: C(connected) or C(disconnected).
      type: str
    disconnected_reason:
      description:
        - Why the server is disconnected, one of C(unknown), C(vscan_disabled), C(no_data_lif),
          C(session_uninitialized), C(remote_closed), C(invalid_protocol_msg),
          C(invalid_session_id), C(inactive_connection), C(invalid_user), C(server_removed).
      type: str
      returned: when disconnected
    type:
      description: C(primary) or C(backup).
      type: str
    update_time:
      description: Since when the server is in its state.
      type: str
    vendor:
      description: Vendor of the virus scanner.
      type: str
      returned: when connected
    version:
      description: Version of the virus scanner.
      type: str
      returned: when connected
    privileged_user:
      description: The privileged user of the connection; ONTAP 9.10 and later.
      type: str
      returned: when ONTAP reports it
count:
  description:
    - Number of matching servers (all of them, whatever O(return_servers) says; with
      O(max_records), at most that many).
  returned: always
  type: int
  sample: 2500
summary:
  description:
    - Every matching server counted by state, disconnection reason and SVM (also the records
      O(return_servers) leaves out of RV(servers)).
  returned: always
  type: dict
  sample:
    connected: 2398
    disconnected: 102
    by_reason: {vscan_disabled: 50, remote_closed: 9, inactive_connection: 7}
    by_svm:
      svm000: {connected: 25, disconnected: 0, reasons: {}}
      svm007: {connected: 20, disconnected: 5, reasons: {remote_closed: 3, inactive_connection: 2}}
  contains:
    connected:
      description: Servers in state C(connected).
      type: int
    disconnected:
      description: Servers in state C(disconnected).
      type: int
    by_reason:
      description: Disconnected servers per C(disconnected_reason) (C(unknown) when ONTAP gives none).
      type: dict
    by_svm:
      description:
        - Per SVM name, its C(connected) and C(disconnected) servers, and its disconnected
          servers per reason (C(reasons)).
      type: dict
svm_checks:
  description:
    - One verdict per SVM of O(svm_min_connected), in its order (the SVMs a pattern matches
      sorted by name), from the last read.
  returned: when O(svm_min_connected) is set
  type: list
  elements: dict
  sample:
    - {svm: svm1, pattern: svm1, connected: 3, disconnected: 1, reasons: {remote_closed: 1},
       min_connected: 4, healthy: false, found: true}
  contains:
    svm:
      description: The SVM name (the name or pattern itself when no SVM matched).
      type: str
    pattern:
      description: The key of O(svm_min_connected) this SVM was matched by.
      type: str
    connected:
      description: Its connected servers.
      type: int
    disconnected:
      description: Its disconnected servers.
      type: int
    reasons:
      description: Its disconnected servers per C(disconnected_reason).
      type: dict
    min_connected:
      description: Its minimum.
      type: int
    healthy:
      description: Whether RV(svm_checks[].connected) is at least RV(svm_checks[].min_connected).
      type: bool
    found:
      description: Whether any matching server belongs to this SVM.
      type: bool
timed_out:
  description: Whether the wait ended at O(wait_timeout) without its condition met (the task then fails).
  returned: when O(wait_for_connected=true)
  type: bool
  sample: false
pages:
  description: Collection requests made (of the last read, when waiting).
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent waiting.
  returned: when O(wait_for_connected=true)
  type: float
  sample: 2.318
polls:
  description: Full reads made while waiting.
  returned: when O(wait_for_connected=true)
  type: int
  sample: 4
history:
  description: Each change of the connected and disconnected counts, with the seconds since the start.
  returned: when O(wait_for_connected=true)
  type: list
  elements: dict
  sample:
    - {state: "connected=20 disconnected=5", elapsed: 0.0}
    - {state: "connected=25 disconnected=0", elapsed: 2.21}
'''

import re

from ansible_collections.hybridcloud.ops.plugins.module_utils import _ontap as ontap
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    check_range, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    InputError, WaitError, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import Status, wait_until

SERVER_STATUS_PATH = ontap.API_ROOT + "/protocols/vscan/server-status"
# What the summary and the wait read from every record.
SUMMARY_FIELDS = ("svm.name", "node.name", "ip", "state", "disconnected_reason")
QUERY_OPTIONS = {"fields": "fields", "order_by": "order_by", "max_records": "max_records",
                 "return_timeout": "return_timeout", "return_records": None}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
FIELDS_ELEMENT = re.compile(r"^(\*\*?|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?)$")
ORDER_ELEMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*( (asc|desc))?$")
SVM_PATTERN = re.compile(r"^[A-Za-z0-9_.*-]+$")
DISCONNECTED_LISTED = 10
BELOW_LISTED = 20


def validate(params):
    check_range(params, "return_timeout", 0, ontap.RETURN_TIMEOUT_MAX)
    check_range(params, "page_size", 1)
    check_range(params, "max_records", 1)
    check_range(params, "min_connected", 0)
    validate_wait(params)
    if params["timeout"] >= 1 and params["return_timeout"] >= params["timeout"]:
        raise InputError("return_timeout", "must be less than timeout (%s s), or the request ends "
                         "before ONTAP answers; got %s" % (params["timeout"], params["return_timeout"]))
    for name, value in (params["filters"] or {}).items():
        check_filter(name, value)
    fields = params["fields"]
    if not fields:
        raise InputError("fields", "must name at least one field, for example ['*']")
    for field in fields:
        if not FIELDS_ELEMENT.match(field or ""):
            raise InputError("fields", "each element must be an ONTAP field name such as svm.name, "
                             "or * for all fields; got %r" % field)
    for item in params["order_by"] or []:
        if not ORDER_ELEMENT.match(" ".join((item or "").split())):
            raise InputError("order_by", "each element must be an ONTAP field name and optionally "
                             "asc or desc, such as 'update_time desc'; got %r" % item)
    params["svm_min_connected"] = check_svm_minimums(params["svm_min_connected"])
    if (params["wait_for_connected"] and params["max_records"] is not None
            and not params["svm_min_connected"]
            and params["min_connected"] > params["max_records"]):
        raise InputError("min_connected", "cannot be met when at most max_records (%s) servers are "
                         "read; got %s" % (params["max_records"], params["min_connected"]))


def check_svm_minimums(minimums):
    """The per-SVM minimums as {name or pattern: int}, or None; refused when malformed."""
    if minimums is None:
        return None
    if not minimums:
        raise InputError("svm_min_connected", "must name at least one SVM, such as {svm1: 2}")
    checked = {}
    for name, value in minimums.items():
        if not SVM_PATTERN.match(name or ""):
            raise InputError("svm_min_connected", "keys must be SVM names or patterns with '*' "
                             "(letters, digits, '_', '-', '.' and '*'); got %r" % name)
        try:
            number = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0:
            raise InputError("svm_min_connected", "the minimum of %s must be a whole number, 0 "
                             "or more; got %r" % (name, value))
        checked[name] = number
    return checked


def svm_checks(by_svm, minimums):
    """One verdict per SVM of ``minimums`` (a pattern stands for each SVM it matches)."""
    rows = []
    for pattern, minimum in minimums.items():
        if "*" in pattern:
            test = re.compile("^%s$" % ".*".join(re.escape(p) for p in pattern.split("*"))).match
            found = sorted(name for name in by_svm if test(name))
        else:
            found = [pattern] if pattern in by_svm else []
        for svm in found or [pattern]:
            counts = by_svm.get(svm) or {"connected": 0, "disconnected": 0, "reasons": {}}
            rows.append(dict(svm=svm, pattern=pattern, connected=counts["connected"],
                             disconnected=counts["disconnected"], reasons=dict(counts["reasons"]),
                             min_connected=minimum, healthy=counts["connected"] >= minimum,
                             found=svm in by_svm))
    return rows


def below_minimum(rows):
    """The SVMs below their minimum as text, the first few, saying how many more."""
    below = [r for r in rows if not r["healthy"]]
    listed = ["%s %d of %d%s" % (r["svm"], r["connected"], r["min_connected"],
                                 "" if r["found"] else " (no servers)") for r in below[:BELOW_LISTED]]
    more = len(below) - len(listed)
    return "below minimum: %s%s" % (", ".join(listed), "; and %d more" % more if more else "")


def check_filter(name, value):
    if not FIELD_NAME.match(name or ""):
        raise InputError("filters", "keys must be ONTAP field names such as svm.name (letters, "
                         "digits, '_' and '.'); got %r" % name)
    if name in QUERY_OPTIONS or name.startswith("start."):
        instead = QUERY_OPTIONS.get(name)
        raise InputError("filters", "%r is not a field to filter on%s" % (
            name, "; use the %s option" % instead if instead else ""))
    for item in value if isinstance(value, list) else [value]:
        if item is None or isinstance(item, (dict, list)) or "%s" % (item,) == "":
            raise InputError("filters", "the value of %s must be text in ONTAP query syntax (or a "
                             "list of such values), such as 'svm1', '!connected' or 'null'; got %r"
                             % (name, value))
    if isinstance(value, list) and not value:
        raise InputError("filters", "the value of %s must not be an empty list" % name)


def build_query(params):
    """(name, value) pairs of the first request; paging parameters are added by the reader."""
    pairs = [(name, ontap.query_value(value)) for name, value in sorted((params["filters"] or {}).items())]
    fields = list(params["fields"])
    if not any(f in ("*", "**") for f in fields):
        fields += [f for f in SUMMARY_FIELDS if f not in fields]
    pairs.append(("fields", ",".join(fields)))
    if params["order_by"]:
        pairs.append(("order_by", ",".join(" ".join(o.split()) for o in params["order_by"])))
    return pairs


class Summary:
    """Counts built while the pages go by, so no page has to be kept or read twice."""

    def __init__(self):
        self.connected = 0
        self.disconnected = 0
        self.by_reason = {}
        self.by_svm = {}
        self.first_disconnected = []

    def add(self, record):
        state = record.get("state")
        if state not in ("connected", "disconnected"):
            return
        svm = (record.get("svm") or {}).get("name") or "(no svm)"
        counts = self.by_svm.get(svm)
        if counts is None:
            counts = self.by_svm[svm] = {"connected": 0, "disconnected": 0, "reasons": {}}
        counts[state] += 1
        if state == "connected":
            self.connected += 1
            return
        self.disconnected += 1
        reason = record.get("disconnected_reason") or "unknown"
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        counts["reasons"][reason] = counts["reasons"].get(reason, 0) + 1
        if len(self.first_disconnected) < DISCONNECTED_LISTED:
            self.first_disconnected.append(record)

    def as_dict(self):
        return dict(connected=self.connected, disconnected=self.disconnected,
                    by_reason=self.by_reason, by_svm=self.by_svm)

    @property
    def state(self):
        return "connected=%d disconnected=%d" % (self.connected, self.disconnected)

    def shortfall(self, wanted):
        """Why the wait is not over, naming the disconnected servers (the first few)."""
        notes = []
        if self.connected < wanted:
            notes.append("%d connected of at least %d" % (self.connected, wanted))
        if self.disconnected:
            listed = ["%s on %s/%s: %s" % (
                r.get("ip"), (r.get("svm") or {}).get("name"), (r.get("node") or {}).get("name"),
                r.get("disconnected_reason") or "unknown") for r in self.first_disconnected]
            more = self.disconnected - len(listed)
            notes.append("disconnected: %s%s" % ("; ".join(listed),
                                                 "; and %d more" % more if more else ""))
        return "; ".join(notes) or None


class SharedValues:
    """Keeps one copy of each equal SVM, node and interface object and of each repeated text.

    Every record names its SVM and node in full; 100,000 records hold a few hundred distinct
    ones. Pointing equal values at one object divides the memory the records take by about
    three, for a few microseconds per record.
    """

    TEXT = frozenset(("state", "type", "vendor", "version", "disconnected_reason", "privileged_user"))

    def __init__(self):
        self.seen = {}

    def apply(self, record):
        seen = self.seen
        for key, value in record.items():
            if isinstance(value, dict):
                frozen = _frozen(value)
                if frozen is not None:
                    record[key] = seen.setdefault(frozen, value)
            elif key in self.TEXT and isinstance(value, str):
                record[key] = seen.setdefault(value, value)


def _frozen(obj):
    """A hashable image of a small object of scalars and objects, or None."""
    items = []
    for key, value in obj.items():
        if isinstance(value, dict):
            value = _frozen(value)
            if value is None:
                return None
        elif not (value is None or isinstance(value, (str, int, float))):
            return None
        items.append((key, value))
    return tuple(items)


def read_servers(client, query, params):
    """One full read of the matching servers: (result, summary), one page held at a time.

    Only the records ``return_servers`` asks for are kept; the summary and the count cover all.
    """
    servers = []
    summary = Summary()
    keep = params["return_servers"]
    shared = SharedValues() if keep == "all" else None
    pages = 0
    count = 0
    for records in ontap.read_pages(client, SERVER_STATUS_PATH, query, params["page_size"],
                                    params["max_records"], params["return_timeout"]):
        pages += 1
        count += len(records)
        for record in records:
            if not isinstance(record, dict):
                continue
            summary.add(record)
            if shared is not None:
                shared.apply(record)
            elif keep == "disconnected" and record.get("state") != "connected":
                servers.append(record)
        if keep == "all":
            servers.extend(records)
    result = dict(servers=servers, count=count, summary=summary.as_dict(), pages=pages)
    if params["svm_min_connected"]:
        result["svm_checks"] = svm_checks(summary.by_svm, params["svm_min_connected"])
    return result, summary


def goal(params):
    minimums = params["svm_min_connected"]
    if minimums:
        listed = ["%s >= %d" % item for item in list(minimums.items())[:BELOW_LISTED]]
        more = len(minimums) - len(listed)
        return "each SVM to have its minimum of connected Vscan servers (%s%s)" % (
            ", ".join(listed), ", and %d more" % more if more else "")
    wanted = params["min_connected"]
    filters = params["filters"] or {}
    scope = ("matching %s" % ", ".join("%s=%s" % (k, ontap.query_value(v))
                                       for k, v in sorted(filters.items()))
             if filters else "of the cluster")
    return "at least %d Vscan server%s %s to be connected and none disconnected" % (
        wanted, "" if wanted == 1 else "s", scope)


def run(module, client):
    params = module.params
    query = build_query(params)
    if not params["wait_for_connected"]:
        result = read_servers(client, query, params)[0]
        result["changed"] = False
        return result

    wanted = params["min_connected"]

    def poll():
        result, summary = read_servers(client, query, params)
        rows = result.get("svm_checks")
        if rows is None:
            done = summary.connected >= wanted and summary.disconnected == 0
            return Status(summary.state, obj=result, done=done, detail=summary.shortfall(wanted))
        below = sum(1 for r in rows if not r["healthy"])
        return Status("below=%d %s" % (below, summary.state), obj=result, done=not below,
                      detail=below_minimum(rows) if below else None)

    try:
        waited = wait_until(poll, goal(params), timeout=params["wait_timeout"],
                            sleep_cap=params["wait_sleep"], client=client)
    except WaitError as exc:
        if exc.result is not None and exc.result.obj is not None:
            exc.context.update(exc.result.obj)
        exc.context["timed_out"] = isinstance(exc, WaitTimeout)
        raise
    result = dict(waited.obj, changed=False, timed_out=False)
    result.update(waited.as_dict())
    return result


def main():
    argument_spec = ontap.argument_spec()
    argument_spec.update(
        filters=dict(type="dict"),
        fields=dict(type="list", elements="str", default=["*"]),
        order_by=dict(type="list", elements="str"),
        max_records=dict(type="int"),
        page_size=dict(type="int", default=1000),
        return_timeout=dict(type="int", default=15),
        wait_for_connected=dict(type="bool", default=False),
        min_connected=dict(type="int", default=1),
        svm_min_connected=dict(type="dict"),
        return_servers=dict(type="str", choices=["all", "disconnected", "none"], default="all"),
    )
    argument_spec.update(wait_spec(wait=None, wait_timeout=300))
    run_module(argument_spec, run, connect=ontap.connect, validate=validate)


if __name__ == "__main__":
    main()
