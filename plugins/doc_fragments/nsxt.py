# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Connection options of VMware NSX modules (NSX-T 3.x, NSX 4.x, 9.x): only what differs from the shared texts.
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("host", {"description": [
        "NSX Manager to talk to, as a hostname, C(host:port), or a URL such as C(https://nsx.example.com).",
        "The scheme defaults to C(https). Do not add an API path; the module adds C(/api/v1) (Manager API) or C(/policy/api/v1) (Policy API) itself.",
        b.env_line("NSXT_MANAGER_HOST")], "type": "str", "required": True}),
    ("username", b.username("NSXT", unless="O(client_cert)")),
    ("password", b.password("NSXT")),
    ("client_cert", b.client_cert(
        "NSXT", "PEM certificate of a principal identity, for certificate authentication instead of a password.")),
    ("client_key", b.client_key("NSXT")),
    ("validate_certs", b.validate_certs("NSXT", "NSX Manager")),
    ("ca_path", b.ca_path("NSXT", "NSX Manager's")),
], [
    b.module_defaults_note("nsxt"),
    "Passwords and tokens are never returned nor logged.",
], attributes=b.platform_attributes("nsxt")))
