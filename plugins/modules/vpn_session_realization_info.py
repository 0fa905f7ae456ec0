#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vpn_session_realization_info
short_description: Wait until a change to an NSX IPsec VPN session is realized, or its tunnel is up
version_added: 1.0.0
description:
  - Reads the realization state of one or more IPsec VPN sessions from VMware NSX and, by
    default, waits until the change is realized, in effect, the session is deleted, or its tunnel
    is up or down.
  - "Two API generations: sessions given by Policy path (O(session_path), O(session_paths); NSX-T
    3.x, NSX 4.x and 9.x) are followed through the Policy API: realization through
    C(GET /policy/api/v1/infra/realized-state/realized-entities?intent_path=), the tunnel through
    C(.../sessions/<id>/detailed-status). Sessions given by Manager id (O(session_id),
    O(session_ids), O(sessions); NSX-T 3.x/4.x only, the Manager API is removed in NSX 9.0) are
    followed through C(GET /api/v1/vpn/ipsec/sessions/{id}/state) and C(.../status)."
  - Polls at once, then with pauses that start near half a second and grow with the time
    already waited, so the task returns moments after NSX is done.
  - Fails at once on an C(error)-type state, listing each transport node's failure message,
    and on NSX error 110199 (the IPsec VPN service of the session is disabled).
  - With a Policy path, V(realized) means every realized entity of the intent is C(REALIZED);
    C(ERROR) fails at once with every alarm's message; C(UNREALIZED), C(UNAVAILABLE) or no entity
    yet keep waiting. O(changed_since) ties the wait to one change, so that a C(REALIZED) left from
    before the change is never taken for it.
  - Several sessions (O(session_ids), O(session_paths), or O(sessions) with a request id each) are
    followed concurrently in one run over one connection pool, within NSX's request-rate limits.
  - Never changes anything on NSX.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.nsxt
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait
  - hybridcloud.ops.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  session_id:
    description:
      - ID of the IPsec VPN session to follow.
      - Exactly one of O(session_id), O(session_ids), O(sessions), O(session_path) and
        O(session_paths) is required.
    type: str
  session_path:
    description:
      - Policy path of the IPsec VPN session to follow, for example
        C(/infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office); the same
        under C(tier-0s), or C(/orgs/<org>/projects/<project>/infra/tier-1s/...) for a project's
        session. Accepted with or without the C(/policy/api/v1) prefix (the C(path) field of the
        session object is this path).
      - Checked before any request; a path with C(..), a query string, or that is not a session's
        path is refused.
    type: str
    version_added: 1.1.0
  session_paths:
    description:
      - Policy paths of several sessions to follow concurrently in one run, as O(session_path).
      - RV(sessions) has one entry per path in the same order.
    type: list
    elements: str
    version_added: 1.1.0
  changed_since:
    description:
      - With a Policy path, count only realized entities whose C(_last_modified_time) is at or after
        this time (epoch milliseconds, NSX's clock), so that a C(REALIZED) left from before a
        change is not taken for that change.
      - Pass the session's C(_last_modified_time) as read right after the change, that is the
        RV(hybridcloud.ops.vpn_session_state#module:changed_since) that
        M(hybridcloud.ops.vpn_session_state) returns (also with O(hybridcloud.ops.vpn_session_state#module:wait=false)),
        or the C(_last_modified_time) of a C(GET) of the session after your own C(PATCH) (NSX answers
        a C(PATCH) with an empty body).
      - An entity without an integer C(_last_modified_time) cannot be shown to be from after the
        change, so it does not count either.
      - Without it, V(realized) takes the realization NSX shows now, which for a few seconds after
        a change can still be the one from before it.
      - Only with O(session_path) or O(session_paths) and O(wait_for=realized).
    type: int
    version_added: 1.1.0
  session_ids:
    description:
      - IDs of several IPsec VPN sessions to follow concurrently in one run.
      - The task fails if any of them fails or times out, naming each; RV(sessions) has one entry
        per ID in the same order.
    type: list
    elements: str
  sessions:
    description:
      - Several sessions to follow concurrently in one run, each with the request id of its own
        change. Like O(session_ids) otherwise.
    type: list
    elements: dict
    suboptions:
      id:
        description: ID of the IPsec VPN session.
        type: str
        required: true
      request_id:
        description: The C(x-nsx-requestid) of the change to follow for this session.
        type: str
  request_id:
    description:
      - The C(x-nsx-requestid) response header of the configuration change to follow, passed to
        NSX as C(request_id). Without it, NSX reports the session's latest change.
      - Only with O(session_id).
    type: str
  wait_for:
    description:
      - V(realized) succeeds when the state is C(in_sync) (the hosts have received the
        configuration) or C(success) (it is in effect).
      - V(in_effect) succeeds only on C(success).
      - V(deleted) succeeds when NSX answers 404 with its own error body (Manager error code 600;
        for a Policy path, a 404 of the path with error code 500090 or 600). A 404 without NSX's
        error body (a proxy's page, a wrong path prefix in O(host)) is an error, never a deletion.
      - V(tunnel_up) succeeds when every enforcement point reports C(runtime_status) C(UP) (IKE and
        every tunnel up); V(tunnel_down) when every one reports C(DOWN). Read from the Policy
        C(detailed-status), or the Manager C(status) of a session id. The timeout message names the
        last C(runtime_status), C(ike_session_state) and C(fail_reason).
      - With a Policy path, V(realized) means every realized entity is C(REALIZED); V(in_effect) is
        Manager-only and refused with a path.
      - V(tunnel_up) and V(tunnel_down) were added in version 1.1.0. They read the tunnel only, so
        the result then has no RV(realization) nor RV(in_sync); to wait for a change and then for its
        tunnel, use M(hybridcloud.ops.vpn_session_state) or two tasks.
    type: str
    choices: [realized, in_effect, deleted, tunnel_up, tunnel_down]
    default: realized
notes:
  - NSX admits about 100 requests per second and 40 concurrent requests per client; the module
    stays within half of that and treats NSX's 429 (error code 102) and 503 as transient.
seealso:
  - module: hybridcloud.ops.vpn_session_state
  - name: NSX Policy API, realized state of an intent
    description: GenericPolicyRealizedResource, the realized entities this module reads for a Policy path.
    link: https://developer.broadcom.com/xapis/nsx-t-data-center-rest-api/latest/
  - name: NSX-T Data Center API guide, IPsec VPN session realization state
    description: The API this module reads.
    link: https://developer.vmware.com/apis/1163/nsx-t
'''

EXAMPLES = r'''
- name: Change an IPsec VPN session and keep the NSX request id
  ansible.builtin.uri:
    url: "https://{{ nsx_manager }}/api/v1/vpn/ipsec/sessions/{{ session.id }}"
    method: PUT
    body_format: json
    body: "{{ session | combine({'enabled': true}) }}"
    url_username: "{{ nsx_user }}"
    url_password: "{{ nsx_password }}"
    force_basic_auth: true
  register: nsx_change

- name: Wait until NSX has realized that change
  hybridcloud.ops.vpn_session_realization_info:
    host: "{{ nsx_manager }}"
    username: "{{ nsx_user }}"
    password: "{{ nsx_password }}"
    session_id: "{{ session.id }}"
    request_id: "{{ nsx_change.x_nsx_requestid }}"
    wait_timeout: 300
  register: nsx_realization

- name: Show what NSX did while we waited
  ansible.builtin.debug:
    msg: "{{ nsx_realization.history }}"

- name: Set the NSX credentials once, from the environment, for every NSX task of a play
  module_defaults:
    group/hybridcloud.ops.nsxt:
      host: "{{ lookup('ansible.builtin.env', 'NSXT_MANAGER_HOST') }}"
      ca_path: /etc/pki/nsx-ca.pem
  block:
    - name: Wait for several sessions at once (NSXT_USERNAME / NSXT_PASSWORD from the environment)
      hybridcloud.ops.vpn_session_realization_info:
        session_ids:
          - 8dd1c386-9b2c-4448-85b8-51ff649fae4f
          - 3f1f0c14-5c4e-4bd6-a3c0-2a8f1c0e9d21
        wait_timeout: 600

- name: Wait until the tunnel of a Policy session is up (its detailed-status, nothing else)
  hybridcloud.ops.vpn_session_realization_info:
    session_path: /infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office
    wait_for: tunnel_up
    wait_timeout: 120
  register: nsx_tunnel

- name: Disable a project's session without waiting; the result carries the time of the change
  hybridcloud.ops.vpn_session_state:
    session_path: /orgs/default/projects/tenant-a/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s1
    enabled: false
    wait: false
  register: nsx_policy_change

- name: Later, follow that change only, never taking a REALIZED left from before it
  hybridcloud.ops.vpn_session_realization_info:
    session_path: /orgs/default/projects/tenant-a/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s1
    changed_since: "{{ nsx_policy_change.changed_since }}"

- name: Read the state once, without waiting, and branch on it
  hybridcloud.ops.vpn_session_realization_info:
    session_id: 8dd1c386-9b2c-4448-85b8-51ff649fae4f
    wait: false
  register: nsx_state

- name: Wait until a deleted session is gone from NSX
  hybridcloud.ops.vpn_session_realization_info:
    session_id: 8dd1c386-9b2c-4448-85b8-51ff649fae4f
    wait_for: deleted

- name: Ad-hoc, from the command line
  ansible.builtin.debug:
    msg: >-
      ansible localhost -m hybridcloud.ops.vpn_session_realization_info
      -a 'session_id=8dd1c386-9b2c-4448-85b8-51ff649fae4f wait=false'
'''

RETURN = r'''
realization:
  description:
    - The last realization state NSX returned for the session (C(IPSecVPNSessionState)).
    - "For a Policy path: C(state), the state of the intent as a whole (C(REALIZED), C(ERROR),
      C(UNREALIZED), C(UNAVAILABLE), C(NO_ENTITY) when nothing is realized yet, C(STALE) when every
      realized entity is from before O(changed_since)), C(entities) (the realized entities counted,
      alarms kept) and C(ignored_entities) (how many were from before O(changed_since))."
    - With O(wait_for=deleted) and the session gone, the NSX 404 error body.
  returned: >-
    when one session is followed (also on failure and timeout) and its realization was read, that is
    not with O(wait_for=tunnel_up) or O(wait_for=tunnel_down)
  type: dict
  sample:
    state: in_sync
    details:
      - sub_system_type: TransportNode
        sub_system_id: 7046e8f4-a680-11e8-9bc3-020020593f59
        state: in_sync
  contains:
    state:
      description: Overall state, for example C(pending), C(in_progress), C(unknown), C(in_sync), C(success), C(error).
      type: str
      returned: success
    details:
      description: State per transport node, with C(failure_message) where a node has one.
      type: list
      elements: dict
      returned: when NSX reports it
    failure_message:
      description: NSX's message on the overall state.
      type: str
      returned: when NSX reports it
    failure_code:
      description: NSX's error code on the overall state.
      type: int
      returned: when NSX reports it
in_sync:
  description: Whether the session's configuration is realized (state C(in_sync) or C(success); for a Policy path C(REALIZED)).
  returned: when one session is followed and its realization was read (not with O(wait_for=tunnel_up) or O(wait_for=tunnel_down))
  type: bool
  sample: true
tunnel:
  description: The tunnel as NSX reports it, whenever its status was read.
  returned: when O(wait_for=tunnel_up) or O(wait_for=tunnel_down)
  type: dict
  version_added: 1.1.0
  sample:
    runtime_status: UP
    ike_session_state: UP
    fail_reason: null
    total_tunnels: 1
    negotiated_tunnels: 1
    failed_tunnels: 0
  contains:
    runtime_status:
      description: C(UP) when every enforcement point is up, C(DOWN) when every one is down, else C(DEGRADED) (or C(UNKNOWN)).
      type: str
    ike_session_state:
      description: The IKE session state, C(UP), C(DOWN) or C(NEGOTIATING).
      type: str
    fail_reason:
      description: Why IKE is down, as NSX says.
      type: str
    total_tunnels:
      description: Tunnels of the session (over all enforcement points).
      type: int
    negotiated_tunnels:
      description: Tunnels negotiated.
      type: int
    failed_tunnels:
      description: Tunnels failed.
      type: int
    enforcement_points:
      description: The same figures for each enforcement point.
      type: list
      elements: dict
session_path:
  description: The Policy path followed (without the C(/policy/api/v1) prefix).
  returned: when O(session_path) is used
  type: str
  version_added: 1.1.0
  sample: /infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office
deleted:
  description: Whether NSX reports the session gone (404 with NSX's error code 600, or 500090 for a Policy path).
  returned: when O(wait_for=deleted)
  type: bool
  sample: true
request_id:
  description: The request id that was followed, if any.
  returned: when O(session_id) is used
  type: str
  sample: e550100d-f722-40cc-9de6-cf84d3da3ccb
sessions:
  description: One entry per session of O(session_ids), O(session_paths) or O(sessions), in the same order.
  returned: when O(session_ids), O(session_paths) or O(sessions) is used (also on failure)
  type: list
  elements: dict
  contains:
    session_id:
      description: The session ID (for a Policy path, the last segment of the path).
      type: str
    session_path:
      description: The Policy path, for O(session_paths).
      type: str
      version_added: 1.1.0
    tunnel:
      description: As RV(tunnel), when read.
      type: dict
      version_added: 1.1.0
    request_id:
      description: The request id followed for this session, if any.
      type: str
    realization:
      description: Its last realization state, as RV(realization) (not with a tunnel wait).
      type: dict
    in_sync:
      description: As RV(in_sync) (not with a tunnel wait).
      type: bool
    failed:
      description: Whether this session failed or timed out.
      type: bool
    msg:
      description: Why it failed.
      type: str
      returned: when failed
    elapsed:
      description: Seconds from the start of the wait to this session's last poll.
      type: float
    polls:
      description: Status requests made for this session.
      type: int
    history:
      description: Each change of state seen for this session.
      type: list
      elements: dict
elapsed:
  description: Seconds spent waiting (the longest of all sessions when several are followed).
  returned: always
  type: float
  sample: 4.213
polls:
  description: Status requests made (over all sessions).
  returned: always
  type: int
  sample: 7
history:
  description: Each change of the observed state, with the seconds since the start of the wait.
  returned: when one session is followed
  type: list
  elements: dict
  sample:
    - {state: pending, elapsed: 0.0}
    - {state: in_progress, elapsed: 1.25}
    - {state: in_sync, elapsed: 4.1}
'''

import re

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    check_identifier, check_range, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    HybridCloudError, InputError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module

ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
WAIT_FOR = ["realized", "in_effect", "deleted", "tunnel_up", "tunnel_down"]


def validate(params):
    check_identifier(params, "session_id", ID_FORM, "an NSX object ID such as a UUID")
    check_identifier(params, "session_ids", ID_FORM, "a list of NSX object IDs such as UUIDs")
    check_identifier(params, "request_id", ID_FORM, "the x-nsx-requestid of a change")
    for option in ("session_ids", "sessions", "session_paths"):
        if params.get(option) is not None and not params[option]:
            raise InputError(option, "must list at least one session")
    for index, item in enumerate(params["sessions"] or []):
        for key, what in (("id", "an NSX object ID"), ("request_id", "the x-nsx-requestid of a change")):
            option = "sessions[%d].%s" % (index, key)
            check_identifier({option: item.get(key)}, option, ID_FORM, what)
    paths = policy_paths(params)  # form-checked here, before any request
    if paths and params["wait_for"] == "in_effect":
        raise InputError("wait_for", "in_effect is a state of the Manager API; with a Policy path "
                                     "use realized (every realized entity REALIZED) or tunnel_up")
    if params.get("changed_since") is not None:
        if not paths:
            raise InputError("changed_since", "applies to Policy paths only (session_path or session_paths)")
        if params["wait_for"] != "realized":
            raise InputError("changed_since", "applies to wait_for: realized only")
        check_range(params, "changed_since", 0)
    validate_wait(params)


def policy_paths(params):
    """The PolicyPath of each given path (InputError naming the option of a bad one), or []."""
    if params.get("session_path") is not None:
        return [nsxt.parse_session_path(params["session_path"], "session_path")]
    return [nsxt.parse_session_path(value, "session_paths[%d]" % index)
            for index, value in enumerate(params.get("session_paths") or [])]


def requested_sessions(params):
    """[(label, poll factory arguments)] in the order the user gave them."""
    paths = policy_paths(params)
    if paths:
        return [("path", p, None) for p in paths]
    if params["sessions"]:
        return [("id", item["id"], item.get("request_id")) for item in params["sessions"]]
    if params["session_ids"]:
        return [("id", sid, None) for sid in params["session_ids"]]
    return [("id", params["session_id"], params["request_id"])]


def failure(outcome, fields):
    """The error that ended a wait, carrying what the user gets back for that session."""
    context = dict((k, v) for k, v in outcome.context.items() if k != "result")
    context.update(fields)
    return HybridCloudError(outcome.msg, **context)


def run(module, client):
    params = module.params
    wait_for = params["wait_for"]
    targets = requested_sessions(params)
    outcomes = nsxt.follow(client, targets, wait_for, params, params.get("changed_since"))

    if params["session_id"] is not None or params["session_path"] is not None:
        outcome = outcomes[0]
        fields = nsxt.outcome_fields(outcome, wait_for)
        if params["session_path"] is not None:
            fields["session_path"] = targets[0][1].path
        else:
            fields["request_id"] = params["request_id"]
        if isinstance(outcome, HybridCloudError):
            raise failure(outcome, fields)
        fields["changed"] = False
        return fields

    sessions, failures = [], []
    for (kind, target, rid), outcome in zip(targets, outcomes):
        if kind == "path":
            entry = dict(session_id=target.session_id, session_path=target.path)
            name = target.path
        else:
            entry = dict(session_id=target, request_id=rid)
            name = target
        entry["failed"] = isinstance(outcome, HybridCloudError)
        entry.update(nsxt.outcome_fields(outcome, wait_for))
        if entry["failed"]:
            entry["msg"] = outcome.msg
            failures.append("%s: %s" % (name, outcome.msg))
        sessions.append(entry)
    summary = dict(sessions=sessions, elapsed=max(s["elapsed"] for s in sessions),
                   polls=sum(s["polls"] for s in sessions))
    if failures:
        goal = (nsxt.POLICY_GOAL if targets[0][0] == "path" else nsxt.MANAGER_GOAL)[wait_for]
        raise HybridCloudError("%d of %d NSX IPsec VPN sessions failed %s: %s"
                               % (len(failures), len(targets), goal, " | ".join(failures)),
                               **summary)
    summary["changed"] = False
    return summary


def argument_spec():
    spec = nsxt.argument_spec()
    spec.update(
        session_id=dict(type="str"),
        session_ids=dict(type="list", elements="str"),
        sessions=dict(type="list", elements="dict", options=dict(
            id=dict(type="str", required=True),
            request_id=dict(type="str"),
        )),
        session_path=dict(type="str"),
        session_paths=dict(type="list", elements="str"),
        changed_since=dict(type="int"),
        request_id=dict(type="str"),
        wait_for=dict(type="str", default="realized", choices=WAIT_FOR),
    )
    spec.update(wait_spec(wait=True, wait_timeout=300))
    return spec


def main():
    run_module(
        argument_spec(), run, connect=connect, validate=validate,
        mutually_exclusive=[("session_id", "session_ids", "sessions", "session_path", "session_paths"),
                            ("session_ids", "request_id"), ("sessions", "request_id"),
                            ("session_path", "request_id"), ("session_paths", "request_id")],
        required_one_of=[("session_id", "session_ids", "sessions", "session_path", "session_paths")],
    )


def connect(module):
    """One pooled connection per concurrent poll when several sessions are followed."""
    count = len(requested_sessions(module.params))
    return nsxt.connect(module, pool_size=min(count, nsxt.MAX_CONCURRENT_REQUESTS))


if __name__ == "__main__":
    main()
