# hybridcloud.ops - everything a new machine needs comes from here.
#   make demo     set up, start the simulator, run playbooks/demo.yml against it, stop it
#   make test     set up and run everything CI runs (see "test" below)
# Virtual environments come from pinned requirements/ files: .venv/ (ansible-core 2.19, Python 3.11),
# .build/venvs/core-newest/ (the newest ansible-core, Python 3.13) and .build/venvs/tools/
# (ansible-lint, antsibull-docs, ansible-builder, ansible-runner, selenium), .build/venvs/core-oldest/
# (ansible-core 2.16, the oldest claimed in meta/runtime.yml, Python 3.11). Builds go to .build/.
# Outside this directory: ansible-test's pip bootstrap stand-in in ~/.ansible/test/cache (only where
# it is missing) and, for the docs-site browser test, Debian's chromium and chromium-driver (installed
# with apt-get when missing and running as root, as on CI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
# Python 3.13 for the newest ansible-core: pyenv's, or a python3.13 that runs (a pyenv shim may not).
ifeq ($(origin PYTHON313), undefined)
PYTHON313 := $(shell for p in "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3 python3.13; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)
endif
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/.build
NEWEST := $(BUILD)/venvs/core-newest
OLDEST := $(BUILD)/venvs/core-oldest
TOOLS := $(BUILD)/venvs/tools
TOOLS_BIN := $(TOOLS)/bin
COLLECTIONS := $(BUILD)/collections
SIM_STATE := $(BUILD)/simulator
REPORTS := $(BUILD)/reports
DOCS := $(BUILD)/docs
PYTEST_WORKERS ?= 2
PYTEST := -p no:cacheprovider -q -rs

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOME := $(BUILD)/ansible-home
export ANSIBLE_LOCALHOST_WARNING := false
export ANSIBLE_INVENTORY_UNPARSED_WARNING := false
export PYTHONDONTWRITEBYTECODE := 1
export PATH := $(BIN):$(PATH)
# The tests find the tools venv, the built docs site and their artifact directory here.
export HYBRIDCLOUD_TOOLS_BIN := $(TOOLS_BIN)
export HYBRIDCLOUD_DOCS_SITE := $(DOCS)/html
export HYBRIDCLOUD_ARTIFACTS := $(BUILD)/artifacts
# The oldest ansible-core the collection claims: the integration smoke of every module runs on it.
export HYBRIDCLOUD_OLDEST_CORE_BIN := $(OLDEST)/bin

SIMULATOR := PYTHONPATH=$(CURDIR)/tests $(BIN)/python -m simulator
# The newest-core legs run where Python 3.13 exists; elsewhere they are skipped, loudly.
NEWEST_SANITY := $(if $(PYTHON313),sanity-newest,no-python313)
NEWEST_UNITS := $(if $(PYTHON313),units-newest,no-python313)

.PHONY: help setup setup-newest setup-oldest setup-tools collection demo simulator bench test test-unit test-integration \
	sanity sanity-oldest sanity-2.19 sanity-newest units units-2.19 units-newest no-python313 lint docs \
	test-molecule test-docs-site galaxy-import browser clean

help:
	@echo "make demo      - run playbooks/demo.yml against the bundled simulator"
	@echo "make test      - everything CI runs: sanity, units, integration, lint, docs site"
	@echo "make sanity    - ansible-test sanity on ansible-core 2.16 (the oldest claimed) and 2.19 (Python 3.11), and the newest core (3.13)"
	@echo "make units     - ansible-test units on both cores (make test-unit: plain pytest, quicker)"
	@echo "make test-integration - real ansible runs against the simulator, packaging, AWX"
	@echo "make test-molecule - the roles' molecule scenarios against the simulator"
	@echo "make lint      - ansible-lint (production profile), changelog fragments, docs markup, role READMEs"
	@echo "make galaxy-import - galaxy-importer (Galaxy's upload check) on the built tarball"
	@echo "make docs      - the HTML documentation site in .build/docs/html"
	@echo "make simulator - serve the simulator in the foreground (state in .build/simulator)"
	@echo "make bench     - benchmark against uri + until and netapp.ontap (.build/bench/results.md)"

# -- virtual environments ----------------------------------------------------------------------
# Each is made from a complete pinned list (--no-deps) and checked for consistency (pip check).
$(VENV)/.ready: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

$(NEWEST)/.ready: requirements/newest-core.txt
	@test -n "$(PYTHON313)" || { echo "No Python 3.13 found (set PYTHON313=/path/to/python3.13)"; exit 1; }
	rm -rf $(NEWEST)
	$(PYTHON313) -m venv $(NEWEST)
	$(NEWEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/newest-core.txt
	$(NEWEST)/bin/python -m pip check
	touch $@

$(OLDEST)/.ready: requirements/oldest-core.txt
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/oldest-core.txt
	$(OLDEST)/bin/python -m pip check
	touch $@

$(TOOLS)/.ready: requirements/tools.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS_BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/tools.txt
	$(TOOLS_BIN)/python -m pip check
	touch $@

setup: $(VENV)/.ready
setup-newest: $(NEWEST)/.ready
setup-oldest: $(OLDEST)/.ready
setup-tools: $(TOOLS)/.ready

# -- the collection as users get it -------------------------------------------------------------
# Built from what git sees of the working tree (never stray local files), with CHANGELOG.md
# rendered for the version in galaxy.yml (.ci/build-collection), installed from the tarball.
collection: setup
	tarball=$$(.ci/build-collection $(BUILD)/dist) && \
		$(BIN)/ansible-galaxy collection install --force --offline -p $(COLLECTIONS) "$$tarball" >/dev/null
	@echo "hybridcloud.ops installed in $(COLLECTIONS)"

demo: collection
	$(SIMULATOR) --state-dir $(SIM_STATE) -- \
		$(BIN)/ansible-playbook playbooks/demo.yml -e demo_report_dir=$(BUILD)/demo-reports

simulator: setup
	$(SIMULATOR) --state-dir $(SIM_STATE)

# Side-by-side benchmark (not a test): hybridcloud.ops against what users would otherwise run and
# against Ansible's own floor, each figure a median of runs budgeted per scenario to fit 30 minutes
# on 2 CPUs (BENCH_RUNS=N runs every scenario N times); writes .build/bench/results.{md,json}.
# BENCH_ARGS="--scenario wait_lag" runs one scenario.
BENCH_RUNS ?=
bench: collection
	$(BIN)/python tests/bench/run.py --out $(BUILD)/bench $(if $(BENCH_RUNS),--runs $(BENCH_RUNS)) $(BENCH_ARGS)

# -- tests --------------------------------------------------------------------------------------
# Cheap checks first; --keep-going runs every suite even after a failure, so one run shows all
# that is wrong (and still fails). Every pytest / ansible-test units run leaves a JUnit report in
# .build/reports/, which .ci/run checks.
test:
	$(MAKE) --no-print-directory --keep-going lint galaxy-import sanity units test-integration test-molecule test-docs-site
	@echo "make test: all passed"

test-unit: setup
	$(BIN)/python -m pytest $(PYTEST) tests/unit

test-integration: collection setup-tools setup-oldest
	$(BIN)/python -m pytest $(PYTEST) -n $(PYTEST_WORKERS) --junitxml=$(REPORTS)/integration.xml \
		--ignore=tests/integration/test_docs_site.py --ignore=tests/integration/test_molecule.py tests/integration

# The roles' molecule scenarios, in the tools venv, against a simulator of their own.
test-molecule: collection setup-tools
	$(SIMULATOR) --state-dir $(BUILD)/molecule-simulator -- \
		$(TOOLS_BIN)/python -m pytest $(PYTEST) --junitxml=$(REPORTS)/molecule.xml tests/integration/test_molecule.py

# ansible-test works on a copy of the working tree (.ci/ansible-test); sanity tests run in venvs
# that ansible-test makes and fills from PyPI, unit tests in our pinned venv of the same core.
sanity: sanity-oldest sanity-2.19 $(NEWEST_SANITY)

sanity-oldest: setup-oldest
	.ci/ansible-test $(OLDEST) 3.11 sanity --requirements

sanity-2.19: setup
	.ci/ansible-test $(VENV) 3.11 sanity --requirements

sanity-newest: setup-newest
	.ci/ansible-test $(NEWEST) 3.13 sanity --requirements

units: units-2.19 $(NEWEST_UNITS)

units-2.19: setup
	.ci/ansible-test $(VENV) 3.11 units

units-newest: setup-newest
	.ci/ansible-test $(NEWEST) 3.13 units

no-python313:
	@echo "SKIPPED: no Python 3.13 on this machine, so no sanity/unit tests on the newest ansible-core"

lint: collection setup-tools
	PATH=$(TOOLS_BIN):$$PATH $(TOOLS_BIN)/ansible-lint
	$(TOOLS_BIN)/antsibull-changelog lint
	PATH=$(TOOLS_BIN):$$PATH $(TOOLS_BIN)/antsibull-docs lint-collection-docs --plugin-docs \
		$(COLLECTIONS)/ansible_collections/hybridcloud/ops
	.ci/changelog --check .
	.ci/role-readmes --check

# Galaxy's own import check (galaxy-importer: ansible-doc and ansible-lint on, ansible-test off as it
# needs a container engine) on the tarball `make collection` built; any ERROR or WARNING fails.
galaxy-import: collection setup-tools
	.ci/galaxy-import $(BUILD)/dist/hybridcloud-ops-*.tar.gz $(BUILD)/galaxy-importer

docs: collection setup-tools
	PATH=$(TOOLS_BIN):$$PATH .ci/docs-site $(DOCS)
	@echo "Documentation site: $(DOCS)/html/index.html"

test-docs-site: docs browser
	$(TOOLS_BIN)/python -m pytest $(PYTEST) --junitxml=$(REPORTS)/docs-site.xml \
		tests/integration/test_docs_site.py

browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium and chromium-driver for the docs-site browser test"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	else \
		echo "The docs-site test needs Chromium: sudo apt-get install chromium chromium-driver"; exit 1; \
	fi

clean:
	rm -rf $(BUILD) $(VENV)
