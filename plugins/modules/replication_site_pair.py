#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: replication_site_pair
short_description: Pair (or unpair) two VMware Cloud Director Availability sites
version_added: 1.0.0
description:
  - Makes the Cloud Director Availability appliance of O(host) pair with the peer site whose API
    is at O(peer_api_url) (C(POST /sites)), and waits for vCDA's pairing task to succeed.
  - Idempotent. The module first reads the pairings (C(GET /sites)) and looks for the peer by
    its API URL (C(apiUrl) or C(apiPublicUrl); scheme and host case, the default port 443 and a
    trailing slash do not matter). When the peer is already paired with the same thumbprint,
    nothing is sent. When it is paired with a different thumbprint (for example after the peer's
    certificate was renewed), the task fails naming both and changes nothing, unless
    O(update_thumbprint=true), in which case the module re-pairs (C(PUT /sites/{site}), vCDA's "Repair
    Sites") with the new thumbprint and waits for its task.
  - A given O(description) that differs from the paired record's is updated the same way
    (C(PUT /sites/{site})).
  - Pairing must be done on both sites. Run the module once against each appliance, each
    pointing at the other (see the examples); the C(site_pairing) role does both.
  - With O(state=absent), removes the pairing (C(DELETE /sites/{site})) and waits for its task.
  - A C(POST), C(PUT) or C(DELETE) of C(/sites) is sent a second time only when vCDA surely did
    not act on the first one. (1) The connection was refused or could not be opened in time, so
    the request never left the controller. (2) vCDA answered HTTP 429, turning the request away
    unprocessed; it is sent again after C(Retry-After), at most O(retries) times. (3) vCDA
    answered HTTP 401 because the session token expired; it checks the token before it does
    anything, so the module logs in again (once per expired token) and sends the request once
    more. In each case vCDA started no task for the first request, so the second one cannot
    pair, re-pair or unpair twice.
  - A write whose reply is lost (connection reset, read timeout, HTTP 500, 502, 503 or 504) is
    not sent again, as it may have reached vCDA. The module reads the pairings instead; when the
    appliance may still be working on the request (all of these but 503), it keeps reading them
    for up to 30 seconds (within O(wait_timeout)). If the pairing is not as wanted by then, the
    task fails saying so, and a re-run is safe because it reads the pairings first.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.vcda
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details:
      - Reads the pairings (and the peer's certificate) but sends no C(POST), C(PUT) nor
        C(DELETE) of C(/sites); the result predicts the change. The login and logout still happen.
  diff_mode:
    support: full
    details:
      - Shows the pairing (C(apiUrl), C(apiThumbprint), C(description), C(site)) before and after;
        a re-pair shows the old and the new thumbprint.
options:
  peer_api_url:
    description:
      - The API URL of the peer site, as the peer publishes it, for example
        C(https://vcda-b.example.com:443). Only C(https) URLs are accepted.
      - The local appliance, not the Ansible controller, connects to this URL.
    type: str
    required: true
  peer_api_thumbprint:
    description:
      - The SHA-256 thumbprint of the peer's API certificate, in the form C(SHA-256:AA:BB:...)
        (32 colon-separated hex pairs; lower case is accepted).
      - When omitted, the module asks the local appliance for the certificate the peer presents
        (C(GET /config/remote-certificate?url=...)), computes its SHA-256 thumbprint, trusts it,
        returns it as RV(peer_api_thumbprint) and warns that it should be pinned here. Setting it
        is the only protection against a man in the middle at the first pairing.
      - Ignored with O(state=absent) (its form is still checked).
    type: str
  description:
    description:
      - Description of the peer site, stored with the pairing.
      - When an existing pairing has another description, it is updated (C(PUT /sites/{site})).
    type: str
  update_thumbprint:
    description:
      - What to do when the peer is already paired under another thumbprint than the wanted one
        (O(peer_api_thumbprint), or the one read from the peer's certificate).
      - V(false) fails naming both thumbprints and changes nothing - the safe default, as a
        changed certificate may also mean a man in the middle.
      - V(true) re-pairs with the wanted thumbprint (C(PUT /sites/{site}) with the record's
        C(apiUrl), the new C(apiThumbprint) and the C(description); C({site}) is the record's
        C(id), else its site name) and follows the task.
      - Pin O(peer_api_thumbprint) to the new certificate's thumbprint, checked out of band.
        Without it, the module trusts whatever certificate the peer presents to the appliance at
        that moment - a man in the middle included - and says so in a warning naming the old and
        the new thumbprint. Re-pairing on an unpinned thumbprint is trust on first use, repeated
        at every rotation.
      - Only with O(state=present).
    type: bool
    default: false
    version_added: 1.1.0
  site:
    description:
      - The site name of the peer, for pairing two Cloud Director sites (vCDA requires it there;
        omit it when pairing vCenter Replication Management Appliances).
    type: str
  state:
    description:
      - V(present) pairs the sites; V(absent) removes the pairing from O(host).
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Overall deadline of the wait for vCDA's pairing or unpairing task, in seconds.
    type: int
    default: 600
notes:
  - vCDA's tasks report C(RUNNING) with a C(progress) percentage, then C(SUCCEEDED), C(FAILED)
    or C(CANCELED). A failed or canceled task fails the module with the task's error code and
    message; RV(task) holds the last task seen.
  - A C(2xx) reply with a task body is accepted, whatever its exact status code.
seealso:
  - name: Cloud Director Availability API, Pair Sites
    description: The vendor's reference of C(POST /sites).
    link: https://developer.broadcom.com/xapis/vmware-cloud-director-availability-vsphere-dr-and-migration-api-reference/latest
'''

EXAMPLES = r'''
# Pairing is made on both sites: A trusts B, then B trusts A. Pin both thumbprints.
- name: Pair two Cloud Director Availability sites in both directions
  vars:
    site_a: {host: vcda-a.example.com, api_url: "https://vcda-a.example.com:443",
             thumbprint: "SHA-256:43:1D:24:8E:A8:C7:67:0F:9F:A9:54:3D:4C:98:7B:3E:61:3F:E8:AD:D8:A5:59:98:00:FA:5D:55:AF:55:A2:92"}
    site_b: {host: vcda-b.example.com, api_url: "https://vcda-b.example.com:443",
             thumbprint: "SHA-256:F4:D6:17:37:FD:45:AF:D4:ED:15:BF:B3:52:2E:3D:41:48:29:71:42:B6:52:81:4B:24:97:5F:77:CF:20:4F:74"}
  module_defaults:
    group/hybridcloud.ops.vcda:
      username: root
      password: "{{ vcda_root_password }}"
      ca_path: /etc/pki/vcda-ca.pem
  block:
    - name: Pair site A with site B (on A)
      hybridcloud.ops.replication_site_pair:
        host: "{{ site_a.host }}"
        peer_api_url: "{{ site_b.api_url }}"
        peer_api_thumbprint: "{{ site_b.thumbprint }}"
        description: Disaster recovery site B

    - name: Pair site B with site A (on B), completing the relationship
      hybridcloud.ops.replication_site_pair:
        host: "{{ site_b.host }}"
        peer_api_url: "{{ site_a.api_url }}"
        peer_api_thumbprint: "{{ site_a.thumbprint }}"
        description: Production site A

- name: Read the peer's thumbprint through the appliance (then pin it), credentials from VCDA_* variables
  hybridcloud.ops.replication_site_pair:
    host: vcda-a.example.com
    peer_api_url: https://vcda-b.example.com:443
  check_mode: true
  register: vcda_preview

- name: Show the thumbprint to check out of band
  ansible.builtin.debug:
    msg: "Site B presents {{ vcda_preview.peer_api_thumbprint }}"

- name: Pair two Cloud Director sites, logged in as a Cloud Director system administrator
  hybridcloud.ops.replication_site_pair:
    host: vcda-cloud-a.example.com
    auth_type: vcdCredentials
    username: administrator@System
    password: "{{ vcd_admin_password }}"
    peer_api_url: https://vcda-cloud-b.example.com:443
    peer_api_thumbprint: "{{ cloud_b_thumbprint }}"
    site: cloud-b
    wait_timeout: 900

- name: Site B's certificate was renewed - re-pair A with B under its new thumbprint (preview with --check --diff)
  hybridcloud.ops.replication_site_pair:
    host: vcda-a.example.com
    peer_api_url: https://vcda-b.example.com:443
    peer_api_thumbprint: "SHA-256:0A:93:51:6E:2C:77:D1:B8:45:AE:9F:03:C6:5B:18:E2:7D:44:A1:6F:B9:20:3C:8E:51:D7:06:9A:EC:34:F2:1B"
    update_thumbprint: true

- name: Remove the pairing with site B from site A
  hybridcloud.ops.replication_site_pair:
    host: vcda-a.example.com
    peer_api_url: https://vcda-b.example.com:443
    state: absent
'''

RETURN = r'''
site:
  description:
    - The peer's pairing record as vCDA lists it (C(GET /sites) or the pairing task's result),
      without stack traces.
    - In check mode, and with O(wait=false) before the task has a result, the record as requested.
    - With O(state=absent), the record that was (or in check mode would be) removed.
  returned: when a pairing exists or is made
  type: dict
  sample:
    id: 5fd06dbd-ccab-4db8-9067-39575137028c
    site: site-b
    description: Disaster recovery site B
    apiUrl: https://vcda-b.example.com:443/
    apiPublicUrl: https://vcda-b.example.com:443/
    apiThumbprint: "SHA-256:43:1D:24:8E:A8:C7:67:0F:9F:A9:54:3D:4C:98:7B:3E:61:3F:E8:AD:D8:A5:59:98:00:FA:5D:55:AF:55:A2:92"
    isLocal: false
    apiVersion: "4.7"
    state: {}
task:
  description:
    - The last state seen of vCDA's pairing or unpairing task (C(ApiTask)), without stack traces.
    - Also returned when the task failed or the wait timed out.
  returned: when a task was started
  type: dict
  sample:
    id: f61d60d2-698a-46dc-a266-88df27644956
    state: SUCCEEDED
    progress: 100
    user: root
    startTime: 1499929548951
    endTime: 1499929558827
peer_api_thumbprint:
  description: The SHA-256 thumbprint of the peer that was (or would be) trusted, given or computed.
  returned: with O(state=present); with O(state=absent) the removed pairing's thumbprint
  type: str
  sample: "SHA-256:43:1D:24:8E:A8:C7:67:0F:9F:A9:54:3D:4C:98:7B:3E:61:3F:E8:AD:D8:A5:59:98:00:FA:5D:55:AF:55:A2:92"
elapsed:
  description: Seconds spent waiting for the task (0 when nothing was waited for).
  returned: always
  type: float
  sample: 6.42
polls:
  description: Task status requests made.
  returned: always
  type: int
  sample: 5
history:
  description: Each change of the task's state, with the seconds since the start of the wait.
  returned: when a task was waited for
  type: list
  elements: dict
  sample:
    - {state: RUNNING, elapsed: 0.0}
    - {state: SUCCEEDED, elapsed: 6.42}
vendor_stacktrace:
  description: vCDA's Java stack trace of the error that failed the task, for VMware support.
  returned: on failure, with C(-vvv) or more, when vCDA gave one
  type: str
'''

from ansible_collections.hybridcloud.ops.plugins.module_utils import _vcda as vcda
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import validate_wait, wait_spec
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError, TransportError, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import Status, wait_until

# After a lost reply, how long to keep reading the pairings for a request vCDA may be working on.
RECHECK_SECONDS = 30
DIFF_KEYS = ("apiUrl", "apiThumbprint", "description", "site")


def validate(params):
    vcda.check_api_url(params["peer_api_url"], "peer_api_url")
    if params["peer_api_thumbprint"] is not None:
        vcda.normalise_thumbprint(params["peer_api_thumbprint"], "peer_api_thumbprint")
    if params["site"] is not None and not params["site"].strip():
        raise InputError("site", "must be the peer's site name, got an empty string")
    if params.get("update_thumbprint") and params["state"] != "present":
        raise InputError("update_thumbprint", "only applies with state: present (it re-pairs an existing "
                                              "pairing), got state: %s" % params["state"])
    validate_wait(params)


def run(module, client):
    """Pair with the peer unless it is already paired with the same thumbprint, or remove the
    pairing; never re-pair silently, and send a write of /sites again only when vCDA surely did
    not act on it (see the module's documentation)."""
    peer_url = module.params["peer_api_url"].strip()
    if module.params["state"] == "absent":
        return unpair(module, client, peer_url)
    return pair(module, client, peer_url)


# -- state: present ----------------------------------------------------------------------------
def pair(module, client, peer_url):
    params = module.params
    thumbprint = wanted_thumbprint(client, params, peer_url)
    pinned = params["peer_api_thumbprint"] is not None
    sites = vcda.list_sites(client)
    refuse_own_url(sites, peer_url)
    current = vcda.find_peer(sites, peer_url)
    result = dict(peer_api_thumbprint=thumbprint, task=None, elapsed=0.0, polls=0)

    if current is not None:
        have = str(current.get("apiThumbprint") or "").strip() or "(none)"
        same = vcda.same_thumbprint(have, thumbprint)
        if not same and not params.get("update_thumbprint"):
            raise HybridCloudError(
                "%s is already paired with thumbprint %s, but the thumbprint wanted is %s. Nothing "
                "was changed. If the peer's certificate was replaced on purpose, set "
                "update_thumbprint: true to re-pair with the new thumbprint; otherwise find out why "
                "the peer presents another certificate." % (peer_url, have, thumbprint),
                site=current, peer_api_thumbprint=thumbprint)
        if not same and not pinned:
            warn_unpinned_repair(module, peer_url, have, thumbprint)
        elif not pinned:
            warn_unpinned(module, peer_url, thumbprint)
        warn_about_differences(module, current)
        new_description = params["description"] is not None and current.get("description") != params["description"]
        if not same or new_description:
            return repair(module, client, current, peer_url, thumbprint, result)
        result.update(changed=False, site=current)
        return with_diff(module, result, summary(current), summary(current))

    if not pinned:
        warn_unpinned(module, peer_url, thumbprint)

    wanted = requested_record(params, peer_url, thumbprint)
    result.update(changed=True, site=wanted)
    with_diff(module, result, {}, wanted)
    if module.check_mode:
        return result

    try:
        reply = client.post(vcda.SITES, json=wanted)
    except (ApiError, TransportError) as exc:
        result["site"] = recover_lost_reply(module, client, exc, peer_url, want_paired=True)
        return result
    task = vcda.task_of_reply(reply, "POST", vcda.SITES)
    label = "vCDA task %s pairing with %s" % (task["id"], peer_url)
    finish(module, client, task, label, result, dict(peer_api_thumbprint=thumbprint))
    outcome = result["task"].get("result")
    if isinstance(outcome, dict) and outcome.get("apiUrl"):
        result["site"] = outcome
    elif params["wait"]:
        result["site"] = vcda.find_peer(vcda.list_sites(client), peer_url) or wanted
    return result


def repair(module, client, current, peer_url, thumbprint, result):
    """Re-pair an existing pairing (``PUT /sites/<id or site name>``, vCDA's "Repair Sites") with
    the wanted thumbprint and description, and follow its task."""
    params = module.params
    description = params["description"] if params["description"] is not None else current.get("description")
    # The record's own apiUrl: peer_api_url only had to match it (or apiPublicUrl), and must not
    # silently rewrite it.
    body = {"apiUrl": current.get("apiUrl") or peer_url, "apiThumbprint": thumbprint}
    if description is not None:
        body["description"] = description
    after = dict(summary(current), apiThumbprint=thumbprint)
    if description is not None:
        after["description"] = description
    result.update(changed=True, site=dict(current, **body))
    with_diff(module, result, summary(current), after)
    if module.check_mode:
        return result
    path = vcda.site_path(current)

    def settled(site):
        return (site is not None and vcda.same_thumbprint(site.get("apiThumbprint"), thumbprint)
                and (description is None or site.get("description") == description))

    try:
        reply = client.put(path, json=body, idempotent=False)
    except (ApiError, TransportError) as exc:
        result["site"] = recover_lost_reply(module, client, exc, peer_url, want_paired=True, settled=settled)
        return result
    task = vcda.task_of_reply(reply, "PUT", path)
    label = "vCDA task %s re-pairing with %s" % (task["id"], peer_url)
    finish(module, client, task, label, result, dict(peer_api_thumbprint=thumbprint, site=current))
    outcome = result["task"].get("result")
    if isinstance(outcome, dict) and outcome.get("apiUrl"):
        result["site"] = outcome
    elif params["wait"]:
        result["site"] = vcda.find_peer(vcda.list_sites(client), peer_url) or result["site"]
    return result


def wanted_thumbprint(client, params, peer_url):
    """The thumbprint given, else the one of the certificate the peer presents to the appliance."""
    given = params["peer_api_thumbprint"]
    if given is not None:
        return vcda.normalise_thumbprint(given)
    return vcda.peer_thumbprint(client, peer_url)


def warn_unpinned(module, peer_url, thumbprint):
    module.warn("peer_api_thumbprint is not set, so the module trusts %s, the SHA-256 thumbprint of "
                "the certificate %s presented to %s. Check it out of band and pin it with "
                "peer_api_thumbprint." % (thumbprint, peer_url, module.params["host"]))


def warn_unpinned_repair(module, peer_url, have, thumbprint):
    module.warn("update_thumbprint %s the pairing with %s from thumbprint %s to %s WITHOUT A PINNED "
                "peer_api_thumbprint: %s is simply the certificate the peer presented to %s just now. A man in "
                "the middle would have been trusted the same way. Check %s out of band (for example on the "
                "peer's console) and pin it with peer_api_thumbprint."
                % ("would re-pair" if module.check_mode else "re-paired", peer_url, have, thumbprint,
                   thumbprint, module.params["host"], thumbprint))


def refuse_own_url(sites, peer_url):
    local = vcda.local_site(sites)
    if local is not None and vcda.normalise_url(peer_url) in vcda.site_urls(local):
        raise InputError("peer_api_url", "%s is the API URL of this appliance (site %s) itself; "
                         "give the peer site's URL" % (peer_url, local.get("site")))


def requested_record(params, peer_url, thumbprint):
    record = {"apiUrl": peer_url, "apiThumbprint": thumbprint}
    for option in ("description", "site"):
        if params[option] is not None:
            record[option] = params[option]
    return record


def warn_about_differences(module, current):
    for option in ("site",):
        wanted = module.params[option]
        if wanted is not None and current.get(option) != wanted:
            module.warn("The existing pairing's %s is %r, not %r; an existing pairing is left as it "
                        "is." % (option, current.get(option), wanted))


# -- state: absent -----------------------------------------------------------------------------
def unpair(module, client, peer_url):
    current = vcda.find_peer(vcda.list_sites(client), peer_url)
    result = dict(changed=current is not None, site=current, task=None, elapsed=0.0, polls=0,
                  peer_api_thumbprint=(current or {}).get("apiThumbprint"))
    with_diff(module, result, summary(current), {})
    if current is None or module.check_mode:
        return result
    path = vcda.site_path(current)
    try:
        reply = client.delete(path, idempotent=False)
    except (ApiError, TransportError) as exc:
        if getattr(exc, "status_code", None) == 404:
            # Gone already (someone else removed it), or a wrong address? Only a fresh read can say.
            if vcda.find_peer(vcda.list_sites(client), peer_url) is not None:
                raise
            module.warn("The pairing with %s was removed by someone else while this task ran."
                        % peer_url)
            result["changed"] = False
            return result
        recover_lost_reply(module, client, exc, peer_url, want_paired=False)
        return result
    task = vcda.task_of_reply(reply, "DELETE", path)
    label = "vCDA task %s removing the pairing with %s" % (task["id"], peer_url)
    finish(module, client, task, label, result, dict(site=current))
    return result


# -- shared by both states ---------------------------------------------------------------------
def finish(module, client, task, label, result, context):
    """Follow the task (or, with wait: false, report it as it is) into ``result``."""
    params = module.params
    result["task"] = vcda.without_stacktraces(task)
    if not params["wait"]:
        return
    try:
        waited = vcda.follow_task(client, task, label, params["wait_timeout"], params["wait_sleep"])
    except HybridCloudError as exc:
        for key, value in context.items():
            exc.context.setdefault(key, value)
        raise
    result.update(task=waited.obj, elapsed=waited.elapsed, polls=waited.polls, history=waited.history)


def recover_lost_reply(module, client, exc, peer_url, want_paired, settled=None):
    """A POST/PUT/DELETE of /sites whose reply was lost may have reached vCDA, so it is not sent
    again: read the pairings instead. Returns the peer's record (or None) when it is as wanted (``settled(site)``
    when given - a re-pair - else paired or not), else raises."""
    if isinstance(exc, TransportError) and exc.tls:
        raise exc
    status = getattr(exc, "status_code", None)
    if status is not None and status < 500 and status != 429:
        raise exc  # vCDA answered and refused: it started nothing
    params = module.params
    # 429/503: the appliance said it did not take the request; otherwise it may be working on it.
    declined = status in (429, 503)
    patience = 0 if declined or not params["wait"] else min(params["wait_timeout"], RECHECK_SECONDS)
    if settled is not None:
        goal, shown = "re-paired", "the pairing with %s re-paired" % peer_url
    else:
        goal, shown = ("paired" if want_paired else "unpaired"), "the pairing with %s" % peer_url

    def poll():
        site = vcda.find_peer(vcda.list_sites(client), peer_url)
        state = "paired" if site is not None else "unpaired"
        if settled is not None and settled(site):
            state = "re-paired"
        return Status(state, obj=site, done=state == goal)

    if patience:
        try:
            site = wait_until(poll, "the pairing with %s to be %s" % (peer_url, goal), patience,
                              params["wait_sleep"], client=client).obj
            reached = True
        except WaitTimeout:
            reached = False
    else:
        now = poll()
        site, reached = now.obj, now.done
    if not reached:
        context = exc.to_fail_kwargs()
        context.pop("msg")
        raise HybridCloudError(
            "%s. The request was not sent again, because it may have reached the appliance; GET %s "
            "%s %s%s. Re-run the task: it reads the pairings first and sends the request only if it is "
            "still needed." % (exc.msg.rstrip("."), vcda.SITES, "still shows" if goal == "unpaired" else "does not show",
                               shown, " after %s s" % patience if patience else ""), **context)
    module.warn("%s. The request was not sent again: GET %s %s %s."
                % (exc.msg.rstrip("."), vcda.SITES, "no longer shows" if goal == "unpaired" else "shows", shown))
    return site


def summary(site):
    if not site:
        return {}
    return dict((k, site[k]) for k in DIFF_KEYS if site.get(k) is not None)


def with_diff(module, result, before, after):
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    return result


def main():
    argument_spec = vcda.argument_spec()
    argument_spec.update(
        peer_api_url=dict(type="str", required=True),
        peer_api_thumbprint=dict(type="str"),
        description=dict(type="str"),
        site=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        update_thumbprint=dict(type="bool", default=False),
    )
    argument_spec.update(wait_spec(wait=True, wait_timeout=600))
    run_module(argument_spec, run, connect=vcda.connect, validate=validate)


if __name__ == "__main__":
    main()
