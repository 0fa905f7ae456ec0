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
  - Idempotent, when C(enabled) already matches, no write is sent and RV(changed) is false. A
    V(tunnel_up) or V(tunnel_down) wait still waits. A V(realized) wait then has no change of this
    task to tie to, so it takes the realization NSX shows now (every realized entity C(REALIZED); for
    a Manager id the state API without a request id), as other tools do; the module warns when
    those realized entities are older than the session's last modification (see the notes).
  - A session without C(enabled) is enabled (NSX's default).
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
        point reports C(runtime_status) C(UP) (resp. C(DOWN)), within the same O(wait_timeout)
        (a timeout names O(wait_timeout), whichever phase it hits). V(tunnel_up) with
        O(enabled=false) can never succeed and is refused.
    type: str
    choices: [realized, tunnel_up, tunnel_down]
    default: realized
notes:
  - "How the change is tied to its realization (Policy): right after the C(PATCH) the module reads
    the session again and takes its new C(_last_modified_time) (NSX's own clock, epoch ms) as
    RV(changed_since). Realized entities last modified before it, or without a time, are left from
    an earlier intent and never taken for this change, even when they say C(REALIZED) (the
    C(STALE) state in RV(history)). When the read-back has no integer C(_last_modified_time) the
    task fails after the change instead of waiting untied (RV(changed) is true; follow the change
    with M(hybridcloud.ops.vpn_session_realization_info) once you know its time, or use
    O(wait=false)). NSX documents neither clock, so the module assumes that NSX stamps the realized
    entities of a change after the intent's modification, on the same clock."
  - "How the change is tied to its realization (Manager API): the reply's C(x-nsx-requestid) names
    the change and the state API answers for it. When that reply is lost (see below) and a re-read
    shows the change made, the id is unknown: the module follows the session's latest state
    without a request id, returns no RV(request_id) and warns that NSX may report the state of the
    change before for a moment."
  - "When a write is sent again - only when it surely had no effect. The shared HTTP client re-sends
    a C(PATCH) only after NSX answered 429 (rate limited, not processed) or the connection was
    refused. When NSX (or a proxy in front of it) answers a C(PATCH) with 502 or 503 - NSX's own
    answer past 40 concurrent requests - the module reads the session again, and sends the
    C(PATCH) again (at most O(retries) times) only if the session is untouched, same C(enabled) and
    same C(_revision). After a 504, a reset or a timeout NSX may still apply the C(PATCH), so it is
    never sent again - the module re-reads the session and goes on if the change is there, else
    fails saying so. A C(PUT) is re-sent by the client after 502/503/504 and connection errors,
    which is safe because it carries the C(_revision) it read: if the first one was applied, the
    repeat is refused with 412. A 412 (stale C(_revision)) is answered by one re-read: if the
    session already has the wanted C(enabled) (someone else's write, or ours whose answer was
    lost), nothing more is sent; else one more C(PUT) with the new C(_revision). A C(PUT) that ends
    without an answer is re-read the same way before the task fails. RV(writes) counts every
    request put on the wire."
  - NSX admits about 100 requests per second and 40 concurrent requests per client; 429 and 503
    are waited out.
  - V(tunnel_up) and V(tunnel_down) read the tunnel with C(source=realtime) (NSX asks the edges on
    every read), so that the tunnel from before the change is not taken from a cache.
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
diff:
  description: C(enabled) before and after, in diff mode.
  returned: when diff mode is on
  type: dict
  sample:
    before: {enabled: true}
    after: {enabled: false}
request_id:
  description:
    - The C(x-nsx-requestid) of the Manager C(PUT) that was followed.
    - Absent when the reply of the C(PUT) was lost (or a 412 showed the change already made);
      the module then warns and follows the session's latest state.
  returned: when O(session_id) is used and NSX answered the C(PUT) that made the change
  type: str
  sample: e550100d-f722-40cc-9de6-cf84d3da3ccb
changed_since:
  description:
    - The session's C(_last_modified_time) read back right after the C(PATCH) (epoch ms, NSX's
      clock); realized entities count for this change from this time on.
    - Pass it to O(hybridcloud.ops.vpn_session_realization_info#module:changed_since) to follow the
      change later, for example after O(wait=false).
  returned: when O(session_path) is used and a C(PATCH) was sent (with or without O(wait))
  type: int
  sample: 1733322000123
realization:
  description:
    - What NSX reported last about the realization; as RV(hybridcloud.ops.vpn_session_realization_info#module:realization).
  returned: when the module waited
  type: dict
in_sync:
  description:
    - Whether the realization is done (Policy - every counted realized entity C(REALIZED); Manager -
      C(in_sync) or C(success)); stays true while a V(tunnel_up) or V(tunnel_down) wait goes on.
  returned: when the module waited
  type: bool
  sample: true
tunnel:
  description:
    - The tunnel as NSX reports it; as RV(hybridcloud.ops.vpn_session_realization_info#module:tunnel).
  returned: when O(wait_for=tunnel_up) or O(wait_for=tunnel_down) and the realization was done
  type: dict
writes:
  description:
    - Write requests (C(PATCH) or C(PUT)) put on the wire, re-sends included - a C(PATCH) sent again
      after 429, a refused connection, or 502/503 with the session untouched; a C(PUT) re-sent by
      the HTTP client after a lost answer (that repeat meets the moved C(_revision) - 412); a second
      C(PUT) after a 412. NSX accepts one of them per change. 0 when no change was needed.
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
    ApiError, HybridCloudError, InputError, TransportError, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module

ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
# The clock of the one deadline the phases of a wait share (a fake one in unit tests).
monotonic = time.monotonic
# A write answered with one of these was turned away before NSX handled it: 503 is NSX's own
# answer past 40 concurrent requests (and a proxy's with no NSX behind it), 502 a proxy's that
# got no usable answer. A 504 is not: the proxy gave up waiting while NSX may still apply it.
TURNED_AWAY = frozenset((502, 503))
RESEND_PAUSE_CAP = 8.0
RETRY_AFTER_CAP = 60.0


def validate(params):
    if params.get("session_path") is not None:
        nsxt.parse_session_path(params["session_path"], "session_path")
    check_identifier(params, "session_id", ID_FORM, "an NSX object ID such as a UUID")
    if params["wait_for"] == "tunnel_up" and params["enabled"] is False:
        raise InputError("wait_for", "tunnel_up with enabled: false can never succeed (a disabled "
                                     "session has no tunnel); use tunnel_down or realized")
    validate_wait(params)


def yes_no(value):
    return "true" if value else "false"


class Session:
    """One session in one API generation: how to read it, write it, and follow a change."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.writes = 0      # write requests put on the wire, the client's re-sends included
        self.untied = None   # a warning when a change was made but cannot be followed by its id

    def remember_secrets(self, obj):
        """Whatever psk NSX hands us is a secret for every output of this run."""
        for value in nsxt.psk_values(obj):
            self.module.no_log_values.add(value)
        return obj

    def read(self, url, label):
        try:
            reply = self.client.get(url)
        except ApiError as exc:
            if nsxt.is_not_found(exc):
                raise ApiError("NSX IPsec VPN session %s not found: %s" % (label, exc.msg), **exc.context)
            raise nsxt.explained(exc)
        self.remember_secrets(reply.body)  # before its shape is checked: a psk anywhere is a secret
        return nsxt.json_object(reply, "GET", url)

    def send(self, method, url, **kwargs):
        """One write through the shared client, counting every request it puts on the wire."""
        sent = self.client.requests_sent
        try:
            return self.client.request(method, url, **kwargs)
        finally:
            self.writes += self.client.requests_sent - sent


class PolicySession(Session):
    def __init__(self, module, client):
        super(PolicySession, self).__init__(module, client)
        self.path = nsxt.parse_session_path(module.params["session_path"], "session_path")
        self.target = ("path", self.path, None)

    def get(self):
        return self.read(self.path.url, self.path.path)

    def change(self, session, enabled):
        """PATCH only ``enabled`` (never the psk, never the object as read), then read back.

        A PATCH whose answer is lost (502/504, reset, timeout) is followed by a re-read, never
        by a second PATCH, unless the answer said NSX turned it away (TURNED_AWAY) and the
        re-read shows the session untouched (same ``enabled``, same ``_revision``): then it is
        sent again, at most ``retries`` times. So NSX accepts one PATCH per change."""
        resends = 0
        while True:
            try:
                self.send("PATCH", self.path.url, json={"enabled": enabled}, expect_json=False)
            except (ApiError, TransportError) as exc:
                if not exc.transient or getattr(exc, "refused", False):
                    raise  # NSX refused it, or it never reached NSX (the client re-sent it already)
                after = self.get()
                if nsxt.is_enabled(after) == enabled:
                    return after, None  # NSX took it; only its answer was lost
                untouched = after.get("_revision") == session.get("_revision")
                turned_away = getattr(exc, "status_code", None) in TURNED_AWAY
                if turned_away and untouched and resends < self.module.params["retries"]:
                    resends += 1
                    self.client.sleep(self.pause(resends, getattr(exc, "retry_after", None)))
                    continue
                if turned_away and untouched:
                    why = "sent %d times; NSX turned it away each time" % (resends + 1)
                elif turned_away:
                    why = ("the session read back still has enabled: %s and a new _revision (someone else "
                           "changed it meanwhile), so the PATCH is not sent again" % yes_no(not enabled))
                else:
                    why = ("the session read back still has enabled: %s, but NSX may yet apply this PATCH, "
                           "so it is not sent again" % yes_no(not enabled))
                raise HybridCloudError("%s (%s). Nothing was changed by this task as far as NSX shows; "
                                       "run it again." % (exc.msg.rstrip("."), why), **exc.context)
            return self.get(), None

    def pause(self, attempt, retry_after):
        ceiling = min(RESEND_PAUSE_CAP, 0.5 * (2 ** (attempt - 1)))
        pause = ceiling / 2 + self.client.rng() * ceiling / 2
        return min(RETRY_AFTER_CAP, max(pause, retry_after or 0.0))


class ManagerSession(Session):
    def __init__(self, module, client):
        super(ManagerSession, self).__init__(module, client)
        self.session_id = module.params["session_id"]
        self.url = nsxt.session_path(self.session_id)
        self.target = ("id", self.session_id, None)

    def get(self):
        return self.read(self.url, self.session_id)

    def change(self, session, enabled):
        """PUT the object as read with ``enabled`` changed. A 412 (stale ``_revision``) gets one
        re-read and, only if the session still needs the change, one more PUT with the new
        ``_revision``. A PUT that ends without NSX's answer (lost, or a re-send of the client
        that met the ``_revision`` it had moved: 412) is re-read too: if the change is there, it
        is followed without its request id (``self.untied`` says so)."""
        conflicts = 0
        while True:
            body = dict(session, enabled=enabled)
            try:
                reply = self.send("PUT", self.url, json=body)
            except (ApiError, TransportError) as exc:
                conflict = getattr(exc, "status_code", None) == 412
                if not (conflict or exc.transient) or getattr(exc, "refused", False):
                    raise
                latest = self.get()
                if nsxt.is_enabled(latest) == enabled:
                    self.untied = (
                        "NSX IPsec VPN session %s has enabled: %s, but the PUT that asked for it ended "
                        "without NSX's answer (%s): the change was made, by this PUT whose answer was lost "
                        "or by someone else, and its x-nsx-requestid is unknown. The module followed the "
                        "session's latest state (the state API without request_id), which NSX may still "
                        "report for the change before this one for a moment."
                        % (self.session_id, yes_no(enabled),
                           "HTTP %s" % exc.status_code if isinstance(exc, ApiError) else "no answer"))
                    return latest, None
                if conflict and conflicts == 0:
                    conflicts += 1
                    session = latest
                    continue
                raise
            self.remember_secrets(reply.body)
            after = dict(body) if reply.body is None else nsxt.json_object(reply, "PUT", self.url)
            return after, reply.headers.get(nsxt.CORRELATION_HEADER)


def deadline_message(msg, wait_timeout):
    """A phase's timeout message, naming the task's own deadline (not what was left of it)."""
    return re.sub(r"^Timed out after [0-9.]+ s ", "Timed out after %s s " % wait_timeout, msg)


def follow_phases(session, phases, params, changed_since=None, request_id=None):
    """Wait for each phase in turn (realized, then a tunnel state) within one deadline."""
    kind, target, _rid = session.target
    started = monotonic()
    total = dict(elapsed=0.0, polls=0, history=[])
    fields = {}
    for wait_for in phases:
        offset = monotonic() - started
        phase_params = dict(params, wait_timeout=max(0.0, params["wait_timeout"] - offset))
        since = changed_since if (kind == "path" and wait_for == "realized") else None
        rid = request_id if wait_for == "realized" else None
        outcome = nsxt.follow(session.client, [(kind, target, rid)], wait_for, phase_params, since)[0]
        phase_fields = nsxt.outcome_fields(outcome, wait_for)
        total["history"] += [dict(h, elapsed=round(h["elapsed"] + offset, 3)) for h in phase_fields["history"]]
        total["polls"] += phase_fields["polls"]
        total["elapsed"] = round(monotonic() - started, 3)
        # realization and in_sync come from the realized phase; a tunnel phase adds the tunnel
        for key in ("realization", "in_sync", "tunnel"):
            if key in phase_fields:
                fields[key] = phase_fields[key]
        if isinstance(outcome, HybridCloudError):
            if isinstance(outcome, WaitTimeout):
                outcome = WaitTimeout(deadline_message(outcome.msg, params["wait_timeout"]))
            fields.update(total)
            return outcome, fields
    fields.update(total)
    return None, fields


def stale_warning(session, before, fields):
    """With no write of ours there is no change to tie the wait to: say so when what NSX
    realized is older than the session's last modification."""
    intent = nsxt.modified_time(before)
    times = [nsxt.modified_time(e) for e in (fields.get("realization") or {}).get("entities") or []]
    if intent is None or not times or any(t is None or t >= intent for t in times):
        return None
    return ("NSX IPsec VPN session %s needed no change, so this task made none to wait for: it took the "
            "realization NSX shows now, whose realized entities are older than the session's last "
            "modification (_last_modified_time %d). If that modification (by someone else, or by an "
            "earlier run with wait: false) is still being realized, this state is from before it: follow "
            "such a change with vpn_session_realization_info and its changed_since."
            % (session.path.path, intent))


def run(module, client):
    params = module.params
    enabled = params["enabled"]
    session = PolicySession(module, client) if params["session_path"] is not None \
        else ManagerSession(module, client)
    before = session.get()
    current = nsxt.is_enabled(before)
    result = dict(changed=current != enabled, writes=0, elapsed=0.0, polls=0, history=[])
    if module._diff:
        result["diff"] = dict(before={"enabled": current}, after={"enabled": enabled})
    if result["changed"] and module.check_mode:
        result["session"] = nsxt.masked(dict(before, enabled=enabled))
        return result
    after, request_id, changed_since = before, None, None
    if result["changed"]:
        after, request_id = session.change(before, enabled)
    result["writes"] = session.writes
    result["session"] = nsxt.masked(after)
    if request_id:
        result["request_id"] = request_id
    if session.untied:
        module.warn(session.untied)
    if result["changed"] and isinstance(session, PolicySession):
        changed_since = nsxt.modified_time(after)
        if changed_since is not None:
            result["changed_since"] = changed_since
        elif params["wait"]:
            raise HybridCloudError(
                "NSX IPsec VPN session %s: the PATCH was applied (enabled is now %s), but the session read "
                "back has no integer _last_modified_time (got %r), which is what ties this change to its "
                "realization; not waiting, as a REALIZED left from before the change could be taken for it. "
                "Follow the change with vpn_session_realization_info and changed_since, or use wait: false."
                % (session.path.path, yes_no(enabled), after.get("_last_modified_time")), **result)
    if not params["wait"] or module.check_mode:
        return result
    phases = ["realized"] if params["wait_for"] == "realized" else ["realized", params["wait_for"]]
    failure, fields = follow_phases(session, phases, params, changed_since=changed_since,
                                    request_id=request_id)
    result.update(fields)
    if failure is not None:
        context = dict((k, v) for k, v in failure.context.items() if k not in result)
        context.update(result)
        raise HybridCloudError(failure.msg, **context)
    if not result["changed"] and isinstance(session, PolicySession):
        warning = stale_warning(session, before, fields)
        if warning:
            module.warn(warning)
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
