# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # HTTP options every module has, whatever the platform (hybridcloud.ops.connection). A
    # platform fragment listed before this one may document them in its own words.
    DOCUMENTATION = r'''
options:
  timeout:
    description:
      - Seconds to wait for the answer to one HTTP request (1 to 3600).
    type: int
    default: 30
  retries:
    description:
      - How many times a transient failure of a read is retried (connection error, HTTP 429, 502,
        503, 504), with a growing, jittered pause that honours C(Retry-After). 0 to 10.
      - A request that changes something is sent again only when it surely had no effect (the
        connection was refused, or the appliance answered 429, and then only after its C(Retry-After)).
    type: int
    default: 3
'''
