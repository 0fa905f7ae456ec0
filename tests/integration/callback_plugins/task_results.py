# Test-only callback: writes every task result as one JSON line to $TASK_RESULTS_FILE,
# so integration tests can assert on what a real ansible/ansible-playbook run returned.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: task_results
type: aggregate
short_description: Write task results as JSON lines (hybridcloud.ops tests)
description: Appends one JSON object per task result to the file named by TASK_RESULTS_FILE.
requirements:
  - enabled in callbacks_enabled
'''

import json
import os
import time

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()

    def _write(self, status, result):
        path = os.environ.get("TASK_RESULTS_FILE")
        if not path:
            return
        # start/end: wall-clock times at which the controller started the task and got this result
        row = {"task": result.task_name, "host": result._host.get_name(), "status": status,
               "start": self._started.get(result._task._uuid), "end": time.time(),
               "result": result._result}
        with open(path, "a") as handle:
            handle.write(json.dumps(row, cls=AnsibleJSONEncoder) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)
