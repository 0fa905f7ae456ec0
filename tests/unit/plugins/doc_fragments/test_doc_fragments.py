# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every doc fragment is YAML that parses and documents options with a description and a type.

ansible-doc would refuse a broken fragment only when a module using it is rendered; this catches
it in the unit run, naming the fragment and the section.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import pytest
import yaml

from ansible_collections.hybridcloud.ops.plugins import doc_fragments

FRAGMENTS = sorted(name[:-3] for name in os.listdir(list(doc_fragments.__path__)[0])
                   if name.endswith(".py") and not name.startswith("_"))


def test_all_fragments_found():
    # the platform fragments, the shared connection options and the wait options
    assert {"connection", "wait", "nsxt", "zstack", "vcda", "ontap", "customer_connect"} <= set(FRAGMENTS)


def sections(name):
    module = importlib.import_module(
        "ansible_collections.hybridcloud.ops.plugins.doc_fragments." + name)
    cls = module.ModuleDocFragment
    found = [(key, getattr(cls, key)) for key in dir(cls) if key.isupper()]
    assert found, "fragment %s has no sections" % name
    return found


@pytest.mark.parametrize("name", FRAGMENTS)
def test_fragment_parses_and_documents_each_option(name):
    for key, text in sections(name):
        data = yaml.safe_load(text)
        assert isinstance(data, dict), "%s.%s is not a mapping" % (name, key)
        for option, spec in data.get("options", {}).items():
            assert spec.get("description"), "%s.%s: %s has no description" % (name, key, option)
            assert spec.get("type"), "%s.%s: %s has no type" % (name, key, option)


# -- one copy of each shared text ----------------------------------------------------------------
SHARED_TEXTS = [
    "Takes precedence over a E(REQUESTS_CA_BUNDLE) environment variable.",
    "Turn off only for tests.",
    "Password of O(username).",
    "When set, O(username) and O(password) are not sent.",
    "PEM private key of O(client_cert)",
    "environment variable is used.",
    "can be set once for every module of the platform",
    "Overall deadline of the wait in seconds",
    "Upper bound in seconds on the pause between two status requests.",
    "is sent again only when it surely had no effect",
]


@pytest.mark.parametrize("text", SHARED_TEXTS)
def test_a_shared_text_is_written_once_in_the_builder(text):
    folder = list(doc_fragments.__path__)[0]
    holders = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name)) as handle:
                if text in handle.read():
                    holders.append(name)
    assert holders == ["_builder.py"], holders


PLATFORMS = {"nsxt": ("NSXT", "NSXT_MANAGER_HOST"), "ontap": ("ONTAP", "ONTAP_HOST"), "vcda": ("VCDA", "VCDA_HOST"),
             "zstack": ("ZSTACK", "ZSTACK_HOST"), "customer_connect": ("CUSTOMER_CONNECT", "CUSTOMER_CONNECT_HOST")}


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_platform_option_names_its_own_environment_variable(name):
    prefix, host_env = PLATFORMS[name]
    options = yaml.safe_load(dict(sections(name))["DOCUMENTATION"])["options"]
    for option, spec in options.items():
        if option in ("auth_type", "retries"):  # no environment variable
            continue
        var = host_env if option == "host" else "%s_%s" % (prefix, option.upper())
        assert "E(%s)" % var in " ".join(spec["description"]), (name, option)
        for other, (other_prefix, _host) in PLATFORMS.items():
            if other != name and not other_prefix.startswith(prefix):
                assert "E(%s_" % other_prefix not in " ".join(spec["description"]), (name, option, other)


def test_wait_holds_the_timing_options_once_and_wait_timing_them_alone():
    docs = dict(sections("wait"))
    full, timing = yaml.safe_load(docs["DOCUMENTATION"]), yaml.safe_load(docs["TIMING"])
    assert list(full["options"]) == ["wait", "wait_timeout", "wait_sleep"]
    assert list(timing["options"]) == ["wait_timeout", "wait_sleep"]
    assert all(full["options"][k] == v for k, v in timing["options"].items()) and full["notes"] == timing["notes"]


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_platform_fragment_names_the_action_groups_of_meta_runtime(name):
    root = os.path.join(list(doc_fragments.__path__)[0], "..", "..")
    with open(os.path.join(root, "meta", "runtime.yml")) as handle:
        groups = yaml.safe_load(handle)["action_groups"]
    attributes = yaml.safe_load(dict(sections(name))["DOCUMENTATION"])["attributes"]
    membership = attributes["action_group"]["membership"]
    assert membership == ["hybridcloud.ops.%s" % name, "hybridcloud.ops.all"]
    assert groups[name], name  # the group exists and lists the platform's modules
