"""Usage: python3 .ci/check_reports.py REPORT_DIR

Fails unless every expected test suite left a JUnit report in REPORT_DIR with tests that ran and
none that failed: the integration tests, the molecule scenarios, the docs-site test, and ansible-test units on each core
(the Python 3.13 leg only where `make` found Python 3.13). Prints a one-line summary per report.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET

EXPECTED = {
    "integration.xml": "make test-integration",
    "docs-site.xml": "make test-docs-site",
    "molecule.xml": "make test-molecule",
    "ansible-test-units-python3.11-*.xml": "ansible-test units on ansible-core 2.19",
}
NEWEST = {"ansible-test-units-python3.13-*.xml": "ansible-test units on the newest ansible-core"}


def counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, 0))
    return total


def main(report_dir):
    expected = dict(EXPECTED)
    if glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "venvs", "core-newest", ".ready")):
        expected.update(NEWEST)
    problems = []
    for pattern, what in sorted(expected.items()):
        if not glob.glob(os.path.join(report_dir, pattern)):
            problems.append("%s left no report (%s)" % (what, pattern))
    for path in sorted(glob.glob(os.path.join(report_dir, "*.xml"))):
        total = counts(path)
        ran = total["tests"] - total["skipped"]
        failed = total["failures"] + total["errors"]
        print("%-48s %4d tests, %d skipped, %d failed" % (os.path.basename(path), total["tests"], total["skipped"], failed))
        if ran <= 0:
            problems.append("%s: no test ran" % os.path.basename(path))
        if total["failures"] or total["errors"]:
            problems.append("%s: %d failed" % (os.path.basename(path), total["failures"] + total["errors"]))
    for problem in problems:
        print("FAILED: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
