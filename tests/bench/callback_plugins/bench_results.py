# Bench-only callback: like tests/integration/callback_plugins/task_results.py (one JSON line per
# task result in $TASK_RESULTS_FILE), but it keeps only the small keys the bench reads, so that
# writing out 100,000 records never adds to the cost of the variant that returns them.
# $BENCH_RESULT_KEYS (comma-separated) keeps more keys in one playbook's runs (the policy_state
# alternative's "json", to see which realized entity it returned on). $BENCH_CAPTURE_TASK and
# $BENCH_CAPTURE_FILE write the whole result of the named task to a file: the bench does that in
# a run it does not measure, to give a floor the very result a module returned.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_results
type: aggregate
short_description: Write the timing and small keys of each task result (hybridcloud.ops bench)
description:
  - Appends one JSON object per task result to the file named by TASK_RESULTS_FILE.
  - Writes the whole result of the task named by BENCH_CAPTURE_TASK to BENCH_CAPTURE_FILE.
requirements:
  - enabled in callbacks_enabled
'''

import json
import os
import time

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

KEPT = ("changed", "failed", "msg", "elapsed", "polls", "history", "count", "timed_out", "rc", "stdout")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_results"
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
        wanted = KEPT + tuple(k for k in os.environ.get("BENCH_RESULT_KEYS", "").split(",") if k)
        kept = dict((k, v) for k, v in result._result.items() if k in wanted)
        capture = os.environ.get("BENCH_CAPTURE_FILE")
        if capture and result.task_name == os.environ.get("BENCH_CAPTURE_TASK"):
            with open(capture, "w") as handle:
                json.dump(result._result, handle, cls=AnsibleJSONEncoder)
        row = {"task": result.task_name, "host": result._host.get_name(), "status": status,
               "start": self._started.get(result._task._uuid), "end": time.time(), "result": kept}
        with open(path, "a") as handle:
            handle.write(json.dumps(row, cls=AnsibleJSONEncoder) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)
