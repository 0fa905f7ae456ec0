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
