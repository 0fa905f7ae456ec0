# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py script that ansible-test downloads to put pip in a new venv.

ansible-test fetches get-pip.py from a host that machines reaching only the package index cannot
reach. The Makefile copies this file to ~/.ansible/test/cache/get_pip_<version>.py when that file
is missing (a connected machine that cached the real script keeps it). Like get-pip.py it is run
with pip's install arguments (``pip==<version>`` and options): it installs the pip that comes with
Python (ensurepip), then lets that pip install what was asked for, from the package index.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys

# get-pip.py options that `pip install` does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
