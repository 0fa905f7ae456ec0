"""Fixtures of the integration tests: one simulator and one installed collection per worker."""

import os

import pytest

from .harness import Ansible, Simulator, build_collection


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """The collection as users install it. `make test` installs it once; otherwise build it."""
    given = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    for path in given.split(os.pathsep):
        if path and os.path.isdir(os.path.join(path, "ansible_collections", "hybridcloud", "ops")):
            return path
    return build_collection(str(tmp_path_factory.mktemp("collection")))


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    simulator = Simulator(str(tmp_path_factory.mktemp("simulator")))
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(sim):
    """The simulator, with any fault a test injected removed afterwards."""
    yield sim
    sim.clear_faults()


@pytest.fixture(scope="session")
def ansible(collections_path, tmp_path_factory):
    return Ansible(collections_path, str(tmp_path_factory.mktemp("ansible")))
