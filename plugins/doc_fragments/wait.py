# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# Options of every module that waits for something (hybridcloud.ops.wait) and, for a module whose
# wait is switched on by an option of its own instead of O(wait), the deadline and pause options
# alone (hybridcloud.ops.wait.timing).
ModuleDocFragment = b.doc_fragment(
    DOCUMENTATION=b.section([("wait", b.wait())] + b.wait_timing(), b.WAIT_NOTES),
    TIMING=b.section(b.wait_timing(), b.WAIT_NOTES),
)
