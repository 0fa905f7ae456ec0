# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of VMware Cloud Director Availability modules.
    DOCUMENTATION = r'''
options:
  host:
    description:
      - Cloud Director Availability appliance to talk to (the Cloud Director Replication Management
        Appliance or the vCenter Replication Management Appliance), as a hostname, C(host:port),
        or a URL such as C(https://vcda.example.com:443).
      - The scheme defaults to C(https).
      - If not set, the value of the E(VCDA_HOST) environment variable is used.
    type: str
    required: true
  auth_type:
    description:
      - The kind of account of O(username), as vCDA's C(POST /sessions) names it.
      - V(localUser) is a local appliance account such as C(root).
      - V(vcdCredentials) is a Cloud Director account in the form C(user@organization),
        for example C(administrator@System).
      - V(ssoCredentials) is a vSphere SSO account such as C(administrator@vsphere.local).
    type: str
    choices: [localUser, ssoCredentials, vcdCredentials]
    default: localUser
  username:
    description:
      - User to log in with (see O(auth_type)).
      - If not set, the value of the E(VCDA_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the value of the E(VCDA_PASSWORD) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of the appliance. Turn off only for tests.
      - If not set, the value of the E(VCDA_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or bundle) that signed the appliance's certificate.
      - Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.
      - If not set, the value of the E(VCDA_CA_PATH) environment variable is used.
    type: path
notes:
  - Credentials can be set once for every module of the platform with
    C(module_defaults) and the action group C(group/hybridcloud.ops.vcda).
  - The module logs in with C(POST /sessions) and logs out with C(DELETE /sessions) before it
    ends, also when it fails. The session token (C(X-VCAV-Auth)) and the password are never
    returned nor logged.
  - vCDA error bodies carry a Java stack trace. It is never part of C(msg) nor C(error); with
    C(-vvv) or more, a failure returns it as C(vendor_stacktrace) for VMware support.
  - Every request carries one C(operationID) per task run; failure messages name it, so the run
    can be found in the appliance's logs.
'''
