"""vscan_server_status_info against the simulated ONTAP cluster, over real HTTPS."""

from urllib.parse import parse_qs

import pytest

from .harness import Simulator, assert_refused_before_any_request

MODULE = "vscan_server_status_info"
COLLECTION = "/api/protocols/vscan/server-status"


@pytest.fixture
def ontap(simulator):
    """The ONTAP appliance, back to its starting data set after the test."""
    yield simulator.appliance("ontap")
    simulator.command("ontap", "restore")


def connection(ontap, sim):
    return {"host": ontap["host"], "username": ontap["username"], "password": ontap["password"],
            "ca_path": sim.config["ca_path"]}


def collection_requests(sim, since):
    return sim.log(since=since, appliance="ontap", path=COLLECTION + "$")


def query(entry):
    return parse_qs(entry["query"], keep_blank_values=True)


# -- reading ---------------------------------------------------------------------------------------
def test_2500_servers_are_read_in_3_pages_following_next_links(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, connection(ontap, simulator))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is False
    assert result["count"] == ontap["servers"] == 2500 == len(result["servers"])
    assert result["pages"] == 3
    sent = collection_requests(simulator, mark)
    assert [e["query"] for e in sent] == [
        "fields=*&max_records=1000&return_timeout=15",
        "fields=*&max_records=1000&return_timeout=15&start.index=1000",
        "fields=*&max_records=1000&return_timeout=15&start.index=2000",
    ]
    assert all(e["method"] == "GET" and e["status"] == 200 for e in sent)
    expected = simulator.command("ontap", "counts")
    summary = result["summary"]
    assert (summary["connected"], summary["disconnected"]) == (expected["connected"], expected["disconnected"])
    assert sum(summary["by_reason"].values()) == summary["disconnected"]
    assert len(summary["by_svm"]) == ontap["svms"]
    assert "elapsed" not in result and "polls" not in result


def test_every_field_of_a_record_is_returned_with_fields_star(ansible, simulator, ontap):
    run = ansible.module(MODULE, dict(connection(ontap, simulator), max_records=1,
                                      filters={"svm.name": ontap["samples"]["healthy_svm"]}))
    assert run.rc == 0, run
    record = run.last["servers"][0]
    assert set(record) == {"svm", "node", "interface", "ip", "privileged_user", "state", "type",
                           "update_time", "vendor", "version"}
    assert set(record["svm"]) == {"name", "uuid"} and set(record["node"]) == {"name", "uuid"}
    assert record["state"] == "connected"


def test_filters_reach_ontap_intact_and_select_what_they_say(ansible, simulator, ontap):
    filters = {"state": "!connected", "svm.name": "svm0*",
               "disconnected_reason": "remote_closed|inactive_connection|invalid_user"}
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters=filters))
    assert run.rc == 0, run
    (entry,) = collection_requests(simulator, mark)
    raw = entry["query"].split("&")
    assert "state=!connected" in raw and "svm.name=svm0*" in raw
    assert "disconnected_reason=remote_closed%7Cinactive_connection%7Cinvalid_user" in raw
    assert {k: v[0] for k, v in query(entry).items() if k in filters} == filters
    servers = run.last["servers"]
    assert servers and run.last["count"] == len(servers)
    assert all(s["state"] == "disconnected" and s["svm"]["name"].startswith("svm0")
               and s["disconnected_reason"] in ("remote_closed", "inactive_connection", "invalid_user")
               for s in servers)
    # The same selection made here from an unfiltered read of those SVMs.
    everything = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"svm.name": "svm0*"}))
    expected = [s["ip"] + s["node"]["name"] for s in everything.last["servers"]
                if s["state"] != "connected" and s.get("disconnected_reason") in
                ("remote_closed", "inactive_connection", "invalid_user")]
    assert [s["ip"] + s["node"]["name"] for s in servers] == expected


def test_a_list_of_values_is_sent_as_ontap_alternatives(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator),
                                      filters={"svm.name": ["svm001", "svm002"]}))
    assert run.rc == 0, run
    assert query(collection_requests(simulator, mark)[0])["svm.name"] == ["svm001|svm002"]
    assert set(run.last["summary"]["by_svm"]) == {"svm001", "svm002"}


