#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipsec_connection_state
short_description: Enable or disable a ZStack IPsec connection and wait until ZStack is done
version_added: 1.0.0
description:
  - Finds one IPsec connection of ZStack Cloud by O(uuid) or O(name) and sets its state to
    V(enabled) or V(disabled) with ZStack's C(ChangeIPSecConnectionState) API
    (C(PUT /zstack/v1/ipsec/{uuid}/actions)).
  - Idempotent. When the connection already has the wanted state, nothing is sent and the task
    reports no change.
  - ZStack runs the change as an asynchronous job. By default the module follows the job until it
    ends, polling at once and then with pauses that grow with the time already waited.
  - The call carries a job uuid of the module's own (C(X-Job-UUID)) and is never sent twice. When
    its reply is lost, the module follows the job by that uuid, and reports a change that never
    reached ZStack as a failure instead of sending it again.
  - ZStack refuses to change a connection whose C(status) is not C(Ready). The module checks
    this before it sends anything and fails with the status it found.
  - The IPsec pre-shared key (C(authKey)) is masked in every result.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.zstack
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Reads the connection and reports the change it would make, without sending it.
  diff_mode:
    support: full
    details: Shows the C(state) of the connection before and after.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - hybridcloud.ops.zstack
      - hybridcloud.ops.all
options:
  uuid:
    description:
      - UUID of the IPsec connection (32 hexadecimal characters, no dashes).
      - Exactly one of O(uuid) and O(name) is required.
    type: str
  name:
    description:
      - Name of the IPsec connection, looked up with C(GET /zstack/v1/ipsec?q=name=<name>).
      - The task fails when no connection or more than one has this name; use O(uuid) then.
    type: str
  state:
    description:
      - The state the connection should have. ZStack's C(stateEvent) is C(enable) or C(disable).
    type: str
    choices: [enabled, disabled]
    required: true
  system_tags:
    description:
      - ZStack system tags sent with the change (C(systemTags)). Only sent when the state changes.
    type: list
    elements: str
  user_tags:
    description:
      - ZStack user tags sent with the change (C(userTags)). Only sent when the state changes.
    type: list
    elements: str
  wait:
    description:
      - Follow ZStack's job until the change is done, or failed.
      - With V(false), return as soon as ZStack has accepted the change, with RV(job_uuid);
        RV(connection) then shows the connection as it was before the change.
    type: bool
    default: true
  wait_timeout:
    description:
      - Overall deadline in seconds of the wait for ZStack's job, wall clock, including the time
        of the requests.
      - On timeout the task fails, naming the job and the last state seen, and returns the
        connection as last read.
    type: int
    default: 300
notes:
  - With O(wait=false), a failure of the job is not seen by the task. Follow it with
    C(GET /zstack/v1/api-jobs/<job_uuid>) or run the task again with O(wait=true).
  - ZStack keeps the result of a finished job for a limited time (its polling address then
    answers 404). The module then reads the connection to tell whether the change is in place.
seealso:
  - name: ZStack API, ChangeIPSecConnectionState
    description: The API this module calls.
    link: https://www.zstack.io/help/en/dev_manual/
'''

EXAMPLES = r'''
- name: Maintenance window on the branch tunnels, credentials set once for every ZStack task
  module_defaults:
    group/hybridcloud.ops.zstack:
      host: zstack.example.com            # http://zstack.example.com:8080
      username: "{{ lookup('ansible.builtin.env', 'ZSTACK_USERNAME') }}"
      password: "{{ vault_zstack_password }}"
  block:
    - name: Disable the tunnel to branch 01 before the peer's firmware upgrade
      hybridcloud.ops.ipsec_connection_state:
        name: dc-to-branch-01
        state: disabled
      register: zstack_tunnel

    - name: Show what ZStack did while the task waited
      ansible.builtin.debug:
        msg: "job {{ zstack_tunnel.job_uuid }}: {{ zstack_tunnel.history | map(attribute='state') | join(' -> ') }}"

    - name: Enable it again by UUID, tagging the change
      hybridcloud.ops.ipsec_connection_state:
        uuid: 76424bb25d3a37c9961fff1116bc06da
        state: enabled
        user_tags:
          - change:CHG-20431
        wait_timeout: 600

