# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Connection options of ZStack Cloud modules: only what differs from the shared texts.
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("host", {"description": [
        "ZStack management node to talk to, as a hostname, C(host:port), or a URL such as "
        "C(https://zstack.example.com).",
        "Without a scheme, the module uses C(http) and port C(8080), like a management node out of the box "
        "(C(zstack.example.com) means C(http://zstack.example.com:8080), and C(zstack.example.com:9090) means "
        "C(http://zstack.example.com:9090)).",
        "A URL path is kept as the prefix of a reverse proxy. Do not add the API path; the module adds "
        "C(/zstack/v1).",
        b.env_line("ZSTACK_HOST")], "type": "str", "required": True}),
    ("username", b.username("ZSTACK", "ZStack account to log in with (C(logInByAccount)), for example C(admin).",
                            unless="O(session_uuid)")),
    ("password", b.password("ZSTACK", ["It is sent as its SHA-512 digest, as ZStack expects."])),
    ("session_uuid", {"description": [
        "An existing ZStack session to use instead of logging in with O(username) and O(password) "
        "(32 hexadecimal characters, for example from C(zstack-cli LogInByAccount)).",
        "The module neither renews nor logs out a session given here; when it is invalid or has expired, "
        "the task fails and says so.",
        "Takes precedence over O(username) and O(password).",
        b.env_line("ZSTACK_SESSION_UUID")], "type": "str"}),
    ("validate_certs", b.validate_certs("ZSTACK", "the management node", " when O(host) is an C(https://) URL")),
    ("ca_path", b.ca_path("ZSTACK", "the management node's")),
    ("retries", b.retries("HTTP 429, 502, 503 without a ZStack error, 504", relogin=(
        "ZStack answering a request with error C(ID.1001) (session expired) did not run it: the module logs in "
        "again - once per expired session, however many requests found it expired, at most 3 times per run - "
        "and sends that request once more. A session given in O(session_uuid) is never renewed."))),
], [
    b.module_defaults_note("zstack"),
    "The module logs in with C(PUT /zstack/v1/accounts/login) and logs out with "
    "C(DELETE /zstack/v1/accounts/sessions/{uuid}) before it ends, also when it fails. When ZStack reports "
    "that session invalid (error C(ID.1001)) during the run, the module logs in again (see O(retries)).",
    "The password, its digest and the session uuid are never returned nor logged.",
    "ZStack reports a failed API call as HTTP 503 with its error code (for example C(SYS.1007)); that answer "
    "is final and is not retried.",
], attributes=b.platform_attributes("zstack")))
