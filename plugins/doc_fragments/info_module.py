# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# What every *_info module is (hybridcloud.ops.info_module): it only reads, so check mode is the
# same run and there is nothing to diff. A module that says more about an attribute says it itself.
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section(attributes=b.INFO_ATTRIBUTES))
