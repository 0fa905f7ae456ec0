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
  - The call carries a job uuid of the module's own (C(X-Job-UUID)). When its reply is lost
    (connection reset, read timeout, HTTP 502 or 504, or a 503 without ZStack's error body), the
    module follows the job by that uuid instead of sending the call again, and reports a change
    that never reached ZStack as a failure.
  - The C(PUT) is sent a second time only when ZStack surely did not run the first one.
    (1) The connection was refused or could not be opened in time, so the call never left the
    controller. (2) ZStack answered HTTP 429, turning the call away unprocessed; it is sent again
    after C(Retry-After), at most O(retries) times. (3) ZStack answered the call itself (not its
    job) with error C(ID.1001), session expired; an error answer means it did not take the call,
    so the module logs in again and sends the same call, with the same C(X-Job-UUID), once more.
    (4) The job failed with C(ID.1001); the module logs in again and reads the job once more, and
    if it still shows that failure and a fresh read of the connection shows that the state did
    not change, it sends the call once more, under a new job uuid.
  - This is safe because in each case the first call did nothing, and C(stateEvent) sets a
    state, so a call sent again to a connection that already has that state changes nothing.
    ZStack makes the change at most once.
  - Requests that find the session expired at the same time (with O(connections)) share one new
    login; each expired session is replaced once, at most 3 times per run.
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
options:
  uuid:
    description:
      - UUID of the IPsec connection (32 hexadecimal characters, no dashes).
      - Exactly one of O(uuid), O(name) and O(connections) is required.
    type: str
  name:
    description:
      - Name of the IPsec connection, looked up with C(GET /zstack/v1/ipsec?q=name=<name>).
      - The task fails when no connection or more than one has this name; use O(uuid) then.
    type: str
  state:
    description:
      - The state the connection should have. ZStack's C(stateEvent) is C(enable) or C(disable).
      - Required with O(uuid) or O(name); not used with O(connections), whose items have their own.
    type: str
    choices: [enabled, disabled]
  connections:
    description:
      - Many connections in one run, instead of O(uuid), O(name) and O(state) - for example the
        tunnels of a maintenance window.
      - One login and one logout for the whole list. The connections are looked up in as few
        queries as ZStack allows (C(uuid?=a,b,...) and C(name?=a,b,...)), a C(PUT) is sent only to
        those whose state differs, and their jobs are followed side by side
        (see O(max_concurrent)). Every job is followed to its end, also when another fails.
      - The result has RV(connections), one entry per item in the order given. The task fails
        after every job has ended when any item failed, naming each.
      - A change whose turn comes after O(wait_timeout) has passed (many changes, a low
        O(max_concurrent), a slow appliance) is not sent at all; its item fails saying so.
      - A connection may not be listed twice (same uuid, same name, or once by uuid and once by
        name). The last case is found after the lookups and refused before anything is sent.
    type: list
    elements: dict
    version_added: 1.1.0
    suboptions:
      uuid:
        description: UUID of the connection. Exactly one of O(connections[].uuid) and O(connections[].name).
        type: str
      name:
        description: Name of the connection; it must be unique on ZStack.
        type: str
      state:
        description: The state the connection should have.
        type: str
        choices: [enabled, disabled]
        required: true
      system_tags:
        description: ZStack system tags sent with this change (instead of O(system_tags)).
        type: list
        elements: str
      user_tags:
        description: ZStack user tags sent with this change (instead of O(user_tags)).
        type: list
        elements: str
  max_concurrent:
    description:
      - With O(connections), the most requests to ZStack in flight at once (the state changes and
        the polls of their jobs). The jobs themselves run on ZStack side by side.
      - 1 or more.
    type: int
    default: 10
    version_added: 1.1.0
  system_tags:
    description:
      - ZStack system tags sent with the change (C(systemTags)). Only sent when the state changes.
      - With O(connections), sent with each change.
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

- name: Maintenance window - disable many tunnels in one task (one login, jobs side by side)
  hybridcloud.ops.ipsec_connection_state:
    connections:
      - name: dc-to-branch-01
        state: disabled
      - uuid: 76424bb25d3a37c9961fff1116bc06da
        state: disabled
  register: zstack_window

- name: Show each connection's outcome
  ansible.builtin.debug:
    msg: "{{ zstack_window.connections | map(attribute='connection.name') | zip(zstack_window.connections | map(attribute='changed')) | list }}"

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
connections:
  description:
    - With O(connections), one entry per item, in the order given.
  returned: with O(connections)
  type: list
  elements: dict
  contains:
    item:
      description: The item as given (C(uuid) or C(name), and C(state)).
      type: dict
    changed:
      description:
        - Whether this connection was (or, in check mode, would be) changed.
        - On failure, true only when ZStack took the call and it is not known to have failed (a
          timeout while the job still runs); false when the call was refused, not sent, or its
          job failed.
      type: bool
    connection:
      description: The connection as its job left it (C(authKey) masked); absent when not found.
      type: dict
    job_uuid:
      description:
        - The ZStack job of the change (the C(X-Job-UUID) sent); C(null) when nothing was sent or
          ZStack refused the call outright.
      type: str
    elapsed:
      description: Seconds spent following this job.
      type: float
    polls:
      description: Job status requests made for this item.
      type: int
    history:
      description: Each change of this job's state seen, with the seconds since the start.
      type: list
      elements: dict
    failed:
      description: Whether this item failed.
      type: bool
    msg:
      description: Why this item failed.
      type: str
    status_code:
      description: The HTTP status of ZStack's refusal of the call, or 503 for a failed job.
      type: int
    error:
      description: ZStack's error body (C(error) with C(code), C(description), C(details), C(cause)).
      type: dict
    vendor_code:
      description: ZStack's error code, for example C(SYS.1006).
      type: str
  sample:
    - item: {name: dc-to-branch-01, state: disabled}
      changed: true
      failed: false
      connection: {uuid: 13b5a2cd8c5c30a9a47ba95802cf4e1a, name: dc-to-branch-01, state: Disabled, authKey: "********"}
      job_uuid: d825b1a26f4e474b8c59306081920ff2
      elapsed: 2.1
      polls: 4
      history: [{state: sent, elapsed: 0.0}, {state: processing, elapsed: 0.4}, {state: succeeded, elapsed: 2.1}]
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
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    check_range, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    HybridCloudError, InputError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import wait_all

# option value -> (ZStack's state, ZStack's stateEvent)
STATES = {"enabled": ("Enabled", "enable"), "disabled": ("Disabled", "disable")}
READY = "Ready"


def validate(params):
    check_range(params, "max_concurrent", 1)
    if params.get("connections") is not None:
        validate_many(params)
    elif not params.get("state"):
        raise InputError("state", "is required with uuid or name")
    zstack.check_uuid(params, "uuid")
    zstack.check_query_value(params, "name")
    for option in ("system_tags", "user_tags"):
        for tag in params.get(option) or []:
            if not tag or not tag.strip():
                raise InputError(option, "must be a list of non-empty ZStack tags, got an empty one")
    validate_wait(params)


def validate_many(params):
    items = params["connections"]
    for option in ("uuid", "name", "state"):
        if params.get(option) is not None:
            raise InputError("connections", "cannot be combined with %s: give each item its own "
                             "uuid or name and state" % option)
    if not items:
        raise InputError("connections", "must list at least one connection")
    for index, item in enumerate(items):
        for option in ("system_tags", "user_tags"):
            for tag in item.get(option) or []:
                if not tag or not tag.strip():
                    raise InputError("connections[%d].%s" % (index, option),
                                     "must be a list of non-empty ZStack tags, got an empty one")
    seen = {}
    for index, item in enumerate(items):
        where = "connections[%d]" % index
        if bool(item.get("uuid")) == bool(item.get("name")):
            raise InputError(where, "needs exactly one of uuid and name, got %s"
                             % ({k: v for k, v in item.items() if v is not None},))
        key = ("uuid", item["uuid"].lower()) if item.get("uuid") else ("name", item["name"])
        try:
            zstack.check_uuid(item, "uuid")
            zstack.check_query_value(item, "name")
        except InputError as exc:
            raise InputError("%s.%s" % (where, exc.option), exc.msg.split(": ", 1)[1])
        if key in seen:
            raise InputError(where, "lists %s %r again (also connections[%d]); list each connection once"
                             % (key[0], item[key[0]], seen[key]))
        seen[key] = index


def same_state(state, wanted):
    return str(state or "").lower() == wanted.lower()


def label(inventory):
    return "IPsec connection %r (%s)" % (inventory.get("name"), inventory.get("uuid"))


def find_connection(client, params):
    """The one connection the task is about, as ZStack returns it (secrets included)."""
    if params["uuid"]:
        # ZStack writes its uuids in lower case (and may compare them case-sensitively).
        found = zstack.query(client, "ipsec/%s" % params["uuid"].lower())
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
    if module.params.get("connections") is not None:
        return run_many(module, client)
    return run_one(module, client)


def change_body(params, event):
    body = {"changeIPSecConnectionState": {"stateEvent": event}}
    if params["system_tags"]:
        body["systemTags"] = params["system_tags"]
    if params["user_tags"]:
        body["userTags"] = params["user_tags"]
    return body


def not_ready(inventory, wanted):
    """The failure when ZStack would refuse the change (its status is not Ready), else None."""
    status = inventory.get("status")
    if status is not None and status != READY:
        return ("ZStack cannot change the state of %s to %s: its status is %s, and ZStack only changes a "
                "connection whose status is %s. Nothing was sent." % (label(inventory), wanted, status, READY))
    return None


def settled_reader(module, client, uuid, wanted):
    def settled():
        """The connection, masked, when it already has the wanted state; else None."""
        now = zstack.query(client, "ipsec/%s" % uuid)
        if not now:
            return None
        zstack.protect(module, now[0])
        return zstack.masked(now[0]) if same_state(now[0].get("state"), wanted) else None
    return settled


def lookup_many(module, client, items):
    """Per item, the connection found (raw) or the reason it cannot be used; in as few queries as
    ZStack allows: one ``uuid?=`` and one ``name?=`` list."""
    # ZStack writes its uuids in lower case (and may compare them case-sensitively).
    uuids = [i["uuid"].lower() for i in items if i.get("uuid")]
    names = [i["name"] for i in items if i.get("name")]
    by_uuid, by_name = {}, {}
    if uuids:
        for inv in zstack.query_in(client, "ipsec", "uuid", uuids):
            by_uuid[str(inv.get("uuid")).lower()] = inv
    if names:
        for inv in zstack.query_in(client, "ipsec", "name", names):
            by_name.setdefault(inv.get("name"), []).append(inv)
    found = []
    for item in items:
        if item.get("uuid"):
            inv = by_uuid.get(item["uuid"].lower())
            found.append(inv if inv is not None else
                         "ZStack has no IPsec connection with uuid %s" % item["uuid"])
            continue
        named = by_name.get(item["name"], [])
        if not named:
            found.append("ZStack has no IPsec connection named %r" % item["name"])
        elif len(named) > 1:
            found.append("%d ZStack IPsec connections are named %r (uuids: %s); give its uuid instead"
                         % (len(named), item["name"], ", ".join(str(i.get("uuid")) for i in named)))
        else:
            found.append(named[0])
    for inv in found:
        if isinstance(inv, dict):
            zstack.protect(module, inv)
    refuse_the_same_connection_twice(found)
    return found


def refuse_the_same_connection_twice(found):
    """Two items (one by uuid, one by name) that turn out to be one connection would get two
    changes, perhaps contradicting ones: refuse the list before anything is sent."""
    first = {}
    for index, inv in enumerate(found):
        if not isinstance(inv, dict):
            continue
        key = str(inv.get("uuid")).lower()
        if key in first:
            raise InputError("connections[%d]" % index, "names the same IPsec connection as connections[%d] "
                             "(%r, uuid %s); list each connection once. Nothing was sent."
                             % (first[key], inv.get("name"), inv.get("uuid")))
        first[key] = index


def run_many(module, client):
    params = module.params
    items = [dict((k, v) for k, v in item.items() if v is not None) for item in params["connections"]]
    found = lookup_many(module, client, items)
    entries, polls, whats, calls = [], [], [], {}
    for index, (item, inv) in enumerate(zip(items, found)):
        entry = dict(item=item, changed=False, failed=False, job_uuid=None, elapsed=0.0, polls=0, history=[])
        entries.append(entry)
        if not isinstance(inv, dict):
            entry.update(failed=True, msg=inv)
            continue
        before = zstack.masked(inv)
        entry["connection"] = before
        uuid = before.get("uuid")
        wanted, event = STATES[item["state"]]
        if not zstack.UUID_FORM.match(str(uuid)):
            entry.update(failed=True, msg="ZStack returned an IPsec connection without a valid uuid: %r" % uuid)
            continue
        if same_state(before.get("state"), wanted):
            continue
        refused = not_ready(before, wanted)
        if refused:
            entry.update(failed=True, msg=refused)
            continue
        entry["changed"] = True
        if module.check_mode:
            entry["connection"] = dict(before, state=wanted)
            continue
        what = "%s to be %s" % (label(before), wanted)
        call, poll = zstack.async_poll(
            client, "%s/ipsec/%s/actions" % (zstack.API_ROOT, uuid),
            change_body(dict(params, **dict((k, item[k]) for k in ("system_tags", "user_tags") if item.get(k))),
                        event), what,
            wait=params["wait"], settled=settled_reader(module, client, uuid, wanted), current=before)
        calls[len(polls)] = (index, call)
        polls.append(poll)
        whats.append(what)

    tracebacks = []
    if polls:
        outcomes = wait_all(polls, whats, params["wait_timeout"], params["wait_sleep"],
                            result_key="connection", max_workers=min(params["max_concurrent"], len(polls)),
                            client=client, clock=client.clock, sleep=client.sleep, rng=client.rng)
        for slot, outcome in enumerate(outcomes):
            index, call = calls[slot]
            entry = entries[index]
            for warning in call.warnings:
                module.warn("%s: %s" % (label(entry["connection"]), warning))
            entry["job_uuid"] = call.job_uuid
            if isinstance(outcome, BaseException):
                report_failure(entry, call, outcome, tracebacks)
                continue
            entry.update(connection=outcome.obj, elapsed=outcome.elapsed, polls=job_reads(outcome.polls),
                         history=outcome.history)

    result = dict(changed=any(e["changed"] for e in entries), connections=entries)
    if module._diff:
        before, after = {}, {}
        for entry, inv in zip(entries, found):
            if isinstance(inv, dict):
                key = label(inv)
                before[key] = inv.get("state")
                after[key] = (entry.get("connection") or {}).get("state") if entry["failed"] \
                    else STATES[entry["item"]["state"]][0]
        result["diff"] = dict(before=before, after=after)
    failed = [e for e in entries if e["failed"]]
    if failed:
        if tracebacks:
            result["exception"] = "\n".join(tracebacks)  # shown by Ansible at -vvv only
        raise HybridCloudError(
            "%d of %d IPsec connections failed: %s" % (
                len(failed), len(entries),
                " | ".join("%s: %s" % (e["item"].get("name") or e["item"].get("uuid"), e["msg"]) for e in failed)),
            **result)
    return result


def job_reads(polls):
    """The job status requests among an item's polls: its first poll sent the change."""
    return max(0, polls - 1)


def report_failure(entry, call, outcome, tracebacks):
    """One item's failure in its entry: the message, what was seen, ZStack's answer, and whether
    the change may have been made (ZStack took the call and it is not known to have failed)."""
    context = getattr(outcome, "context", None) or {}
    entry.update(failed=True, msg=getattr(outcome, "msg", str(outcome)))
    for key in ("elapsed", "history", "connection", "status_code", "error", "vendor_code"):
        if context.get(key) is not None:
            entry[key] = context[key]
    if context.get("polls") is not None:
        entry["polls"] = job_reads(context["polls"])
    if call.error is not None:
        entry.update(status_code=503, error={"error": call.error}, vendor_code=call.error.get("code"))
    if context.get("exception"):
        tracebacks.append(context["exception"])
    entry["changed"] = call.taken and not call.unapplied


def run_one(module, client):
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
    refused = not_ready(before, wanted)
    if refused:
        raise HybridCloudError(refused, connection=before)

    result["changed"] = True
    if module.check_mode:
        result["connection"] = dict(before, state=wanted)
        return result

    settled = settled_reader(module, client, uuid, wanted)
    call, outcome = zstack.run_async(
        client, "%s/ipsec/%s/actions" % (zstack.API_ROOT, uuid), change_body(params, event),
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
        state=dict(type="str", choices=["enabled", "disabled"]),
        connections=dict(type="list", elements="dict", options=dict(
            uuid=dict(type="str"),
            name=dict(type="str"),
            state=dict(type="str", required=True, choices=["enabled", "disabled"]),
            system_tags=dict(type="list", elements="str"),
            user_tags=dict(type="list", elements="str"),
        )),
        max_concurrent=dict(type="int", default=10),
        system_tags=dict(type="list", elements="str"),
        user_tags=dict(type="list", elements="str"),
    )
    argument_spec.update(wait_spec(wait=True, wait_timeout=300))
    run_module(
        argument_spec, run, connect=zstack.connect, validate=validate,
        mutually_exclusive=[("uuid", "name")],
        required_one_of=[("uuid", "name", "connections")],
    )


if __name__ == "__main__":
    main()
