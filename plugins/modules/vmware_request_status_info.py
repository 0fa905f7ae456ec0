#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmware_request_status_info
short_description: Wait for a VMware Customer Connect request and return its report
version_added: 1.0.0
description:
  - Reads the status of an asynchronous VMware Customer Connect request (for example an
    invitation of users) with
    C(GET /v1/m4/api/myvmware/external/requests/{requestId}/status) and, by default, waits until
    it reaches a success or a failure status.
  - B(The API this module uses is gone from the public internet.) VMware labelled it beta, and
    retired Customer Connect and its gateway C(apigw.vmware.com) in May 2024, when Broadcom moved
    its users to the Broadcom Support Portal. The module is deprecated (see below) and keeps
    working unchanged for anyone who reaches the same API through a gateway of their own
    (O(host)).
  - Statuses are compared without regard to case. A status in O(success_statuses) ends the wait
    with RV(completed=true); a status in O(failure_statuses) fails the task with the request's
    C(message) and C(report); any other status (or none) counts as in progress.
  - Polls at once, then with pauses that start near half a second and grow with the time already
    waited, so the task returns moments after the request is done.
  - Customer Connect errors (HTTP 400, 401, 404, 500) fail with the C(errorCode) and C(message)
    of each C(errorDetails) entry and the C(traceId) to quote to VMware support. HTTP 401 says
    that the access token is invalid or expired; HTTP 404 that no request has that id.
  - Never changes anything.
deprecated:
  removed_in: 2.0.0
  why: >-
    VMware retired Customer Connect and its API gateway C(apigw.vmware.com) in May 2024 (its users
    moved to the Broadcom Support Portal), so the API this module reads no longer exists at its
    default host.
  alternative: >-
    None from the vendor - the Broadcom Support Portal has no public API for this. The module keeps
    working until 2.0.0 against any gateway that still serves the Customer Connect API (set O(host)).
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.customer_connect
  - hybridcloud.ops.connection
  - hybridcloud.ops.wait
  - hybridcloud.ops.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  request_id:
    description:
      - Id of the request to follow, as returned by the operation that started it, for example
        C(1uy14hzktpz7n7a9h).
      - Letters, digits, C(-), C(_) and C(.), starting with a letter or digit, at most 128
        characters. Checked before any request is sent.
    type: str
    required: true
  success_statuses:
    description:
      - Statuses that mean the request is done and succeeded. Compared without regard to case.
      - The vendor documents only C(COMPLETED). Add, for example, C(PARTIALLY_COMPLETED) here if
        a partial result is good enough for you, or to O(failure_statuses) if it is not.
      - Must list at least one status, and none that is also in O(failure_statuses).
    type: list
    elements: str
    default: [COMPLETED]
  failure_statuses:
    description:
      - Statuses that mean the request ended in failure; the task then fails at once with the
        request's C(message) and C(report). Compared without regard to case.
      - May be empty, to treat every status other than O(success_statuses) as in progress.
    type: list
    elements: str
    default: [FAILED, ERROR, CANCELLED]
  wait:
    description:
      - Wait until the request reaches a status of O(success_statuses) or O(failure_statuses).
      - With V(false), read the status once and return it whatever it is (a failure status is
        then reported in RV(request), not as a task failure); only an API error fails the task.
notes:
  - The default O(host) C(apigw.vmware.com) was retired with Customer Connect in May 2024; without a
    gateway of your own that serves the same API, every request fails to connect or is refused.
  - Running the module prints Ansible's deprecation warning (from the collection's
    C(meta/runtime.yml)); set C(ANSIBLE_DEPRECATION_WARNINGS=false) to silence it once read.
  - A status in neither list, for example C(PARTIALLY_COMPLETED) with the default lists, keeps
    the module waiting until O(wait_timeout); the timeout message names that status.
  - The body of a Customer Connect error carries its own C(statusCode), which VMware's examples
    show as C(400) for every error; the module trusts the HTTP status instead.
seealso:
  - name: VMware Customer Connect API, Get Request Status
    description: The API this module reads (beta).
    link: https://developer.vmware.com/apis/customer-connect/latest/v1/m4/api/myvmware/external/requests/requestId/status/get/