def test_max_records_caps_the_total_and_shrinks_the_last_request(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), max_records=1500, fields=["ip"]))
    assert run.rc == 0, run
    assert run.last["count"] == 1500 and run.last["pages"] == 2
    sent = collection_requests(simulator, mark)
    assert [query(e)["max_records"] for e in sent] == [["1000"], ["500"]]
    assert query(sent[1])["start.index"] == ["1000"]


def test_page_size_order_by_and_fields_are_sent_and_honoured(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), page_size=10, max_records=25,
                                      fields=["ip", "update_time"], order_by=["update_time desc"],
                                      return_timeout=5))
    assert run.rc == 0, run
    sent = collection_requests(simulator, mark)
    assert [query(e)["max_records"] for e in sent] == [["10"], ["10"], ["5"]]
    assert query(sent[0])["fields"] == ["ip,update_time,svm.name,node.name,state,disconnected_reason"]
    assert all(query(e)["order_by"] == ["update_time desc"] and query(e)["return_timeout"] == ["5"]
               for e in sent)
    times = [s["update_time"] for s in run.last["servers"]]
    assert times == sorted(times, reverse=True) and len(times) == 25
    assert "vendor" not in run.last["servers"][0]


def test_an_unknown_svm_is_an_empty_result_not_a_failure(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"svm.name": "no-such-svm"}))
    assert run.rc == 0, run
    assert run.last["servers"] == [] and run.last["count"] == 0
    assert run.last["summary"] == {"connected": 0, "disconnected": 0, "by_reason": {}, "by_svm": {}}
    assert [e["status"] for e in collection_requests(simulator, mark)] == [404]


def test_a_filter_matching_nothing_is_an_empty_result(ansible, simulator, ontap):
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={
        "svm.name": ontap["samples"]["healthy_svm"], "state": "disconnected"}))
    assert run.rc == 0, run
    assert run.last["count"] == 0 and run.last["pages"] == 1


def test_absolute_next_links_are_followed(ansible, simulator, ontap):
    simulator.command("ontap", "set_behaviour", absolute_links=True)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), fields=["ip"]))
    assert run.rc == 0, run
    assert run.last["count"] == 2500 and run.last["pages"] == 3
    assert len(collection_requests(simulator, mark)) == 3


def test_short_pages_when_return_timeout_runs_out_are_followed_to_the_end(ansible, simulator, ontap):
    simulator.command("ontap", "set_behaviour", short_pages=700)
    run = ansible.module(MODULE, dict(connection(ontap, simulator), fields=["ip"]))
    assert run.rc == 0, run
    assert run.last["count"] == 2500 and run.last["pages"] == 4
    ips = [(s["svm"]["name"], s["node"]["name"], s["ip"]) for s in run.last["servers"]]
    assert len(set(ips)) == 2500


def test_a_repeated_next_link_fails_clearly(ansible, simulator, ontap):
    simulator.command("ontap", "set_behaviour", repeat_next=True)
    run = ansible.module(MODULE, dict(connection(ontap, simulator), page_size=1000))
    assert run.rc != 0
    assert "returned the next-page link" in run.last["msg"] and "a second time after 2000 records" in run.last["msg"]
    assert "Traceback" not in run.output


def test_a_transient_503_on_a_later_page_is_retried(ansible, simulator, ontap):
    simulator.fault(appliance="ontap", path=COLLECTION, kind="status", status=503, skip=1, count=1)
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), fields=["ip"]))
    assert run.rc == 0, run
    assert run.last["count"] == 2500
    assert [e["status"] for e in collection_requests(simulator, mark)] == [200, 503, 200, 200]


def test_an_ontap_error_names_its_code_message_and_target(ansible, simulator, ontap):
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"scanner_pool": "p1"}))
    assert run.rc != 0
    result = run.last
    assert result["msg"] == ("GET %s: HTTP 400 Bad Request, ONTAP error 262179: Unexpected argument "
                             "\"scanner_pool\". (target: scanner_pool)" % COLLECTION)
    assert result["status_code"] == 400 and result["error"]["error"]["code"] == "262179"


