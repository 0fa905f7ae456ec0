#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vpn_session_state
short_description: Enable or disable an NSX IPsec VPN session and wait until NSX has done it
version_added: 1.1.0
description:
  - Enables or disables an IPsec VPN session on VMware NSX, then waits until NSX has realized
    I(that) change, and optionally until the session's tunnel is up or down.
  - "By Policy path (O(session_path); NSX-T 3.x, NSX 4.x and 9.x): reads the session, sends
    C(PATCH) with only C({\"enabled\": ...}) on the path, reads the session back for its new
    C(_last_modified_time), and waits until every realized entity of the intent is C(REALIZED)
    with a C(_last_modified_time) at or after that time."
  - "By Manager id (O(session_id); the Manager API of NSX-T 3.x and 4.x, removed in NSX 9.0):
    reads C(GET /api/v1/vpn/ipsec/sessions/<id>), sends C(PUT) with the object as read, C(enabled)
    changed and its C(_revision), and follows the reply's C(x-nsx-requestid) with the session state
    API until the state is C(in_sync) or C(success)."
  - Idempotent, when C(enabled) already matches, no write is sent and RV(changed) is false (a
    V(tunnel_up) or V(tunnel_down) wait still waits; a V(realized) wait follows the realization of
    the session's current intent).
  - The session's pre-shared key (C(psk)) is masked in every returned object, registered as a
    secret so that it never shows in any output at any verbosity, and never written back.
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
    details: Reads the session and reports the change it would make, without sending it or waiting.
  diff_mode:
    support: full
    details: Shows C(enabled) before and after.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - hybridcloud.ops.nsxt
      - hybridcloud.ops.all
options:
  session_path:
    description:
      - Policy path of the session, for example
        C(/infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office), the same
        under C(tier-0s), or C(/orgs/<org>/projects/<project>/infra/tier-1s/...); with or without the
        C(/policy/api/v1) prefix. Checked before any request.
      - Exactly one of O(session_path) and O(session_id) is required.
    type: str
  session_id:
    description:
      - ID of the session in the Manager API (NSX-T 3.x and 4.x).
    type: str
  enabled:
    description:
      - Whether the session should be enabled.
    type: bool
    required: true
  wait_for:
    description:
      - V(realized) waits until NSX has realized the change (Policy - every realized entity of the
        intent C(REALIZED) and modified at or after the change; Manager - the state of the change's
        request id C(in_sync) or C(success)). C(ERROR) or an error state fails at once with NSX's
        messages.
      - V(tunnel_up) and V(tunnel_down) first wait as V(realized), then until every enforcement
        point reports C(runtime_status) C(UP) (resp. C(DOWN)), within the same O(wait_timeout).
        V(tunnel_up) with O(enabled=false) can never succeed and is refused.
    type: str
    choices: [realized, tunnel_up, tunnel_down]
    default: realized
notes:
  - "How the change is tied to its realization: right after the C(PATCH) the module reads the
    session again and takes its new C(_last_modified_time) (NSX's own clock, epoch ms) as
    C(changed_since); realized entities last modified before it are left from an earlier intent
    and are never taken for this change, even when they say C(REALIZED). With the Manager API the
    reply's C(x-nsx-requestid) names the change and the state API answers for it."
  - "When a write is sent again: never after it may have reached NSX. The shared HTTP client
    re-sends a C(PATCH) only when NSX answered 429 (rate limited, not processed) or the connection
    was refused; when the answer to a C(PATCH) is lost (502/503/504, reset, timeout) the module
    reads the session again and goes on only if C(enabled) has changed (else it fails); a C(PUT) is also retried on 502/503/504 and connection errors, which is safe
    because it carries the C(_revision) read - if the first one was applied, the repeat is
    refused with 412. A 412 (stale C(_revision), someone else changed the session) is answered by
    one re-read and a second C(PUT) only if the session still needs the change; a second 412
    fails the task."
  - NSX admits about 100 requests per second and 40 concurrent requests per client; 429 and 503
    are waited out.
seealso:
  - module: hybridcloud.ops.vpn_session_realization_info
  - name: NSX Policy API reference (IPSec VPN sessions, realized state)
    description: CreateOrPatchTier1IPSecVpnSession, GenericPolicyRealizedResource, IPSecVpnSessionStatusNsxT.
    link: https://developer.broadcom.com/xapis/nsx-t-data-center-rest-api/latest/
'''

EXAMPLES = r'''
- name: Disable a Policy session and return once NSX has realized that change
  hybridcloud.ops.vpn_session_state:
    host: nsx.example.com
    username: "{{ nsx_user }}"
    password: "{{ nsx_password }}"
    session_path: /infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office
    enabled: false
  register: nsx_disable

- name: Enable it again and wait until the tunnel is up
  hybridcloud.ops.vpn_session_state:
    session_path: /infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office
    enabled: true
    wait_for: tunnel_up
    wait_timeout: 180

- name: A project's session (NSX 4.1+ multi-tenancy)
  hybridcloud.ops.vpn_session_state:
    session_path: /orgs/default/projects/tenant-a/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s1
    enabled: true

- name: NSX-T 3.x/4.x through the Manager API, by session id
  hybridcloud.ops.vpn_session_state:
    session_id: 8dd1c386-9b2c-4448-85b8-51ff649fae4f
    enabled: false
  register: nsx_manager_change

- name: Show what NSX did while we waited
  ansible.builtin.debug:
    msg: "{{ nsx_manager_change.request_id }}: {{ nsx_manager_change.history }}"
'''

RETURN = r'''
session:
  description:
    - The session after the change (as read back, or as it would be in check mode), C(psk) masked.
  returned: always
  type: dict
  sample:
    id: branch-office
    enabled: false
    resource_type: PolicyBasedIPSecVpnSession
    psk: "********"
    _revision: 4
    _last_modified_time: 1733322000123
changed:
  description: Whether the module sent a change (or would, in check mode).
  returned: always
  type: bool
request_id:
  description: The C(x-nsx-requestid) of the Manager C(PUT) that was followed.
  returned: when O(session_id) is used and a write was sent
  type: str
  sample: e550100d-f722-40cc-9de6-cf84d3da3ccb
changed_since:
  description: The session's C(_last_modified_time) after the change, from which realized entities count.
  returned: when O(session_path) is used and the module waited for realization
  type: int
  sample: 1733322000123
realization:
  description:
    - What NSX reported last about the realization; as RV(hybridcloud.ops.vpn_session_realization_info#module:realization).
  returned: when the module waited
  type: dict
tunnel:
  description:
    - The tunnel as NSX reports it; as RV(hybridcloud.ops.vpn_session_realization_info#module:tunnel).
  returned: when O(wait_for=tunnel_up) or O(wait_for=tunnel_down)
  type: dict
writes:
  description: Write requests sent (0, 1, or 2 after a 412 re-read that still needed the change).
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 3.412
polls:
  description: Status requests made while waiting.
  returned: always
  type: int
  sample: 6
history:
  description: Each change of the observed state, with the seconds since the start of the wait.
  returned: always
  type: list
  elements: dict
  sample:
    - {state: STALE, elapsed: 0.0}
    - {state: UNREALIZED, elapsed: 1.1}
    - {state: REALIZED, elapsed: 3.05}
'''

import re
import time

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    check_identifier, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError, TransportError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module

ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def validate(params):
    if params.get("session_path") is not None:
        nsxt.parse_session_path(params["session_path"], "session_path")
    check_identifier(params, "session_id", ID_FORM, "an NSX object ID such as a UUID")
    if params["wait_for"] == "tunnel_up" and params["enabled"] is False:
        raise InputError("wait_for", "tunnel_up with enabled: false can never succeed (a disabled "
                                     "session has no tunnel); use tunnel_down or realized")
    validate_wait(params)


class Session:
    """One session in one API generation: how to read it, write it, and follow a change."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.writes = 0

    def remember_secrets(self, obj):
        """Whatever psk NSX hands us is a secret for every output of this run."""
        for value in nsxt.psk_values(obj):
            self.module.no_log_values.add(value)
        return obj

    def read(self, url, label):
        try:
            return self.remember_secrets(self.client.get(url).body or {})
        except ApiError as exc:
            if nsxt.is_not_found(exc):
                raise ApiError("NSX IPsec VPN session %s not found: %s" % (label, exc.msg), **exc.context)
            raise


class PolicySession(Session):
    def __init__(self, module, client):
        super(PolicySession, self).__init__(module, client)
        self.path = nsxt.parse_session_path(module.params["session_path"], "session_path")
        self.target = ("path", self.path, None)

    def get(self):
        return self.read(self.path.url, self.path.path)

    def change(self, session, enabled):
        """PATCH only ``enabled`` (never the psk, never the object as read), then read back."""
        self.writes += 1
        try:
            self.client.request("PATCH", self.path.url, json={"enabled": enabled}, expect_json=False)
        except (ApiError, TransportError) as exc:
            # The answer was lost (proxy 502/503/504, reset, timeout): NSX may have taken the
            # PATCH. Re-read instead of sending it again; go on only if it took effect.
            if not exc.transient or getattr(exc, "refused", False):
                raise
            after = self.get()
            if bool(after.get("enabled")) != enabled:
                raise
            return after, dict(changed_since=after.get("_last_modified_time"))
        after = self.get()
        return after, dict(changed_since=after.get("_last_modified_time"))


class ManagerSession(Session):
    def __init__(self, module, client):
        super(ManagerSession, self).__init__(module, client)
        self.session_id = module.params["session_id"]
        self.url = nsxt.session_path(self.session_id)
        self.target = ("id", self.session_id, None)

    def get(self):
        return self.read(self.url, self.session_id)

    def change(self, session, enabled):
        """PUT the object as read with ``enabled`` changed; on 412 one re-read and, only if the
        session still needs the change, one more PUT with the new ``_revision``."""
        for attempt in (1, 2):
            body = dict(session, enabled=enabled)
            self.writes += 1
            try:
                reply = self.client.put(self.url, json=body)
            except ApiError as exc:
                if exc.status_code != 412 or attempt == 2:
                    raise
                session = self.get()
                if bool(session.get("enabled")) == enabled:
                    # Done by now - by someone else, or by our own PUT whose answer was lost and
                    # whose retry met the revision it had moved on. Follow the latest change.
                    return session, dict(request_id=None)
                continue
            after = self.remember_secrets(reply.body or dict(body))
            return after, dict(request_id=reply.headers.get(nsxt.CORRELATION_HEADER))
        raise AssertionError("unreachable")  # pragma: no cover


def follow_phases(session, phases, params, changed_since=None, request_id=None):
    """Wait for each phase in turn (realized, then a tunnel state) within one deadline."""
    kind, target, _rid = session.target
    started = time.monotonic()
    total = dict(elapsed=0.0, polls=0, history=[])
    fields = {}
    for wait_for in phases:
        offset = time.monotonic() - started
        left = params["wait_timeout"] - offset
        phase_params = dict(params, wait_timeout=max(1, int(round(left))))
        since = changed_since if (kind == "path" and wait_for == "realized") else None
        rid = request_id if wait_for == "realized" else None
        outcome = nsxt.follow(session.client, [(kind, target, rid)], wait_for, phase_params, since)[0]
        phase_fields = nsxt.outcome_fields(outcome, wait_for)
        total["history"] += [dict(h, elapsed=round(h["elapsed"] + offset, 3)) for h in phase_fields["history"]]
        total["polls"] += phase_fields["polls"]
        total["elapsed"] = round(time.monotonic() - started, 3)
        for key in ("realization", "in_sync", "tunnel"):
            if key in phase_fields and (key != "realization" or phase_fields[key]):
                fields[key] = phase_fields[key]
        if isinstance(outcome, HybridCloudError):
            fields.update(total)
            return outcome, fields
    fields.update(total)
    return None, fields


def run(module, client):
    params = module.params
    enabled = params["enabled"]
    session = PolicySession(module, client) if params["session_path"] is not None \
        else ManagerSession(module, client)
    before = session.get()
    current = bool(before.get("enabled"))
    result = dict(changed=current != enabled, writes=0, elapsed=0.0, polls=0, history=[])
    if module._diff:
        result["diff"] = dict(before={"enabled": current}, after={"enabled": enabled})
    after, tie = before, {}
    if result["changed"] and module.check_mode:
        result["session"] = nsxt.masked(dict(before, enabled=enabled))
        return result
    if result["changed"]:
        after, tie = session.change(before, enabled)
    elif isinstance(session, PolicySession):
        # Nothing to change: follow the realization of the intent as it is.
        tie = dict(changed_since=before.get("_last_modified_time"))
    result["writes"] = session.writes
    result["session"] = nsxt.masked(after)
    if isinstance(session, ManagerSession) and tie.get("request_id"):
        result["request_id"] = tie["request_id"]
    if not params["wait"] or module.check_mode:
        return result
    phases = ["realized"] if params["wait_for"] == "realized" else ["realized", params["wait_for"]]
    if isinstance(session, PolicySession):
        result["changed_since"] = tie.get("changed_since")
    failure, fields = follow_phases(session, phases, params, changed_since=tie.get("changed_since"),
                                    request_id=tie.get("request_id"))
    result.update(fields)
    if failure is not None:
        context = dict((k, v) for k, v in failure.context.items() if k not in result)
        context.update(result)
        raise HybridCloudError(failure.msg, **context)
    return result


def argument_spec():
    spec = nsxt.argument_spec()
    spec.update(
        session_path=dict(type="str"),
        session_id=dict(type="str"),
        enabled=dict(type="bool", required=True),
        wait_for=dict(type="str", default="realized", choices=["realized", "tunnel_up", "tunnel_down"]),
    )
    spec.update(wait_spec(wait=True, wait_timeout=300))
    return spec


def main():
    run_module(argument_spec(), run, connect=nsxt.connect, validate=validate,
               mutually_exclusive=[("session_path", "session_id")],
               required_one_of=[("session_path", "session_id")])


if __name__ == "__main__":
    main()