- name: Preview a change (check mode, diff) - nothing is sent to ZStack
  hybridcloud.ops.ipsec_connection_state:
    name: dc-to-branch-02
    state: enabled
  check_mode: true
  diff: true

- name: Fire and forget, then read the job with the returned job_uuid later
  hybridcloud.ops.ipsec_connection_state:
    name: dc-to-branch-02
    state: disabled
    wait: false
  register: zstack_change

- name: Use a session opened elsewhere (for example by zstack-cli) instead of a password
  hybridcloud.ops.ipsec_connection_state:
    host: https://zstack.example.com
    ca_path: /etc/pki/tls/zstack-ca.pem
    session_uuid: "{{ zstack_session_uuid }}"
    uuid: 76424bb25d3a37c9961fff1116bc06da
    state: enabled

# Ad hoc, with everything from the environment:
#   export ZSTACK_HOST=zstack.example.com ZSTACK_USERNAME=admin ZSTACK_PASSWORD=...
#   ansible localhost -m hybridcloud.ops.ipsec_connection_state -a 'name=dc-to-branch-01 state=enabled'
'''

RETURN = r'''
connection:
  description:
    - The IPsec connection (ZStack's C(IPsecConnectionInventory)), as the job left it.
    - In check mode, as it would be after the change. With O(wait=false), as it was before.
    - C(authKey), the pre-shared key, is always masked.
  returned: when the connection was found (also on failure and timeout)
  type: dict
  sample:
    uuid: 13b5a2cd8c5c30a9a47ba95802cf4e1a
    name: dc-to-branch-01
    state: Enabled
    status: Ready
    peerAddress: 203.0.113.10
    authMode: psk
    authKey: "********"
    vipUuid: 8d3054dba0a84c1c9e1e2f30ba0c3e7d
    peerCidrs:
      - cidr: 10.20.0.0/16
  contains:
    uuid:
      description: UUID of the connection.
      type: str
    name:
      description: Name of the connection.
      type: str
    state:
      description: C(Enabled) or C(Disabled).
      type: str
    status:
      description: ZStack's status of the connection; only a C(Ready) one can change state.
      type: str
    authKey:
      description: The pre-shared key, always C(********).
      type: str
changed:
  description: Whether the state was (or, in check mode, would be) changed.
  returned: always
  type: bool
  sample: true
job_uuid:
  description:
    - The ZStack job that made the change (the C(X-Job-UUID) the module sent).
    - C(null) when nothing was sent (no change needed, or check mode).
  returned: always
  type: str
  sample: d825b1a26f4e474b8c59306081920ff2
elapsed:
  description: Seconds spent following the job.
  returned: always
  type: float
  sample: 2.418
polls:
  description: Job status requests made (C(GET /zstack/v1/api-jobs/{uuid})).
  returned: always
  type: int
  sample: 5
history:
  description:
    - Each change of the job's state seen, with the seconds since the start of the wait, for
      example C(processing), C(succeeded), C(failed), or C(accepted) with O(wait=false).
  returned: always
  type: list
  elements: dict
  sample:
    - {state: processing, elapsed: 0.0}
    - {state: succeeded, elapsed: 2.418}
error:
  description: ZStack's error body of a failed job (C(code), C(description), C(details), C(cause)).
  returned: when the job failed
  type: dict
  sample:
    error:
      code: SYS.1006
      description: An operation failed
      details: failed to enable the IPsec connection on virtual router
'''

from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zstack
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import validate_wait, wait_spec
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    HybridCloudError, InputError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module

# option value -> (ZStack's state, ZStack's stateEvent)
STATES = {"enabled": ("Enabled", "enable"), "disabled": ("Disabled", "disable")}
READY = "Ready"


def validate(params):
    zstack.check_uuid(params, "uuid")
    zstack.check_query_value(params, "name")
    for option in ("system_tags", "user_tags"):
        for tag in params.get(option) or []:
            if not tag or not tag.strip():
                raise InputError(option, "must be a list of non-empty ZStack tags, got an empty one")
    validate_wait(params)


def same_state(state, wanted):
    return str(state or "").lower() == wanted.lower()


def label(inventory):
    return "IPsec connection %r (%s)" % (inventory.get("name"), inventory.get("uuid"))


def find_connection(client, params):
    """The one connection the task is about, as ZStack returns it (secrets included)."""
    if params["uuid"]:
        found = zstack.query(client, "ipsec/%s" % params["uuid"])
        if not found:
            raise HybridCloudError("ZStack has no IPsec connection with uuid %s" % params["uuid"])
        return found[0]
    name = params["name"]
    found = [i for i in zstack.query(client, "ipsec", ["name=%s" % name]) if i.get("name") == name]
    if not found:
        raise HybridCloudError("ZStack has no IPsec connection named %r" % name)
    if len(found) > 1:
        uuids = [i.get("uuid") for i in found]
        raise HybridCloudError("%d ZStack IPsec connections are named %r (uuids: %s); set uuid to choose one"
                               % (len(found), name, ", ".join(uuids)), uuids=uuids)
    return found[0]


def run(module, client):
    params = module.params
    wanted, event = STATES[params["state"]]
    found = find_connection(client, params)
    zstack.protect(module, found)
    before = zstack.masked(found)
    uuid = before.get("uuid")
    if not zstack.UUID_FORM.match(str(uuid)):
        raise HybridCloudError("ZStack returned an IPsec connection without a valid uuid: %r" % uuid,
                               connection=before)
    result = dict(changed=False, connection=before, job_uuid=None, elapsed=0.0, polls=0, history=[])
    if module._diff:
        result["diff"] = dict(before={"state": before.get("state")}, after={"state": wanted},
                              before_header=label(before), after_header=label(before))

    if same_state(before.get("state"), wanted):
        if module._diff:
            result["diff"]["after"] = dict(result["diff"]["before"])
        return result

    # ZStack refuses the change unless the connection is Ready: say so before sending anything
    # (also in check mode, whose prediction would otherwise be wrong).
    status = before.get("status")
    if status is not None and status != READY:
        raise HybridCloudError(
            "ZStack cannot change the state of %s to %s: its status is %s, and ZStack only changes a "
            "connection whose status is %s. Nothing was sent." % (label(before), wanted, status, READY),
            connection=before)

    result["changed"] = True
    if module.check_mode:
        result["connection"] = dict(before, state=wanted)
        return result

    def settled():
        """The connection, masked, when it already has the wanted state; else None."""
        now = zstack.query(client, "ipsec/%s" % uuid)
        if not now:
            return None
        zstack.protect(module, now[0])
        return zstack.masked(now[0]) if same_state(now[0].get("state"), wanted) else None

    body = {"changeIPSecConnectionState": {"stateEvent": event}}
    if params["system_tags"]:
        body["systemTags"] = params["system_tags"]
    if params["user_tags"]:
        body["userTags"] = params["user_tags"]
    call, outcome = zstack.run_async(
        client, "%s/ipsec/%s/actions" % (zstack.API_ROOT, uuid), body,
        what="%s to be %s" % (label(before), wanted), wait=params["wait"],
        timeout=params["wait_timeout"], sleep_cap=params["wait_sleep"],
        settled=settled, current=before, result_key="connection")
    for warning in call.warnings:
        module.warn(warning)
    result.update(connection=outcome.obj, job_uuid=call.job_uuid, elapsed=outcome.elapsed,
                  polls=outcome.polls, history=outcome.history)
    return result


def main():
    argument_spec = zstack.argument_spec()
    argument_spec.update(
        uuid=dict(type="str"),
        name=dict(type="str"),
        state=dict(type="str", required=True, choices=["enabled", "disabled"]),
        system_tags=dict(type="list", elements="str"),
        user_tags=dict(type="list", elements="str"),
    )
    argument_spec.update(wait_spec(wait=True, wait_timeout=300))
    run_module(
        argument_spec, run, connect=zstack.connect, validate=validate,
        mutually_exclusive=[("uuid", "name")],
        required_one_of=[("uuid", "name")],
    )


if __name__ == "__main__":
    main()
