# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Connection options of VMware Customer Connect modules: only what differs from the shared texts
# (an access token instead of a user and password).
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("host", {"description": [
        "The Customer Connect API gateway, as a hostname, C(host:port), or a URL such as "
        "C(https://apigw.vmware.com).",
        "The scheme defaults to C(https). Do not add the API path; the module adds "
        "C(/v1/m4/api/myvmware/external).",
        "Change it only for a successor or proxy gateway that serves the same API.",
        b.env_line("CUSTOMER_CONNECT_HOST")], "type": "str", "default": "apigw.vmware.com"}),
    ("access_token", {"description": [
        "A Customer Connect access token, the JWT that the token generation API returns for your API key. "
        "It is sent in an C(Authorization) header as a Bearer token; a value that already starts with "
        "C(Bearer) and a space is accepted as well.",
        "Access tokens expire; the module then fails saying that the token is invalid or expired.",
        b.env_line("CUSTOMER_CONNECT_ACCESS_TOKEN")], "type": "str", "required": True}),
    ("validate_certs", b.validate_certs("CUSTOMER_CONNECT", "the gateway")),
    ("ca_path", b.ca_path("CUSTOMER_CONNECT", "the gateway's",
                          ", for a gateway or TLS-inspecting proxy with a private CA")),
], [
    b.module_defaults_note("customer_connect", "The token"),
    "The access token is never returned nor logged, also with C(-vvvv).",
], attributes=b.platform_attributes("customer_connect")))
