# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules, and the checks Ansible's types cannot express.

One builder for the connection options of every platform (environment fallbacks through
``env_fallback``, secrets ``no_log``) and one for the wait options. The documentation of the
same options lives in ``plugins/doc_fragments/``. The checks raise ``InputError`` naming the
option, before any request is sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import InputError


def connection_spec(env_prefix, host_env=None, default_host=None, credentials=True,
                    client_cert=False):
    """Options every module has: host, credentials, TLS, timeout, retries (SPEC 1.1)."""
    host = dict(type="str", fallback=(env_fallback, [host_env or env_prefix + "HOST"]))
    if default_host:
        host["default"] = default_host
    else:
        host["required"] = True
    spec = dict(
        host=host,
        validate_certs=dict(type="bool", default=True,
                            fallback=(env_fallback, [env_prefix + "VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, [env_prefix + "CA_PATH"])),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )
    if credentials:
        spec.update(
            username=dict(type="str", fallback=(env_fallback, [env_prefix + "USERNAME"])),
            password=dict(type="str", no_log=True,
                          fallback=(env_fallback, [env_prefix + "PASSWORD"])),
        )
    if client_cert:
        spec.update(
            client_cert=dict(type="path", fallback=(env_fallback, [env_prefix + "CLIENT_CERT"])),
            client_key=dict(type="path", no_log=False,
                            fallback=(env_fallback, [env_prefix + "CLIENT_KEY"])),
        )
    return spec


def wait_spec(wait=True, wait_timeout=300, wait_sleep=10):
    """The wait options (SPEC 1.2); defaults differ per module."""
    spec = dict(
        wait_timeout=dict(type="int", default=wait_timeout),
        wait_sleep=dict(type="int", default=wait_sleep),
    )
    if wait is not None:
        spec["wait"] = dict(type="bool", default=wait)
    return spec


def check_range(params, option, low, high=None):
    value = params.get(option)
    if value is None:
        return
    if value < low or (high is not None and value > high):
        expected = "from %s to %s" % (low, high) if high is not None else "%s or more" % low
        raise InputError(option, "must be %s, got %s" % (expected, value))


def check_file(params, option):
    path = params.get(option)
    if path and not os.path.isfile(path):
        raise InputError(option, "no readable file at %s" % path)


def validate_connection(params):
    """Checks of the common options that Ansible's types cannot make."""
    check_range(params, "timeout", 1, 3600)
    check_range(params, "retries", 0, 10)
    for option in ("ca_path", "client_cert", "client_key"):
        check_file(params, option)
    if params.get("client_key") and not params.get("client_cert"):
        raise InputError("client_key", "needs client_cert (the certificate that goes with the key)")


def validate_wait(params):
    check_range(params, "wait_timeout", 1, 86400)
    check_range(params, "wait_sleep", 1, 3600)


def require_credentials(params, alternative=None):
    """username and password are both needed, unless ``alternative`` option is set."""
    if alternative and params.get(alternative):
        return
    for option in ("username", "password"):
        if not params.get(option):
            hint = " (or %s)" % alternative if alternative else ""
            raise InputError(option, "is required%s; set it or its environment variable" % hint)


def check_identifier(params, option, pattern=None, what="an identifier"):
    """A non-empty id without characters that would change the request path."""
    values = params.get(option)
    if values is None:
        return
    for value in values if isinstance(values, list) else [values]:
        if not value or not value.strip():
            raise InputError(option, "must be %s, got an empty string" % what)
        if any(c in value for c in "/?#%") or any(c.isspace() for c in value):
            raise InputError(option, "must be %s without '/', '?', '#', '%%' or spaces, got %r"
                             % (what, value))
        if pattern is not None and not pattern.match(value):
            raise InputError(option, "must be %s, got %r" % (what, value))
