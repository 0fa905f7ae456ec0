# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hybridcloud.ops.plugins.doc_fragments import _builder as b

# HTTP options every module has, whatever the platform (hybridcloud.ops.connection). A platform
# fragment listed before this one may document them in its own words (zstack does, for retries).
ModuleDocFragment = b.doc_fragment(DOCUMENTATION=b.section([
    ("timeout", b.timeout()),
    ("retries", b.retries()),
]))
