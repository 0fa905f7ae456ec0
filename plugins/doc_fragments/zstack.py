# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of ZStack Cloud modules.
    DOCUMENTATION = r'''
options:
  host:
    description:
      - ZStack management node to talk to, as a hostname, C(host:port), or a URL such as
        C(https://zstack.example.com).
      - Without a scheme, the module uses C(http) and port C(8080), like a management node
        out of the box (C(zstack.example.com) means C(http://zstack.example.com:8080), and
        C(zstack.example.com:9090) means C(http://zstack.example.com:9090)).
      - A URL path is kept as the prefix of a reverse proxy. Do not add the API path; the module
        adds C(/zstack/v1).
      - If not set, the value of the E(ZSTACK_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - ZStack account to log in with (C(logInByAccount)), for example C(admin).
      - If not set, the value of the E(ZSTACK_USERNAME) environment variable is used.
      - Not needed when O(session_uuid) is set.
    type: str
  password:
    description:
      - Password of O(username). It is sent as its SHA-512 digest, as ZStack expects.
      - If not set, the value of the E(ZSTACK_PASSWORD) environment variable is used.
    type: str
  session_uuid:
    description:
      - An existing ZStack session to use instead of logging in with O(username) and O(password)
        (32 hexadecimal characters, for example from C(zstack-cli LogInByAccount)).
      - The module neither renews nor logs out a session given here; when it is invalid or has
        expired, the task fails and says so.
      - Takes precedence over O(username) and O(password).
      - If not set, the value of the E(ZSTACK_SESSION_UUID) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of the management node when O(host) is an C(https://) URL.
        Turn off only for tests.
      - If not set, the value of the E(ZSTACK_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or bundle) that signed the management node's certificate.
      - Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.
      - If not set, the value of the E(ZSTACK_CA_PATH) environment variable is used.
    type: path
  retries:
    description:
      - How many times a transient failure of a read is retried (connection error, HTTP 429, 502,
        503 without a ZStack error, 504), with a growing, jittered pause that honours
        C(Retry-After). 0 to 10.
      - A request that changes something is sent again only when it surely had no effect (the
        connection was refused, or the appliance answered 429, and then only after its C(Retry-After)).
    type: int
    default: 3
notes:
  - Credentials can be set once for every module of the platform with
    C(module_defaults) and the action group C(group/hybridcloud.ops.zstack).
  - The module logs in with C(PUT /zstack/v1/accounts/login) and logs out with
    C(DELETE /zstack/v1/accounts/sessions/{uuid}) before it ends, also when it fails. When ZStack
    reports that session invalid (error C(ID.1001)) during the run, the module logs in again
    once.
  - The password, its digest and the session uuid are never returned nor logged.
  - ZStack reports a failed API call as HTTP 503 with its error code (for example C(SYS.1007));
    that answer is final and is not retried.
'''
