# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exceptions the collection raises on purpose.

Lower layers raise; only a module's ``main()`` (through ``run_module``) turns an exception into
``fail_json``. ``to_fail_kwargs()`` gives ``msg`` plus the structured context a playbook can
inspect (``status_code``, ``error``, ``method``, ``path``, ``correlation_id``, ...).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class HybridCloudError(Exception):
    """Base of every error the collection reports to the user."""

    transient = False

    def __init__(self, msg, **context):
        super(HybridCloudError, self).__init__(msg)
        self.msg = msg
        self.context = context

    def to_fail_kwargs(self):
        kwargs = dict((k, v) for k, v in self.context.items() if v is not None)
        kwargs["msg"] = self.msg
        return kwargs


class InputError(HybridCloudError):
    """An option value is invalid; raised before any request is sent."""

    def __init__(self, option, problem, **context):
        super(InputError, self).__init__("%s: %s" % (option, problem), option=option, **context)
        self.option = option


class TransportError(HybridCloudError):
    """The request got no HTTP answer: refused, reset, timed out, or TLS failed."""

    def __init__(self, msg, method=None, path=None, refused=False, tls=False, **context):
        super(TransportError, self).__init__(msg, method=method, path=path, **context)
        self.method = method
        self.path = path
        self.refused = refused
        self.tls = tls
        # A TLS failure will not go away by asking again.
        self.transient = not tls


TRANSIENT_STATUSES = frozenset((429, 502, 503, 504))


class ApiError(HybridCloudError):
    """The appliance answered with an HTTP error status (or an unusable body)."""

    def __init__(self, msg, method=None, path=None, status_code=None, error=None, vendor_code=None,
                 correlation_id=None, retry_after=None, **context):
        super(ApiError, self).__init__(
            msg, method=method, path=path, status_code=status_code, error=error,
            vendor_code=vendor_code, correlation_id=correlation_id, **context)
        self.method = method
        self.path = path
        self.status_code = status_code
        self.error = error
        self.vendor_code = vendor_code
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.transient = status_code in TRANSIENT_STATUSES


class UnexpectedError(HybridCloudError):
    """An exception nobody foresaw (a bug, or a library error of an unknown kind), made readable.

    Its traceback goes under ``exception``, which Ansible shows only at ``-vvv``.
    """

    def __init__(self, exc, during, traceback_text=None):
        super(UnexpectedError, self).__init__(
            "unexpected %s while %s: %s. Please report this with the output of -vvv."
            % (type(exc).__name__, during, exc), exception=traceback_text)
        self.cause = exc


class WaitError(HybridCloudError):
    """Base of the two ways a wait ends badly; carries the last object seen."""

    def __init__(self, msg, result=None, result_key=None, **context):
        if result is not None:
            context.setdefault("elapsed", result.elapsed)
            context.setdefault("polls", result.polls)
            context.setdefault("history", result.history)
            if result_key:
                context.setdefault(result_key, result.obj)
        super(WaitError, self).__init__(msg, **context)
        self.result = result


class WaitTimeout(WaitError):
    """The deadline passed before the condition was met."""


class WaitFailed(WaitError):
    """The appliance reported a final failure state while we waited."""
