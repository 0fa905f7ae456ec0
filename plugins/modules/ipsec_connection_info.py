#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ipsec_connection_info
short_description: List ZStack IPsec connections, filtered by uuid, name, state, status or raw conditions
version_added: 1.1.0
description:
  - Lists the IPsec connections of ZStack Cloud with its query API (C(GET /zstack/v1/ipsec)), so
    a play can find the connections before it changes them.
  - All the filters given are combined with AND. Without any filter, every connection is listed.
  - The results are read page by page, so a large list is never cut at ZStack's default limit.
  - One login and one logout per run (none with O(session_uuid)). Never changes anything.
  - The IPsec pre-shared key (C(authKey)) is masked in every result.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.zstack
  - hybridcloud.ops.connection
  - hybridcloud.ops.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  uuid:
    description: Only the connection with this UUID (32 hexadecimal characters, no dashes).
    type: str
  name:
    description:
      - Only connections with this name. C(%) matches any run of characters (ZStack's C(~=), SQL
        C(LIKE)), for example C(dc-to-branch-%).
      - A name with C(%) is a C(LIKE) pattern, in which C(_) matches any one character too (so
        C(dc_%) also finds C(dc-1)); a name without C(%) is matched exactly, C(_) included.
    type: str
  state:
    description: Only connections in this state.
    type: str
    choices: [enabled, disabled]
  status:
    description: Only connections with this ZStack status, for example C(Ready) or C(Connected).
    type: str
  conditions:
    description:
      - Raw ZStack query conditions, each C(<field><operator><value>) with an operator among
        C(=), C(!=), C(?=) (value in a comma-separated list), C(!?=), C(~=) (C(%) wildcard),
        C(!~=), C(>), C(<), C(>=), C(<=), or C(<field> is null) / C(<field> not null).
      - For example C(peerAddress=203.0.113.7) or C(vipUuid?=a,b).
    type: list
    elements: str
notes:
  - A name containing a query operator (for example C(!=)) cannot be matched with O(name); use a
    C(~=) condition with C(%) in its place.
seealso:
  - module: hybridcloud.ops.ipsec_connection_state
  - name: ZStack API, QueryIPSecConnection
    description: The query this module sends.
    link: https://www.zstack.io/help/en/dev_manual/
'''

EXAMPLES = r'''
- name: Find the branch tunnels that are enabled
  hybridcloud.ops.ipsec_connection_info:
    host: zstack.example.com
    username: admin
    password: "{{ vault_zstack_password }}"
    name: dc-to-branch-%
    state: enabled
  register: zstack_branches

- name: Disable them all for the maintenance window, in one task (an empty list is refused)
  when: zstack_branches.count > 0
  hybridcloud.ops.ipsec_connection_state:
    host: zstack.example.com
    username: admin
    password: "{{ vault_zstack_password }}"
    connections: >-
      {%- set items = [] -%}
      {%- for c in zstack_branches.connections -%}
      {%- set _ = items.append({'uuid': c.uuid, 'state': 'disabled'}) -%}
      {%- endfor -%}
      {{ items }}

- name: Connections to one peer that are not Ready
  hybridcloud.ops.ipsec_connection_info:
    conditions:
      - peerAddress=203.0.113.7
      - status!=Ready
'''

RETURN = r'''
connections:
  description: The IPsec connections found (ZStack's C(IPsecConnectionInventory)), C(authKey) masked.
  returned: always
  type: list
  elements: dict
  sample:
    - uuid: 13b5a2cd8c5c30a9a47ba95802cf4e1a
      name: dc-to-branch-01
      state: Enabled
      status: Connected
      peerAddress: 203.0.113.10
      authKey: "********"
count:
  description: How many connections were found.
  returned: always
  type: int
  sample: 1
'''

import re

from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zstack
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import InputError
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module

STATES = {"enabled": "Enabled", "disabled": "Disabled"}
# ZStack's operators, in the order its RestServer looks for them.
OPERATORS = ("!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<")
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def check_condition(index, condition):
    where = "conditions[%d]" % index
    if not condition or not condition.strip():
        raise InputError(where, "must be a ZStack query condition such as peerAddress=203.0.113.7, got an "
                                "empty string")
    for suffix in (" is null", " not null"):
        if condition.endswith(suffix) and FIELD.match(condition[:-len(suffix)].strip()):
            return
    op = next((o for o in OPERATORS if o in condition), None)
    if op is None:
        raise InputError(where, "%r has no query operator (one of %s, or '<field> is null' / '<field> not "
                                "null')" % (condition, ", ".join(OPERATORS)))
    field = condition.split(op, 1)[0].strip()
    if not FIELD.match(field):
        raise InputError(where, "%r must start with a field name, such as peerAddress" % condition)


def validate(params):
    zstack.check_uuid(params, "uuid")
    name = params.get("name")
    if name is not None:
        if not name.strip():
            raise InputError("name", "must not be empty")
        # '%' is our wildcard (~=); an operator in the value cannot be queried either way.
        if "%" not in name:
            zstack.check_query_value(params, "name")
        elif any(op in name for op in zstack.QUERY_OPERATORS):
            raise InputError("name", "ZStack's query syntax cannot match a name containing a query operator, "
                                     "got %r" % name)
    status = params.get("status")
    if status is not None:
        zstack.check_query_value(params, "status")
    for index, condition in enumerate(params.get("conditions") or []):
        check_condition(index, condition)


def conditions_of(params):
    conditions = []
    if params.get("uuid"):
        conditions.append("uuid=%s" % params["uuid"].lower())  # ZStack's uuids are lower case
    name = params.get("name")
    if name is not None:
        conditions.append(("name~=%s" if "%" in name else "name=%s") % name)
    if params.get("state"):
        conditions.append("state=%s" % STATES[params["state"]])
    if params.get("status"):
        conditions.append("status=%s" % params["status"])
    conditions.extend(params.get("conditions") or [])
    return conditions


def run(module, client):
    found = zstack.query_all(client, "ipsec", conditions_of(module.params))
    zstack.protect(module, found)
    connections = zstack.masked(found)
    return dict(changed=False, connections=connections, count=len(connections))


def main():
    argument_spec = zstack.argument_spec()
    argument_spec.update(
        uuid=dict(type="str"),
        name=dict(type="str"),
        state=dict(type="str", choices=["enabled", "disabled"]),
        status=dict(type="str"),
        conditions=dict(type="list", elements="str"),
    )
    run_module(argument_spec, run, connect=zstack.connect, validate=validate)


if __name__ == "__main__":
    main()
