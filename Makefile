# hybridcloud.ops - everything a new machine needs comes from here.
#   make demo   set up, start the simulator, run playbooks/demo.yml against it, stop it
#   make test   set up and run the whole test suite
# Nothing is installed outside this directory: a venv in .venv/, the built collection in .build/.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
SIM_STATE := $(BUILD)/simulator
PYTEST_WORKERS ?= 2

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOME := $(BUILD)/ansible-home
export ANSIBLE_LOCALHOST_WARNING := false
export ANSIBLE_INVENTORY_UNPARSED_WARNING := false
export PYTHONDONTWRITEBYTECODE := 1
export PATH := $(BIN):$(PATH)

SIMULATOR := PYTHONPATH=$(CURDIR)/tests $(BIN)/python -m simulator

.PHONY: help setup collection demo test test-unit test-integration simulator clean

help:
	@echo "make demo    - run playbooks/demo.yml against the bundled simulator"
	@echo "make test    - run the whole test suite"
	@echo "make simulator - serve the simulator in the foreground (state in .build/simulator)"

$(VENV)/.ready: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

setup: $(VENV)/.ready

# The collection as users get it: built (build_ignore applied) and installed from the tarball.
collection: setup
	rm -rf $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist >/dev/null
	$(BIN)/ansible-galaxy collection install --force --offline -p $(COLLECTIONS) \
		$(BUILD)/dist/hybridcloud-ops-*.tar.gz >/dev/null
	@echo "hybridcloud.ops installed in $(COLLECTIONS)"

demo: collection
	$(SIMULATOR) --state-dir $(SIM_STATE) -- \
		$(BIN)/ansible-playbook playbooks/demo.yml

simulator: setup
	$(SIMULATOR) --state-dir $(SIM_STATE)

test: collection test-unit test-integration

test-unit: setup
	$(BIN)/python -m pytest -p no:cacheprovider -q tests/unit

test-integration: collection
	$(BIN)/python -m pytest -p no:cacheprovider -q -n $(PYTEST_WORKERS) tests/integration

clean:
	rm -rf $(BUILD) $(VENV)
