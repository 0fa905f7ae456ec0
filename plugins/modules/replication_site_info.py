#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: replication_site_info
short_description: Show the local VMware Cloud Director Availability site and the health of each pairing
version_added: 1.1.0
description:
  - Reads the sites the Cloud Director Availability appliance of O(host) knows (C(GET /sites)),
    that is the local site and every paired site.
  - Each paired site gets RV(sites[].healthy) and RV(sites[].problems), from its record's
    C(state.incomingCommError) and C(state.outgoingCommError) - for example a pairing made on one
    side only, an unreachable peer, or a peer whose certificate was replaced (re-pair it with
    M(hybridcloud.ops.replication_site_pair) and O(hybridcloud.ops.replication_site_pair#module:update_thumbprint=true)).
  - vCDA's Java stack traces are removed from every record.
  - Never changes anything. Logs in (C(POST /sessions)) and out once.
author:
  - hybridcloud.ops contributors (@hybridcloud)
requirements:
  - requests
extends_documentation_fragment:
  - hybridcloud.ops.vcda
  - hybridcloud.ops.connection
  - hybridcloud.ops.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
options:
  peer_api_url:
    description:
      - Only the paired site with this API URL (C(apiUrl) or C(apiPublicUrl), compared as
        M(hybridcloud.ops.replication_site_pair) does).
      - When it is not paired, RV(sites) is empty and a warning names the sites that are.
    type: str
seealso:
  - module: hybridcloud.ops.replication_site_pair
'''

EXAMPLES = r'''
- name: Check every pairing of site A
  hybridcloud.ops.replication_site_info:
    host: vcda-a.example.com
    username: root
    password: "{{ vault_vcda_a_password }}"
  register: vcda_health

- name: Fail when a pairing is unhealthy, saying why
  ansible.builtin.assert:
    that: vcda_health.unhealthy == 0
    fail_msg: "{{ vcda_health.sites | rejectattr('healthy') | map(attribute='problems') | flatten }}"

- name: Only the pairing with site B
  hybridcloud.ops.replication_site_info:
    host: vcda-a.example.com
    peer_api_url: https://vcda-b.example.com:443
'''

RETURN = r'''
local_site:
  description: The local site's record (C(isLocal) true), without stack traces.
  returned: always
  type: dict
  sample: {id: 0bd7d5a4-2b8e-4d6e-a1d5-11c0a3e0b7f1, site: site-a, apiUrl: "https://vcda-a.example.com:443/", isLocal: true}
sites:
  description: The paired sites (all, or the one of O(peer_api_url)), each with its health.
  returned: always
  type: list
  elements: dict
  contains:
    site:
      description: The peer's site name.
      type: str
    apiUrl:
      description: The peer's API URL.
      type: str
    apiThumbprint:
      description: The thumbprint the pairing trusts.
      type: str
    state:
      description: vCDA's C(state) of the pairing (C(incomingCommError), C(outgoingCommError)), without stack traces.
      type: dict
    healthy:
      description: Whether both C(state.incomingCommError) and C(state.outgoingCommError) are empty.
      type: bool
    problems:
      description: "One line per communication error, in the form C(<incoming|outgoing>: <code>: <message>)."
      type: list
      elements: str
  sample:
    - site: site-b
      apiUrl: "https://vcda-b.example.com:443/"
      apiThumbprint: "SHA-256:F4:D6:17:37:FD:45:AF:D4:ED:15:BF:B3:52:2E:3D:41:48:29:71:42:B6:52:81:4B:24:97:5F:77:CF:20:4F:74"
      healthy: false
      problems:
        - "outgoing: SiteNotPaired: Site site-b has not paired with site site-a yet."
unhealthy:
  description: How many of RV(sites) are not healthy.
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.hybridcloud.ops.plugins.module_utils import _vcda as vcda
from ansible_collections.hybridcloud.ops.plugins.module_utils._module import run_module


def validate(params):
    if params.get("peer_api_url") is not None:
        vcda.check_api_url(params["peer_api_url"], "peer_api_url")


def run(module, client):
    sites = vcda.list_sites(client)
    peers = [s for s in sites if not s.get("isLocal")]
    wanted = module.params.get("peer_api_url")
    if wanted is not None:
        found = vcda.find_peer(sites, wanted.strip())
        if found is None:
            paired = ", ".join("%s at %s" % (s.get("site"), s.get("apiUrl")) for s in peers) or "none"
            module.warn("%s has no pairing with %s (its paired sites: %s)."
                        % (module.params["host"], wanted.strip(), paired))
        peers = [found] if found is not None else []
    report = []
    for site in peers:
        healthy, problems = vcda.site_health(site)
        report.append(dict(site, healthy=healthy, problems=problems))
    return dict(changed=False, local_site=vcda.local_site(sites), sites=report,
                unhealthy=sum(1 for s in report if not s["healthy"]))


def main():
    argument_spec = vcda.argument_spec()
    argument_spec.update(peer_api_url=dict(type="str"))
    run_module(argument_spec, run, connect=vcda.connect, validate=validate)


if __name__ == "__main__":
    main()