# -- waiting --------------------------------------------------------------------------------------
def test_waits_until_disconnected_servers_reconnect(ansible, simulator, ontap):
    svm = "svm003"
    mark = simulator.mark()
    run = ansible.playbook("ontap_wait.yml", extra_vars={
        "control_url": simulator.control_url, "svm": svm, "servers_per_svm": ontap["servers_per_svm"],
        "ontap": connection(ontap, simulator)})
    assert run.rc == 0, run
    result = run.task("Wait until every server of the SVM is connected")
    assert result["changed"] is False
    assert result["summary"]["by_svm"] == {svm: {"connected": 25, "disconnected": 0, "reasons": {}}}
    states = [h["state"] for h in result["history"]]
    assert states[0] == "connected=19 disconnected=6" and states[-1] == "connected=25 disconnected=0"
    assert 1.9 <= result["elapsed"] <= 8  # reconnected 2 s after the first read
    sent = collection_requests(simulator, mark)
    assert len(sent) == result["polls"] >= 2  # one page per full read
    assert all(query(e)["svm.name"] == [svm] for e in sent)


def test_timeout_lists_the_disconnected_servers_and_their_reasons(ansible, simulator, ontap):
    made = simulator.command("ontap", "disconnect", svm="svm004", count=12, reason="inactive_connection")
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"svm.name": "svm004"},
                                      wait_for_connected=True, wait_timeout=3))
    assert run.rc != 0
    result = run.last
    first = made["servers"][0]
    assert result["msg"].startswith(
        "Timed out after 3 s waiting for at least 1 Vscan server matching svm.name=svm004 to be "
        "connected and none disconnected; last state: connected=13 disconnected=12 (disconnected: "
        "%s on svm004/%s: inactive_connection; " % (first["ip"], first["node"]))
    assert result["msg"].endswith("; and 2 more)")
    assert result["summary"]["by_reason"] == {"inactive_connection": 12}
    assert result["count"] == 25 and len(result["servers"]) == 25
    assert 2.9 <= result["elapsed"] <= 6 and result["polls"] >= 3


def test_vscan_disabled_svm_times_out_naming_the_reason(ansible, simulator, ontap):
    svm = ontap["samples"]["vscan_disabled_svm"]
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"svm.name": svm},
                                      wait_for_connected=True, wait_timeout=1))
    assert run.rc != 0
    assert "connected=0 disconnected=25" in run.last["msg"]
    assert "on %s/cluster1-01: vscan_disabled" % svm in run.last["msg"]


# -- playbook features ------------------------------------------------------------------------------
def test_check_mode_makes_the_same_read(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, simulator), filters={"svm.name": "svm01*"}),
                         check=True)
    assert run.rc == 0, run
    assert run.last["count"] == 250 and run.last["changed"] is False
    assert [e["method"] for e in simulator.log(since=mark, appliance="ontap")] == ["GET"]


def test_module_defaults_groups_and_async(ansible, simulator, ontap):
    run = ansible.playbook("ontap_module_defaults.yml", extra_vars={
        "ontap": connection(ontap, simulator), "healthy_svms": ["svm000", "svm001", "svm002"],
        "degraded_svm": ontap["samples"]["degraded_svm"]})
    assert run.rc == 0, run
    healthy = run.task("Read the healthy SVMs with credentials from module_defaults")
    assert healthy["count"] == 75 and healthy["summary"]["disconnected"] == 0
    degraded = run.task("Read the degraded SVM with credentials from the all group")
    assert degraded["count"] == 25 and degraded["summary"]["disconnected"] > 0
    assert run.task("Read the degraded SVM as an async task")["summary"] == degraded["summary"]


def test_environment_variables_are_the_fallbacks(ansible, simulator, ontap):
    env = {"ONTAP_HOST": ontap["url"], "ONTAP_USERNAME": ontap["username"],
           "ONTAP_PASSWORD": ontap["password"], "ONTAP_CA_PATH": simulator.config["ca_path"]}
    run = ansible.module(MODULE, {"filters": {"svm.name": "svm000"}}, env=env)
    assert run.rc == 0, run
    assert run.last["count"] == 25


def test_client_certificate_authenticates_without_a_password(ansible, simulator, ontap):
    mark = simulator.mark()
    run = ansible.module(MODULE, {"host": ontap["host"], "ca_path": simulator.config["ca_path"],
                                  "client_cert": ontap["client_cert"], "client_key": ontap["client_key"],
                                  "filters": {"svm.name": "svm000"}})
    assert run.rc == 0, run
    assert run.last["count"] == 25
    assert [e["status"] for e in collection_requests(simulator, mark)] == [200]


