#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vpn_session_realization_info
short_description: Wait until a change to an NSX-T IPsec VPN session is realized
version_added: 1.0.0
description:
  - Reads the realization state of one or more IPsec VPN sessions from VMware NSX-T Manager
    (C(GET /api/v1/vpn/ipsec/sessions/{id}/state)) and, by default, waits until the change is
    realized, in effect, or the session is deleted.
  - Polls at once, then with pauses that start near half a second and grow with the time
    already waited, so the task returns moments after NSX is done.
  - Fails at once on an C(error)-type state, listing each transport node's failure message,
    and on NSX error 110199 (the IPsec VPN service of the session is disabled).
  - Several sessions (O(session_ids), or O(sessions) with a request id each) are followed
    concurrently in one run over one connection pool, within NSX's request-rate limits.
  - Never changes anything on NSX.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.nsxt
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: The module only reads, so it does the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - hybridcloud.ops.nsxt
      - hybridcloud.ops.all
options:
  session_id:
    description:
      - ID of the IPsec VPN session to follow.
      - Exactly one of O(session_id), O(session_ids) and O(sessions) is required.
    type: str
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
      - V(deleted) succeeds when NSX answers 404 with error code 600 (the session is gone).
    type: str
    choices: [realized, in_effect, deleted]
    default: realized
notes:
  - NSX admits about 100 requests per second and 40 concurrent requests per client; the module
    stays within half of that and treats NSX's 429 (error code 102) and 503 as transient.
seealso:
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
    - With O(wait_for=deleted) and the session gone, the NSX 404 error body.
  returned: when one session is followed (also on failure and timeout)
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
  description: Whether the session's configuration is realized (state C(in_sync) or C(success)).
  returned: when one session is followed
  type: bool
  sample: true
deleted:
  description: Whether NSX reports the session gone (404, error code 600).
  returned: when O(wait_for=deleted)
  type: bool
  sample: true
request_id:
  description: The request id that was followed, if any.
  returned: when one session is followed
  type: str
  sample: e550100d-f722-40cc-9de6-cf84d3da3ccb
sessions:
  description: One entry per session of O(session_ids) or O(sessions), in the same order.
  returned: when O(session_ids) or O(sessions) is used (also on failure)
  type: list
  elements: dict
  contains:
    session_id:
      description: The session ID.
      type: str
    request_id:
      description: The request id followed for this session, if any.
      type: str
    realization:
      description: Its last realization state, as RV(realization).
      type: dict
    in_sync:
      description: As RV(in_sync).
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
    check_identifier, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import (
    Status, WaitResult, wait_all,
)

WANTED = {"realized": nsxt.REALIZED_STATES, "in_effect": nsxt.IN_EFFECT_STATES}
GOAL = {
    "realized": "to be realized (in_sync or success)",
    "in_effect": "to be in effect (success)",
    "deleted": "to be deleted (404, error code 600)",
}
ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def validate(params):
    check_identifier(params, "session_id", ID_FORM, "an NSX object ID such as a UUID")
    check_identifier(params, "session_ids", ID_FORM, "a list of NSX object IDs such as UUIDs")
    check_identifier(params, "request_id", ID_FORM, "the x-nsx-requestid of a change")
    for option in ("session_ids", "sessions"):
        if params[option] is not None and not params[option]:
            raise InputError(option, "must list at least one session")
    for index, item in enumerate(params["sessions"] or []):
        for key, what in (("id", "an NSX object ID"), ("request_id", "the x-nsx-requestid of a change")):
            option = "sessions[%d].%s" % (index, key)
            check_identifier({option: item.get(key)}, option, ID_FORM, what)
    validate_wait(params)


def requested_sessions(params):
    """[(session id, request id or None)] in the order the user gave them."""
    if params["sessions"]:
        return [(item["id"], item.get("request_id")) for item in params["sessions"]]
    if params["session_ids"]:
        return [(sid, None) for sid in params["session_ids"]]
    return [(params["session_id"], params["request_id"])]


def session_poll(client, session_id, request_id, wait_for):
    """A function that reads the session once and says what the state means."""
    path = nsxt.session_state_path(session_id)
    query = {"request_id": request_id} if request_id else None
    label = "NSX IPsec VPN session %s" % session_id

    def poll():
        try:
            body = client.get(path, params=query).body or {}
        except ApiError as exc:
            if exc.status_code == 404 and exc.vendor_code == nsxt.ERROR_NOT_FOUND:
                if wait_for == "deleted":
                    return Status("deleted", obj=exc.error, done=True)
                raise ApiError("%s not found: %s (to wait for a deletion, use wait_for: deleted)"
                               % (label, exc.msg), **_context(exc))
            if exc.status_code == 400 and exc.vendor_code == nsxt.ERROR_SERVICE_DISABLED:
                raise ApiError("%s: %s. Hint: enable the IPsec VPN service of this session "
                               "before waiting for its realization." % (label, exc.msg),
                               **_context(exc))
            raise
        state = body.get("state")
        if wait_for == "deleted":
            return Status(state, obj=body, detail="the session still exists")
        if nsxt.is_failed_state(state):
            return Status(state, obj=body, failure="%s failed to realize: %s"
                          % (label, nsxt.describe_failure(body)))
        return Status(state, obj=body, done=state in WANTED[wait_for],
                      detail=body.get("failure_message"))

    return poll


