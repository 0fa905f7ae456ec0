# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Connection options of VMware Cloud Director Availability modules: only what differs from the
# shared texts.
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("host", {"description": [
        "Cloud Director Availability appliance to talk to (the Cloud Director Replication Management Appliance "
        "or the vCenter Replication Management Appliance), as a hostname, C(host:port), or a URL such as "
        "C(https://vcda.example.com:443).",
        "The scheme defaults to C(https).",
        b.env_line("VCDA_HOST")], "type": "str", "required": True}),
    ("auth_type", {"description": [
        "The kind of account of O(username), as vCDA's C(POST /sessions) names it.",
        "V(localUser) is a local appliance account such as C(root).",
        "V(vcdCredentials) is a Cloud Director account in the form C(user@organization), for example "
        "C(administrator@System).",
        "V(ssoCredentials) is a vSphere SSO account such as C(administrator@vsphere.local)."],
        "type": "str", "choices": ["localUser", "ssoCredentials", "vcdCredentials"], "default": "localUser"}),
    ("username", b.username("VCDA", "User to log in with (see O(auth_type)).")),
    ("password", b.password("VCDA")),
    ("validate_certs", b.validate_certs("VCDA", "the appliance")),
    ("ca_path", b.ca_path("VCDA", "the appliance's")),
    ("retries", b.retries(relogin=(
        "vCDA answering HTTP 401 because the session token expired did not act on the request (it checks the "
        "token first): the module logs in again - once per expired token - and sends that request once "
        "more."))),
], [
    b.module_defaults_note("vcda"),
    "The module logs in with C(POST /sessions) and logs out with C(DELETE /sessions) before it ends, also "
    "when it fails. The session token (C(X-VCAV-Auth)) and the password are never returned nor logged.",
    "vCDA error bodies carry a Java stack trace. It is never part of C(msg) nor C(error); with C(-vvv) or "
    "more, a failure returns it as C(vendor_stacktrace) for VMware support.",
    "Every request carries one C(operationID) per task run; failure messages name it, so the run can be "
    "found in the appliance's logs.",
], attributes=b.platform_attributes("vcda")))