def test_wrong_password_is_a_clear_401(ansible, simulator, ontap):
    run = ansible.module(MODULE, dict(connection(ontap, simulator), password="not-the-password"))
    assert run.rc != 0
    assert run.last["msg"] == ("GET %s: HTTP 401 Unauthorized, ONTAP error 6691623: User is not "
                               "authorized." % COLLECTION)


# -- secrets --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["success", "timeout", "bad_password"])
def test_password_never_appears_even_with_vvvv(ansible, simulator, ontap, case):
    args = dict(connection(ontap, simulator), filters={"svm.name": ontap["samples"]["degraded_svm"]})
    if case == "timeout":
        args.update(wait_for_connected=True, wait_timeout=1)
    if case == "bad_password":
        args["password"] = "Wrong-%s" % ontap["password"]
    run = ansible.module(MODULE, args, verbosity=4)
    assert (run.rc == 0) == (case == "success"), run
    assert args["password"] not in run.output
    if "invocation" in run.output:  # ansible-core before 2.20 echoes the module arguments: masked
        assert "********" in run.output or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output


# -- bad input: a clear message naming the option, and no request sent ----------------------------
@pytest.mark.parametrize("override, fragment", [
    ({"return_timeout": 121}, "return_timeout: must be from 0 to 120, got 121"),
    ({"return_timeout": 30}, "return_timeout: must be less than timeout (30 s)"),
    ({"page_size": 0}, "page_size: must be 1 or more, got 0"),
    ({"max_records": 0}, "max_records: must be 1 or more, got 0"),
    ({"min_connected": -2}, "min_connected: must be 0 or more, got -2"),
    ({"filters": {"svm.name&state": "x"}}, "filters: keys must be ONTAP field names"),
    ({"filters": {"fields": "*"}}, "use the fields option"),
    ({"filters": {"state": ""}}, "filters: the value of state must be text in ONTAP query syntax"),
    ({"fields": ["ip,state"]}, "fields: each element must be an ONTAP field name"),
    ({"order_by": ["ip upwards"]}, "order_by: each element must be an ONTAP field name"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"host": "https://cluster1.example.com/api"}, "host: must not include the API path /api"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path: no readable file at /nonexistent/ca.pem"),
    ({"password": None}, "password: is required (or client_cert)"),
    ({"page_size": "many"}, "page_size"),
])
def test_bad_input_is_refused_before_any_request(ansible, simulator, ontap, override, fragment):
    assert_refused_before_any_request(ansible, simulator, MODULE, connection(ontap, simulator), override, fragment,
                                      ["ontap"])


@pytest.mark.parametrize("keep", ["disconnected", "none"])
def test_return_servers_returns_less_and_counts_every_server(ansible, simulator, ontap, keep):
    everything = ansible.module(MODULE, dict(connection(ontap, simulator), fields=["svm.name", "state"]))
    run = ansible.module(MODULE, dict(connection(ontap, simulator), fields=["svm.name", "state"],
                                      return_servers=keep, svm_min_connected={"svm00*": 15}))
    assert run.rc == 0, run
    result, full = run.last, everything.last
    assert result["count"] == full["count"] == 2500 and result["summary"] == full["summary"]
    down = [s for s in full["servers"] if s["state"] != "connected"]
    assert result["servers"] == (down if keep == "disconnected" else [])
    assert len(result["svm_checks"]) == 10 and all(r["healthy"] for r in result["svm_checks"])


# -- 100,000 servers ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_simulator(tmp_path_factory):
    sim = Simulator(str(tmp_path_factory.mktemp("ontap-100k")), options={"ontap.servers": 100000})
    yield sim
    sim.stop()


def test_a_slice_of_100000_servers_is_read_by_the_module(ansible, big_simulator):
    ontap = big_simulator.appliance("ontap")
    mark = big_simulator.mark()
    run = ansible.module(MODULE, dict(connection(ontap, big_simulator), filters={"svm.name": "svm9*"},
                                      page_size=2500))
    assert run.rc == 0, run
    assert run.last["count"] == 10000 and run.last["pages"] == 4
    assert len(run.last["summary"]["by_svm"]) == 100
    assert len(collection_requests(big_simulator, mark)) == 4