def read_once(poll):
    """wait: false - one read, reported as it is (a failed state is data, not a failure)."""
    try:
        status = poll()
    except HybridCloudError as exc:
        return exc
    once = WaitResult()
    once.obj, once.state, once.polls, once.done = status.obj, status.state, 1, status.done
    once.history = [{"state": status.state, "elapsed": 0.0}]
    return once


def _context(exc):
    return dict((k, v) for k, v in exc.context.items())


def outcome_fields(outcome, wait_for):
    """What the user gets back for one session, from a WaitResult or the error that ended it."""
    result = outcome if isinstance(outcome, WaitResult) else getattr(outcome, "result", None)
    obj = result.obj if result is not None else None
    state = (obj or {}).get("state") if wait_for != "deleted" else None
    fields = dict(
        realization=obj or {},
        in_sync=state in nsxt.REALIZED_STATES,
        elapsed=result.elapsed if result else 0.0,
        polls=result.polls if result else 0,
        history=result.history if result else [],
    )
    if wait_for == "deleted":
        fields["deleted"] = bool(result is not None and result.done)
    return fields


def run(module, client):
    params = module.params
    wait_for = params["wait_for"]
    targets = requested_sessions(params)
    ids = [target[0] for target in targets]
    request_id = params["request_id"]
    polls = [session_poll(client, sid, rid, wait_for) for sid, rid in targets]

    if not params["wait"]:
        outcomes = [read_once(poll) for poll in polls]
    else:
        outcomes = wait_all(
            polls, ["NSX IPsec VPN session %s %s" % (sid, GOAL[wait_for]) for sid in ids],
            timeout=params["wait_timeout"], sleep_cap=params["wait_sleep"],
            result_key="realization", client=client,
            max_workers=min(len(ids), nsxt.MAX_CONCURRENT_REQUESTS),
            max_rate=nsxt.MAX_REQUESTS_PER_SECOND if len(ids) > 1 else None)

    if params["session_id"] is not None:
        outcome = outcomes[0]
        if isinstance(outcome, HybridCloudError):
            raise outcome
        result = outcome_fields(outcome, wait_for)
        result.update(changed=False, request_id=request_id)
        return result

    sessions, failures = [], []
    for (sid, rid), outcome in zip(targets, outcomes):
        entry = dict(session_id=sid, request_id=rid, failed=isinstance(outcome, HybridCloudError))
        entry.update(outcome_fields(outcome, wait_for))
        if entry["failed"]:
            entry["msg"] = outcome.msg
            failures.append("%s: %s" % (sid, outcome.msg))
        sessions.append(entry)
    summary = dict(sessions=sessions, elapsed=max(s["elapsed"] for s in sessions),
                   polls=sum(s["polls"] for s in sessions))
    if failures:
        raise HybridCloudError("%d of %d NSX IPsec VPN sessions failed %s: %s"
                               % (len(failures), len(ids), GOAL[wait_for], " | ".join(failures)),
                               **summary)
    summary["changed"] = False
    return summary


def main():
    argument_spec = nsxt.argument_spec()
    argument_spec.update(
        session_id=dict(type="str"),
        session_ids=dict(type="list", elements="str"),
        sessions=dict(type="list", elements="dict", options=dict(
            id=dict(type="str", required=True),
            request_id=dict(type="str"),
        )),
        request_id=dict(type="str"),
        wait_for=dict(type="str", default="realized", choices=["realized", "in_effect", "deleted"]),
    )
    argument_spec.update(wait_spec(wait=True, wait_timeout=300))
    run_module(
        argument_spec, run, connect=connect, validate=validate,
        mutually_exclusive=[("session_id", "session_ids", "sessions"), ("session_ids", "request_id"),
                            ("sessions", "request_id")],
        required_one_of=[("session_id", "session_ids", "sessions")],
    )


def connect(module):
    """One pooled connection per concurrent poll when several sessions are followed."""
    count = len(requested_sessions(module.params))
    return nsxt.connect(module, pool_size=min(count, nsxt.MAX_CONCURRENT_REQUESTS))


if __name__ == "__main__":
    main()
