# -*- coding: utf-8 -*-
# Bench-only module (not part of the collection): the floor of a module that returns records.
# It returns the records of a JSON file (written by the bench before the runs, the same records
# the measured modules return) with no HTTP and no processing: what Ansible itself costs to run a
# module that returns them.
# The bench also installs it in a copy of the collection in place of a module a role calls (the
# vscan_health floor): there it takes the options of the module it stands in for and ignores them,
# and reads its file from $BENCH_RECORDS_FILE.
# No shebang: Ansible then runs it with ansible_python_interpreter ("#!/usr/bin/env python" would make
# it look for a `python` on PATH, which these machines do not have).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bench_records
short_description: Return the records of a JSON file (hybridcloud.ops bench floor)
description:
  - Loads O(path), a JSON object, and returns its keys as the result.
  - Any other option is accepted and ignored (the options of the module it stands in for).
options:
  path:
    description: The JSON file; default the environment variable E(BENCH_RECORDS_FILE).
    type: path
author: hybridcloud.ops contributors
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule, _load_params

SECRET_OPTIONS = ("password", "client_key")


def main():
    # The options it was given, whatever they are, so that a role's task runs it unchanged.
    given = [name for name in _load_params() if not name.startswith("_ansible_") and name != "path"]
    spec = dict((name, dict(type="raw", no_log=name in SECRET_OPTIONS)) for name in given)
    spec["path"] = dict(type="path")
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    path = module.params["path"] or os.environ.get("BENCH_RECORDS_FILE")
    if not path:
        module.fail_json(msg="bench_records: no path and no BENCH_RECORDS_FILE")
    with open(path) as handle:
        result = json.load(handle)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
