"""Make ``ansible_collections.hybridcloud.ops`` importable for plain pytest runs.

ansible-test provides the collection path itself; a plain ``pytest tests/unit`` (as ``make
test`` runs it) gets a symlink .build/src/ansible_collections/hybridcloud/ops -> the checkout.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    # ansible-test's own layout
    import ansible_collections.hybridcloud.ops  # noqa: F401  pylint: disable=unused-import
except ImportError:
    src = os.path.join(ROOT, ".build", "src")
    link = os.path.join(src, "ansible_collections", "hybridcloud", "ops")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    sys.path.insert(0, src)
