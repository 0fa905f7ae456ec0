"""Self-tests of the simulated ONTAP cluster (tests/simulator/appliances/ontap.py): they test the
simulator, not the collection - the ONTAP behaviour the module tests in test_ontap.py rely on."""

import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .harness import Simulator

COLLECTION = "/api/protocols/vscan/server-status"


@pytest.fixture
def ontap(simulator):
    """The ONTAP appliance, back to its starting data set after the test."""
    yield simulator.appliance("ontap")
    simulator.command("ontap", "restore")


def http(ontap, sim, path, **headers):
    """A direct request to the simulated cluster."""
    return requests.get(ontap["url"] + path, auth=(ontap["username"], ontap["password"]),
                        verify=sim.config["ca_path"], headers=headers, timeout=30)


def test_cluster_answers_its_name_uuid_and_version(simulator, ontap):
    body = http(ontap, simulator, "/api/cluster").json()
    assert body["name"] == "cluster1" and len(body["uuid"]) == 36
    assert body["version"]["generation"] == 9 and body["version"]["major"] == 14
    assert body["version"]["full"].startswith("NetApp Release 9.14.1")
    assert body["_links"]["self"]["href"] == "/api/cluster"


def test_hal_json_brings_links_and_application_json_only_next(simulator, ontap):
    hal = http(ontap, simulator, COLLECTION + "?max_records=1").json()
    assert hal["records"][0]["svm"]["_links"]["self"]["href"].startswith("/api/svm/svms/")
    assert set(hal["_links"]) == {"self", "next"}
    plain = http(ontap, simulator, COLLECTION + "?max_records=1", Accept="application/json").json()
    assert "_links" not in plain["records"][0]["svm"] and set(plain["_links"]) == {"next"}
    assert set(plain["records"][0]) == {"svm", "node", "ip"}  # key fields only, unless asked


def test_ontap_query_syntax_wildcards_negation_alternatives_and_ranges(simulator, ontap):
    def count(q):
        return http(ontap, simulator, COLLECTION + "?return_records=false&" + q).json()["num_records"]
    total = count("")
    assert total == 2500
    assert count("state=connected") + count("state=!connected") == total
    assert count("svm.name=svm00*") == 250
    assert count("svm.name=svm001%7Csvm002") == 50
    assert count("disconnected_reason=null") == count("state=connected")
    assert count("disconnected_reason=!vscan_disabled") == count("state=disconnected") - 50
    assert count("ip=10.16.0.1..10.16.0.2") == 8
    assert count("update_time=%3E2000-01-01T00:00:00Z") == total


def test_next_links_carry_the_query_and_a_cursor(simulator, ontap):
    body = http(ontap, simulator, COLLECTION + "?svm.name=svm0*&state=!connected&max_records=5",
                Accept="application/json").json()
    href = body["_links"]["next"]["href"]
    assert href.startswith(COLLECTION + "?svm.name=svm0*&state=!connected&max_records=5&start.index=")
    assert parse_qs(urlsplit(href).query)["svm.name"] == ["svm0*"]


@pytest.fixture(scope="module")
def big_simulator(tmp_path_factory):
    sim = Simulator(str(tmp_path_factory.mktemp("ontap-100k")), options={"ontap.servers": 100000})
    yield sim
    sim.stop()


def test_100000_servers_are_served_page_by_page(big_simulator):
    ontap = big_simulator.appliance("ontap")
    assert ontap["servers"] == 100000 and ontap["svms"] == 1000
    link, seen = COLLECTION + "?fields=*&max_records=10000", 0
    while link:
        body = http(ontap, big_simulator, link, Accept="application/json").json()
        seen += body["num_records"]
        link = body.get("_links", {}).get("next", {}).get("href")
    assert seen == 100000
    one_svm = http(ontap, big_simulator, COLLECTION + "?svm.name=svm999&return_records=false").json()
    assert one_svm["num_records"] == 100


def test_restore_brings_back_the_starting_data_set(simulator, ontap):
    simulator.command("ontap", "disconnect", svm="svm003", count=5)
    assert simulator.command("ontap", "counts", svm="svm003")["disconnected"] == 5
    simulator.command("ontap", "restore")
    assert simulator.command("ontap", "counts", svm="svm003")["disconnected"] == 0


def test_no_simulator_state_leaks_between_tests(simulator, ontap):
    """The shared simulator as the module tests find it: its CA in place, and no disconnected
    server left on svm003 by an earlier test (the ``ontap`` fixture restores the data set)."""
    assert os.path.exists(simulator.config["ca_path"])
    assert simulator.command("ontap", "counts", svm="svm003")["disconnected"] == 0
