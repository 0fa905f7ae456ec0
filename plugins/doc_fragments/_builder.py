# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one copy of the option docs that several fragments share (not a fragment itself).

The platform fragments (hybridcloud.ops.nsxt, zstack, vcda, ontap, customer_connect) and the
shared ones (hybridcloud.ops.connection, wait, wait.timing) are made here from the texts below:
a platform says only what differs - its environment variable prefix, what it talks to, its
defaults and anything it adds. Ansible merges fragments option by option (a fragment's option
replaces a same-named one whole), so a shared option cannot be amended from a second fragment;
generating each platform's YAML from one text is what keeps one copy.

Each fragment module assigns ``ModuleDocFragment = doc_fragment(...)`` at module level: a class
body holding only string literals is what ansible-test's yamllint sanity test expects to parse,
and this keeps it out of that path (tests/unit/plugins/doc_fragments parses every section).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml


def env_line(var):
    return "If not set, the value of the E(%s) environment variable is used." % var


def username(prefix, what="User for HTTP basic authentication.", unless=None):
    lines = [what, env_line(prefix + "_USERNAME")]
    if unless:
        lines.append("Not needed when %s is set." % unless)
    return {"description": lines, "type": "str"}


def password(prefix, extra=()):
    return {"description": ["Password of O(username)."] + list(extra) + [env_line(prefix + "_PASSWORD")],
            "type": "str"}


def client_cert(prefix, what):
    return {"description": [what, "When set, O(username) and O(password) are not sent.",
                            env_line(prefix + "_CLIENT_CERT")], "type": "path"}


def client_key(prefix):
    return {"description": ["PEM private key of O(client_cert), when it is not in the same file.",
                            env_line(prefix + "_CLIENT_KEY")], "type": "path"}


def validate_certs(prefix, target, when=""):
    return {"description": ["Verify the TLS certificate of %s%s. Turn off only for tests." % (target, when),
                            env_line(prefix + "_VALIDATE_CERTS")], "type": "bool", "default": True}


def ca_path(prefix, whose, why=""):
    return {"description": ["PEM file of the CA (or bundle) that signed %s certificate%s." % (whose, why),
                            "Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.",
                            env_line(prefix + "_CA_PATH")], "type": "path"}


def timeout():
    return {"description": ["Seconds to wait for the answer to one HTTP request (1 to 3600)."],
            "type": "int", "default": 30}


def retries(statuses="HTTP 429, 502, 503, 504", relogin=None):
    """``relogin``: what the platform does when its login expires in the middle of a run."""
    lines = [
        "How many times a request that failed in a transient way (a connection error, %s) is sent again, "
        "with a growing, jittered pause that honours C(Retry-After) and never runs past the task's "
        "deadline. 0 to 10." % statuses,
        "A read (or a login) is retried on any of these failures.",
        "A request that changes something is sent again only when it surely had no effect: the connection "
        "was refused or could not be opened in time (the request never left the controller), or the "
        "appliance answered HTTP 429 (it turned the request away unprocessed; the request goes again after "
        "C(Retry-After))."]
    if relogin:
        lines.append(relogin)
    lines.append(
        "When the answer to a change is lost (connection reset, read timeout, a proxy's 502, 503 or 504), the "
        "change may have been made: the module does not repeat it blindly, but follows its job or reads the "
        "appliance's state back, as its description says.")
    return {"description": lines, "type": "int", "default": 3}


def module_defaults_note(group, what="Credentials"):
    return ("%s can be set once for every module of the platform with C(module_defaults) and the action "
            "group C(group/hybridcloud.ops.%s)." % (what, group))


# -- waits (hybridcloud.ops.wait and hybridcloud.ops.wait.timing) -------------------------------------
def wait():
    return {"description": ["Wait until the operation or condition is complete. With V(false), read once and return."],
            "type": "bool", "default": True}


def wait_timing():
    """wait_timeout and wait_sleep, in this order."""
    return [
        ("wait_timeout", {"description": [
            "Overall deadline of the wait in seconds, wall clock, including the time of the requests.",
            "On timeout the task fails, naming what it waited for and the last state seen, and returns the "
            "last object seen."], "type": "int", "default": 300}),
        ("wait_sleep", {"description": [
            "Upper bound in seconds on the pause between two status requests.",
            "The first request is made at once; pauses start near half a second and grow with the time "
            "already waited, so a short operation is seen within a fraction of a second and a long one costs "
            "few requests. A server's C(Retry-After) is honoured."], "type": "int", "default": 10}),
    ]


WAIT_NOTES = [
    "When waiting, results carry C(elapsed) (seconds), C(polls) (status requests made) and C(history), the "
    "changes of state seen with the seconds since the start of the wait.",
    "Works under C(async) and C(poll).",
]


# -- attributes (merged by Ansible key by key: what a module says itself wins) --------------------
def platform_attributes(group):
    """Every module of a platform: a member of its action group and of ``all``, runs anywhere."""
    return {
        "action_group": {"support": "full",
                         "membership": ["hybridcloud.ops.%s" % group, "hybridcloud.ops.all"]},
        "platform": {"platforms": "all"},
    }


INFO_ATTRIBUTES = {
    "check_mode": {"support": "full", "details": "The module only reads, so it does the same in check mode."},
    "diff_mode": {"support": "none"},
}


# -- the fragment -------------------------------------------------------------------------------------
def section(options=(), notes=(), attributes=None):
    """One fragment section as YAML: ``options`` a list of (name, spec) pairs, in doc order."""
    doc = {}
    if options:
        doc["options"] = dict(options)
    if attributes:
        doc["attributes"] = attributes
    if notes:
        doc["notes"] = list(notes)
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100)


def doc_fragment(**sections):
    """The ModuleDocFragment class ansible loads, with one attribute per section (DOCUMENTATION, ...)."""
    return type("ModuleDocFragment", (object,), dict(sections))