'''

EXAMPLES = r'''
- name: Wait for a Customer Connect request and show what it did for each user
  hybridcloud.ops.vmware_request_status_info:
    access_token: "{{ vault_customer_connect_token }}"
    request_id: "{{ cc_invite_request_id }}"   # the requestId returned when the request was made
    wait_timeout: 600
  register: cc_request

- name: Show the per-user report
  ansible.builtin.debug:
    msg: "{{ cc_request.request.report }}"

- name: Follow requests with the token set once for the play (CUSTOMER_CONNECT_ACCESS_TOKEN)
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/hybridcloud.ops.customer_connect:
      access_token: "{{ lookup('ansible.builtin.env', 'CUSTOMER_CONNECT_ACCESS_TOKEN') }}"
      ca_path: /etc/pki/tls/corporate-proxy-ca.pem
  tasks:
    - name: Accept a partially completed request too
      hybridcloud.ops.vmware_request_status_info:
        request_id: 1uy14hzktpz7n7a9h
        success_statuses: [COMPLETED, PARTIALLY_COMPLETED]
      register: cc_request

    - name: Report the users that were not processed
      ansible.builtin.debug:
        msg: "{{ cc_request.request.report }}"
      when: cc_request.request.status == 'PARTIALLY_COMPLETED'

- name: Read the status once, without waiting, and branch on it
  hybridcloud.ops.vmware_request_status_info:
    request_id: 1uy14hzktpz7n7a9h
    wait: false
  register: cc_status

