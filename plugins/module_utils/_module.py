# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where exceptions become ``fail_json``: a module's ``main()`` calls
``run_module`` with its argument spec, its input checks, its platform's ``connect`` and its
``run(module, client)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError


def run_module(argument_spec, run, connect, validate=None, **module_kwargs):
    """Build the module, check input, connect, run, and report (never a traceback)."""
    module_kwargs.setdefault("supports_check_mode", True)
    module = AnsibleModule(argument_spec=argument_spec, **module_kwargs)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    try:
        if validate is not None:
            validate(module.params)
        with connect(module) as client:
            result = run(module, client)
    except HybridCloudError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    except Exception as exc:  # pylint: disable=broad-except
        # A bug must read as one: a clear message, the traceback only under -vvv.
        module.fail_json(msg="hybridcloud.ops: unexpected %s: %s. Please report this with the "
                             "output of -vvv." % (type(exc).__name__, exc),
                         exception=traceback.format_exc())
    module.exit_json(**result)
