# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of VMware Customer Connect modules.
    DOCUMENTATION = r'''
options:
  host:
    description:
      - The Customer Connect API gateway, as a hostname, C(host:port), or a URL such as
        C(https://apigw.vmware.com).
      - The scheme defaults to C(https). Do not add the API path; the module adds
        C(/v1/m4/api/myvmware/external).
      - Change it only for a successor or proxy gateway that serves the same API.
      - If not set, the value of the E(CUSTOMER_CONNECT_HOST) environment variable is used.
    type: str
    default: apigw.vmware.com
  access_token:
    description:
      - A Customer Connect access token, the JWT that the token generation API returns for your
        API key. It is sent in an C(Authorization) header as a Bearer token; a value that already
        starts with C(Bearer) and a space is accepted as well.
      - Access tokens expire; the module then fails saying that the token is invalid or expired.
      - If not set, the value of the E(CUSTOMER_CONNECT_ACCESS_TOKEN) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the TLS certificate of the gateway. Turn off only for tests.
      - If not set, the value of the E(CUSTOMER_CONNECT_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or bundle) that signed the gateway's certificate, for a gateway or
        TLS-inspecting proxy with a private CA.
      - Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.
      - If not set, the value of the E(CUSTOMER_CONNECT_CA_PATH) environment variable is used.
    type: path
notes:
  - The token can be set once for every module of the platform with C(module_defaults) and the
    action group C(group/hybridcloud.ops.customer_connect).
  - The access token is never returned nor logged, also with C(-vvvv).
'''
