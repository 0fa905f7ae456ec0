# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Connection options of NetApp ONTAP modules: only what differs from the shared texts.
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("host", {"description": [
        "ONTAP cluster management address, as a hostname, C(host:port), or a URL such as "
        "C(https://cluster1.example.com).",
        "The scheme defaults to C(https). Do not add the API path; the module adds C(/api).",
        b.env_line("ONTAP_HOST")], "type": "str", "required": True}),
    ("username", b.username("ONTAP", "User for HTTP basic authentication, for example C(admin) or a read-only "
                                     "REST role user.", unless="O(client_cert)")),
    ("password", b.password("ONTAP")),
    ("client_cert", b.client_cert(
        "ONTAP", "PEM certificate of a user set up for certificate authentication "
                 "(C(security login create -authentication-method cert)), instead of a password.")),
    ("client_key", b.client_key("ONTAP")),
    ("validate_certs", b.validate_certs("ONTAP", "the cluster")),
    ("ca_path", b.ca_path("ONTAP", "the cluster's")),
], [
    b.module_defaults_note("ontap"),
    "Passwords are never returned nor logged.",
], attributes=b.platform_attributes("ontap")))
