# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of VMware NSX-T Manager modules.
    DOCUMENTATION = r'''
options:
  host:
    description:
      - NSX Manager to talk to, as a hostname, C(host:port), or a URL such as C(https://nsx.example.com).
      - The scheme defaults to C(https). Do not add the API path; the module adds C(/api/v1).
      - If not set, the value of the E(NSXT_MANAGER_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - User for HTTP basic authentication.
      - If not set, the value of the E(NSXT_USERNAME) environment variable is used.
      - Not needed when O(client_cert) is set.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the value of the E(NSXT_PASSWORD) environment variable is used.
    type: str
  client_cert:
    description:
      - PEM certificate of a principal identity, for certificate authentication instead of a password.
      - When set, O(username) and O(password) are not sent.
      - If not set, the value of the E(NSXT_CLIENT_CERT) environment variable is used.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert), when it is not in the same file.
      - If not set, the value of the E(NSXT_CLIENT_KEY) environment variable is used.
    type: path
  validate_certs:
    description:
      - Verify the TLS certificate of NSX Manager. Turn off only for tests.
      - If not set, the value of the E(NSXT_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or bundle) that signed NSX Manager's certificate.
      - Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.
      - If not set, the value of the E(NSXT_CA_PATH) environment variable is used.
    type: path
notes:
  - Credentials can be set once for every module of the platform with
    C(module_defaults) and the action group C(group/hybridcloud.ops.nsxt).
  - Passwords and tokens are never returned nor logged.
'''
