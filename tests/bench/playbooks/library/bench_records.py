#!/usr/bin/python
# -*- coding: utf-8 -*-
# Bench-only module (not part of the collection): the floor of a module that returns records.
# It returns the records of a JSON file (written by the bench before the runs, the same records
# the measured modules return) with no HTTP and no processing: what Ansible itself costs to run a
# module that returns them.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: bench_records
short_description: Return the records of a JSON file (hybridcloud.ops bench floor)
description: Loads O(path), a JSON object, and returns its keys as the result.
options:
  path:
    description: The JSON file.
    type: path
    required: true
author: hybridcloud.ops contributors
'''

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True)), supports_check_mode=True)
    with open(module.params["path"]) as handle:
        result = json.load(handle)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
