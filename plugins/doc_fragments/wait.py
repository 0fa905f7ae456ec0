# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every module that waits for something (hybridcloud.ops.wait).
    # (Each fragment is one string literal: ansible-test's yamllint sanity test reads them as such.)
    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Wait until the operation or condition is complete. With V(false), read once and return.
    type: bool
    default: true
  wait_timeout:
    description:
      - Overall deadline of the wait in seconds, wall clock, including the time of the requests.
      - On timeout the task fails, naming what it waited for and the last state seen, and returns
        the last object seen.
    type: int
    default: 300
  wait_sleep:
    description:
      - Upper bound in seconds on the pause between two status requests.
      - The first request is made at once; pauses start near half a second and grow with the
        time already waited, so a short operation is seen within a fraction of a second and a
        long one costs few requests. A server's C(Retry-After) is honoured.
    type: int
    default: 10
notes:
  - When waiting, results carry C(elapsed) (seconds), C(polls) (status requests made) and
    C(history), the changes of state seen with the seconds since the start of the wait.
  - Works under C(async) and C(poll).
'''

    # The deadline and pause options alone, for a module whose wait is switched on by an
    # option of its own instead of O(wait) (hybridcloud.ops.wait.timing).
    TIMING = r'''
options:
  wait_timeout:
    description:
      - Overall deadline of the wait in seconds, wall clock, including the time of the requests.
      - On timeout the task fails, naming what it waited for and the last state seen, and returns
        the last object seen.
    type: int
    default: 300
  wait_sleep:
    description:
      - Upper bound in seconds on the pause between two status requests.
      - The first request is made at once; pauses start near half a second and grow with the
        time already waited, so a short operation is seen within a fraction of a second and a
        long one costs few requests. A server's C(Retry-After) is honoured.
    type: int
    default: 10
notes:
  - When waiting, results carry C(elapsed) (seconds), C(polls) (status requests made) and
    C(history), the changes of state seen with the seconds since the start of the wait.
  - Works under C(async) and C(poll).
'''