- name: Handle a failed request instead of stopping the play
  block:
    - name: Wait for the request
      hybridcloud.ops.vmware_request_status_info:
        request_id: 1uy14hzktpz7n7a9h
  rescue:
    - name: Show why it failed (the request's message and report, or the API error and its traceId)
      ansible.builtin.debug:
        msg: "{{ ansible_failed_result.msg }}"

- name: Ad-hoc, from the command line, with the token in the environment
  ansible.builtin.debug:
    msg: >-
      CUSTOMER_CONNECT_ACCESS_TOKEN=... ansible localhost
      -m hybridcloud.ops.vmware_request_status_info -a 'request_id=1uy14hzktpz7n7a9h wait=false'
'''

RETURN = r'''
request:
  description:
    - The last request status object Customer Connect returned (C(RequestDetailsResponse)),
      with every field as the API gives it.
  returned: success, and on a failure status or timeout
  type: dict
  sample:
    id: 1uy14hzktpz7n7a9h
    operation: inviteUsers
    performedBy: ops-admin@example.com
    creationTime: "2024-03-05T09:12:44.001Z"
    status: COMPLETED
    message: Request is completed successfully. Please check report for further details.
    report:
      - user@example.com: Invitation has been sent to user successfully.
  contains:
    id:
      description: Id of the request.
      type: str
    operation:
      description: Operation performed for this request, for example C(inviteUsers).
      type: str
    performedBy:
      description: User who initiated the request.
      type: str
    creationTime:
      description: When the request was submitted (ISO 8601).
      type: str
    status:
      description: Current status, for example C(IN_PROGRESS), C(COMPLETED), C(FAILED).
      type: str
    message:
      description: Customer Connect's message on the current status.
      type: str
    report:
      description:
        - Report generated after the request ran, as the API gives it. VMware documents an
          object; its example is a list of one-key objects that map each user to an outcome.
      type: raw
      returned: when Customer Connect reports one
completed:
  description: Whether the request reached a status of O(success_statuses).
  returned: always
  type: bool
  sample: true
elapsed:
  description: Seconds spent waiting (0.0 with O(wait=false)).
  returned: always
  type: float
  sample: 3.217
polls:
  description: Status requests made.
  returned: always
  type: int
  sample: 6
history:
  description: Each change of the request's status, with the seconds since the start of the wait.
  returned: always
  type: list
  elements: dict
  sample:
    - {state: IN_PROGRESS, elapsed: 0.0}
    - {state: COMPLETED, elapsed: 3.217}
'''

import re

from ansible_collections.hybridcloud.ops.plugins.module_utils import _customer_connect as cc
from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    check_identifier, validate_wait, wait_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    InputError, WaitFailed, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import Status, wait_until

ID_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
ID_WHAT = "a Customer Connect request id such as 1uy14hzktpz7n7a9h (letters, digits, '-', '_', '.')"
IN_PROGRESS_HINT = ("statuses in neither success_statuses nor failure_statuses count as in progress; "
                    "add %s to one of them if it is final")


def validate(params):
    check_identifier(params, "request_id", ID_FORM, ID_WHAT)
    for option in ("success_statuses", "failure_statuses"):
        if any(not str(s).strip() for s in params[option]):
            raise InputError(option, "must list status names such as COMPLETED, got an empty one")
    if not params["success_statuses"]:
        raise InputError("success_statuses", "must list at least one status, such as COMPLETED")
    both = (cc.normalise_statuses(params["success_statuses"])
            & cc.normalise_statuses(params["failure_statuses"]))
    if both:
        raise InputError("success_statuses", "%s %s also listed in failure_statuses; a status means "
                         "success or failure, not both" % (", ".join(sorted(both)),
                                                           "is" if len(both) == 1 else "are"))
    validate_wait(params)


def request_poll(client, request_id, success, failure):
    """A function that reads the request once and says what its status means."""

    def poll():
        body = cc.read_request_status(client, request_id)
        status = body.get("status")
        state = str(status) if status not in (None, "") else "(no status)"
        outcome = cc.classify(status, success, failure)
        if outcome == "failure":
            return Status(state, obj=body, failure=cc.describe_failure(request_id, body))
        return Status(state, obj=body, done=outcome == "success", detail=body.get("message"))

    return poll


def run(module, client):
    params = module.params
    request_id = params["request_id"]
    success = cc.normalise_statuses(params["success_statuses"])
    failure = cc.normalise_statuses(params["failure_statuses"])
    poll = request_poll(client, request_id, success, failure)

    if not params["wait"]:
        # One read, reported as it is: a failure status is data here, not a task failure.
        status = poll()
        return dict(changed=False, request=status.obj, completed=status.done, elapsed=0.0,
                    polls=1, history=[{"state": status.state, "elapsed": 0.0}])

    goal = "Customer Connect request %s to reach %s" % (
        request_id, _either(_ordered(params["success_statuses"])))
    try:
        outcome = wait_until(poll, goal, timeout=params["wait_timeout"],
                             sleep_cap=params["wait_sleep"], result_key="request", client=client)
    except WaitTimeout as exc:
        msg = exc.msg
        last = (exc.result.obj or {}).get("status") if exc.result is not None else None
        if last not in (None, "") and not cc.looks_in_progress(last):
            msg += "; %s" % (IN_PROGRESS_HINT % last)
        raise WaitTimeout(msg, result=exc.result, result_key="request", completed=False)
    except WaitFailed as exc:
        raise WaitFailed(exc.msg, result=exc.result, result_key="request", completed=False)
    return dict(changed=False, request=outcome.obj, completed=True, elapsed=outcome.elapsed,
                polls=outcome.polls, history=outcome.history)


def _ordered(statuses):
    """Upper-case names in the user's order, without repeats."""
    seen = []
    for status in statuses:
        name = str(status).strip().upper()
        if name not in seen:
            seen.append(name)
    return seen


def _either(names):
    return names[0] if len(names) == 1 else "%s or %s" % (", ".join(names[:-1]), names[-1])


def main():
    argument_spec = cc.argument_spec()
    argument_spec.update(
        request_id=dict(type="str", required=True),
        success_statuses=dict(type="list", elements="str", default=list(cc.DEFAULT_SUCCESS_STATUSES)),
        failure_statuses=dict(type="list", elements="str", default=list(cc.DEFAULT_FAILURE_STATUSES)),
    )
    argument_spec.update(wait_spec(wait=True, wait_timeout=300))
    run_module(argument_spec, run, connect=cc.connect, validate=validate)


if __name__ == "__main__":
    main()
