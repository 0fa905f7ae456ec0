"""vscan_server_status_info: input checks, the query, the summary, and waiting on a fake clock."""


import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _ontap as ontap
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import InputError, WaitTimeout
from ansible_collections.hybridcloud.ops.plugins.modules import vscan_server_status_info as module_under_test

from ..module_utils.scripted import Step, fake_waits, install

PATH = "/api/protocols/vscan/server-status"
FIRST = PATH + "?fields=*&max_records=1000&return_timeout=15"


def params(**overrides):
    values = dict(host="cluster1.example.com", username="admin", password="Secret-1", validate_certs=True,
                  ca_path=None, client_cert=None, client_key=None, timeout=30, retries=0,
                  filters=None, fields=["*"], order_by=None, max_records=None, page_size=1000,
                  return_timeout=15, wait_for_connected=False, min_connected=1, wait_timeout=300,
                  wait_sleep=10, svm_min_connected=None, return_servers="all")
    values.update(overrides)
    return values


class FakeModule:
    def __init__(self, **overrides):
        self.params = params(**overrides)
        self._name = "hybridcloud.ops.vscan_server_status_info"
        self.no_log_values = set()


def server(ip, svm="svm1", node="cluster1-01", state="connected", reason=None):
    record = {"svm": {"name": svm, "uuid": "uuid-" + svm}, "node": {"name": node}, "ip": ip,
              "state": state, "type": "primary"}
    if reason:
        record["disconnected_reason"] = reason
    return record


def reply(path, records, next_href=None):
    body = {"records": records, "num_records": len(records)}
    if next_href:
        body["_links"] = {"next": {"href": next_href}}
    return Step("GET", path, body=body)


@pytest.fixture
def clock(monkeypatch):
    return fake_waits(monkeypatch, module_under_test)


def run(clock, *steps, **overrides):
    """Run the module's run() against scripted answers; return (result or error, script)."""
    module = FakeModule(**overrides)
    module_under_test.validate(module.params)
    with ontap.connect(module) as client:
        client.clock, client.sleep = clock, clock.sleep
        script = install(client, *steps)
        try:
            return module_under_test.run(module, client), script
        except Exception as exc:  # handed to the test, which asserts on it
            return exc, script


# -- input checks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ({"return_timeout": 121}, "return_timeout: must be from 0 to 120, got 121"),
    ({"return_timeout": -1}, "return_timeout: must be from 0 to 120, got -1"),
    ({"return_timeout": 30}, "return_timeout: must be less than timeout (30 s)"),
    ({"page_size": 0}, "page_size: must be 1 or more, got 0"),
    ({"max_records": 0}, "max_records: must be 1 or more, got 0"),
    ({"min_connected": -1}, "min_connected: must be 0 or more, got -1"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"filters": {"svm.name&x": "a"}}, "filters: keys must be ONTAP field names"),
    ({"filters": {"state=x": "a"}}, "filters: keys must be ONTAP field names"),
    ({"filters": {"ip#": "a"}}, "filters: keys must be ONTAP field names"),
    ({"filters": {"fields": "*"}}, "filters: 'fields' is not a field to filter on; use the fields option"),
    ({"filters": {"max_records": 5}}, "use the max_records option"),
    ({"filters": {"start.index": "5"}}, "filters: 'start.index' is not a field to filter on"),
    ({"filters": {"state": ""}}, "filters: the value of state must be text in ONTAP query syntax"),
    ({"filters": {"state": None}}, "filters: the value of state must be text"),
    ({"filters": {"state": {"a": 1}}}, "filters: the value of state must be text"),
    ({"filters": {"state": []}}, "filters: the value of state must not be an empty list"),
    ({"fields": []}, "fields: must name at least one field"),
    ({"fields": ["svm.name,state"]}, "fields: each element must be an ONTAP field name"),
    ({"order_by": ["ip sideways"]}, "order_by: each element must be an ONTAP field name and optionally asc or desc"),
    ({"order_by": ["ip&x=1"]}, "order_by: each element must be"),
    ({"wait_for_connected": True, "max_records": 2, "min_connected": 3},
     "min_connected: cannot be met when at most max_records (2) servers are read; got 3"),
    ({"svm_min_connected": {}}, "svm_min_connected: must name at least one SVM"),
    ({"svm_min_connected": {"svm1|svm2": 1}}, "svm_min_connected: keys must be SVM names or patterns"),
    ({"svm_min_connected": {"svm1": -1}}, "svm_min_connected: the minimum of svm1 must be a whole number, 0 or more; got -1"),
    ({"svm_min_connected": {"svm1": "many"}}, "svm_min_connected: the minimum of svm1 must be a whole number"),
    ({"svm_min_connected": {"svm1": True}}, "svm_min_connected: the minimum of svm1 must be a whole number"),
])
def test_bad_input_names_the_option_and_the_expected_form(override, message):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(params(**override))
    assert message in caught.value.msg


@pytest.mark.parametrize("override", [
    {"filters": {"svm.name": "svm*", "state": "!connected", "ip": ["10.0.0.1", "10.0.0.2"]}},
    {"fields": ["svm.name", "interface.*", "**"]},
    {"order_by": ["svm.name", "update_time  desc"]},
    {"return_timeout": 0, "min_connected": 0},
])
def test_good_input_passes(override):
    module_under_test.validate(params(**override))


# -- the query -------------------------------------------------------------------------------------------
def test_filters_go_first_as_given_then_fields_and_order():
    query = module_under_test.build_query(params(
        filters={"svm.name": "svm*", "state": "!connected", "ip": ["10.0.0.1", "10.0.0.2"]},
        order_by=["svm.name", "update_time   desc"]))
    assert query == [("ip", "10.0.0.1|10.0.0.2"), ("state", "!connected"), ("svm.name", "svm*"),
                     ("fields", "*"), ("order_by", "svm.name,update_time desc")]


def test_chosen_fields_also_ask_for_what_the_summary_needs():
    query = module_under_test.build_query(params(fields=["ip", "update_time"]))
    assert ("fields", "ip,update_time,svm.name,node.name,state,disconnected_reason") in query


# -- reading ---------------------------------------------------------------------------------------------
def test_summary_is_built_over_every_page(clock):
    second = PATH + "?fields=*&max_records=2&return_timeout=15&start.index=2"
    result, script = run(
        clock,
        reply(PATH + "?fields=*&max_records=2&return_timeout=15",
              [server("10.0.0.1"), server("10.0.0.2", state="disconnected", reason="remote_closed")], second),
        reply(second, [server("10.0.0.3", svm="svm2", state="disconnected"), server("10.0.0.4", svm="svm2")]),
        page_size=2)
    script.assert_done()
    assert result["count"] == 4 and result["pages"] == 2 and result["changed"] is False
    assert [s["ip"] for s in result["servers"]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert result["summary"] == {
        "connected": 2, "disconnected": 2, "by_reason": {"remote_closed": 1, "unknown": 1},
        "by_svm": {"svm1": {"connected": 1, "disconnected": 1, "reasons": {"remote_closed": 1}},
                   "svm2": {"connected": 1, "disconnected": 1, "reasons": {"unknown": 1}}}}
    assert "elapsed" not in result and "polls" not in result and "history" not in result


def test_an_unknown_svm_is_an_empty_result(clock):
    not_found = Step("GET", PATH + "?svm.name=nope&fields=*&max_records=1000&return_timeout=15", status=404,
                     body={"error": {"code": "4", "message": "entry doesn't exist", "target": "svm.name"}})
    result, script = run(clock, not_found, filters={"svm.name": "nope"})
    script.assert_done()
    assert result["servers"] == [] and result["count"] == 0 and result["pages"] == 1
    assert result["summary"] == {"connected": 0, "disconnected": 0, "by_reason": {}, "by_svm": {}}


# -- waiting ---------------------------------------------------------------------------------------------
def test_waits_until_enough_servers_are_connected_and_none_is_disconnected(clock):
    down = [server("10.0.0.1"), server("10.0.0.2", state="disconnected", reason="remote_closed")]
    up = [server("10.0.0.1"), server("10.0.0.2")]
    result, script = run(clock, reply(FIRST, down), reply(FIRST, down), reply(FIRST, up),
                         wait_for_connected=True, min_connected=2)
    script.assert_done()
    assert result["polls"] == 3 and result["changed"] is False
    assert [h["state"] for h in result["history"]] == ["connected=1 disconnected=1",
                                                       "connected=2 disconnected=0"]
    assert result["summary"]["connected"] == 2 and result["count"] == 2
    assert result["elapsed"] == pytest.approx(sum(clock.sleeps), abs=0.01)


def test_every_poll_is_a_full_paginated_read(clock):
    second = PATH + "?fields=*&max_records=1&return_timeout=15&start.index=1"
    first = PATH + "?fields=*&max_records=1&return_timeout=15"
    result, script = run(
        clock,
        reply(first, [server("10.0.0.1")], second), reply(second, [server("10.0.0.2", state="disconnected")]),
        reply(first, [server("10.0.0.1")], second), reply(second, [server("10.0.0.2")]),
        wait_for_connected=True, page_size=1)
    script.assert_done()
    assert result["polls"] == 2 and result["pages"] == 2 and result["count"] == 2


def test_min_connected_zero_with_nothing_matching_is_met_at_once(clock):
    result, script = run(clock, reply(FIRST, []), wait_for_connected=True, min_connected=0)
    script.assert_done()
    assert result["polls"] == 1 and result["count"] == 0 and clock.sleeps == []


def test_timeout_lists_the_disconnected_servers_and_their_reasons(clock):
    records = [server("10.0.1.%d" % i, svm="svm7", node="cluster1-0%d" % (i % 2 + 1),
                      state="disconnected", reason="inactive_connection") for i in range(12)]
    records.append(server("10.0.2.1"))
    steps = [reply(FIRST, records) for _poll in range(40)]
    error, script = run(clock, *steps, wait_for_connected=True, wait_timeout=5, wait_sleep=1)
    assert isinstance(error, WaitTimeout)
    listed = "; ".join("10.0.1.%d on svm7/cluster1-0%d: inactive_connection" % (i, i % 2 + 1)
                       for i in range(10))
    assert error.msg == (
        "Timed out after 5 s waiting for at least 1 Vscan server of the cluster to be connected and "
        "none disconnected; last state: connected=1 disconnected=12 (disconnected: %s; and 2 more)" % listed)
    context = error.to_fail_kwargs()
    assert context["count"] == 13 and len(context["servers"]) == 13
    assert context["summary"]["by_reason"] == {"inactive_connection": 12}
    assert context["polls"] == len(script.sent) and context["elapsed"] == pytest.approx(5, abs=0.01)


def test_timeout_names_the_filters_and_the_shortfall(clock):
    steps = [reply(PATH + "?svm.name=svm9&fields=*&max_records=1000&return_timeout=15", [server("10.0.0.1")])
             for _poll in range(20)]
    error = run(clock, *steps, filters={"svm.name": "svm9"}, wait_for_connected=True, min_connected=3,
                wait_timeout=2, wait_sleep=1)[0]
    assert isinstance(error, WaitTimeout)
    assert error.msg.startswith(
        "Timed out after 2 s waiting for at least 3 Vscan servers matching svm.name=svm9 to be connected "
        "and none disconnected; last state: connected=1 disconnected=0 (1 connected of at least 3)")


# -- memory -------------------------------------------------------------------------------------------------
def test_equal_svm_node_and_interface_objects_are_kept_once():
    shared = module_under_test.SharedValues()
    first, second = ({"svm": {"name": "svm1", "uuid": "u1"}, "node": {"name": "n1"}, "ip": ip,
                      "interface": {"name": "lif1", "ip": {"address": "172.16.0.1"}}, "state": "connected",
                      "tags": ["a"]} for ip in ("10.0.0.1", "10.0.0.2"))
    before = [dict(first), dict(second)]
    for record in (first, second):
        shared.apply(record)
    assert [first, second] == before  # the same data
    assert second["svm"] is first["svm"] and second["node"] is first["node"]
    assert second["interface"] is first["interface"] and second["state"] is first["state"]
    assert second["ip"] == "10.0.0.2" and second["tags"] is not first["tags"]


def test_objects_holding_lists_are_left_alone():
    shared = module_under_test.SharedValues()
    first, second = ({"svm": {"name": "svm1", "aliases": ["x"]}} for _copy in range(2))
    shared.apply(first)
    shared.apply(second)
    assert second["svm"] is not first["svm"] and second == first


# -- per-SVM minimums and return_servers --------------------------------------------------------------------
def test_svm_minimums_are_judged_svm_by_svm_and_a_pattern_stands_for_each_match(clock):
    records = [server("10.0.0.1", svm="prod1"),
               server("10.0.0.2", svm="prod2", state="disconnected", reason="remote_closed"),
               server("10.0.0.3", svm="test1"), server("10.0.0.4", svm="Prod3")]
    result, script = run(clock, reply(FIRST, records), svm_min_connected={"prod*": 1, "test1": 1, "gone": "2"})
    script.assert_done()
    assert [(r["svm"], r["pattern"], r["connected"], r["min_connected"], r["healthy"], r["found"])
            for r in result["svm_checks"]] == [
        ("prod1", "prod*", 1, 1, True, True), ("prod2", "prod*", 0, 1, False, True),
        ("test1", "test1", 1, 1, True, True), ("gone", "gone", 0, 2, False, False)]
    assert result["svm_checks"][1]["reasons"] == {"remote_closed": 1}


def test_the_wait_ends_when_each_svm_meets_its_own_minimum_despite_disconnected_servers(clock):
    """svm2 keeps a disconnected server but meets its minimum; svm1 is waited for."""
    before = [server("10.0.0.1"), server("10.0.0.2", state="disconnected"),
              server("10.0.1.1", svm="svm2"), server("10.0.1.2", svm="svm2", state="disconnected")]
    after = [server("10.0.0.1"), server("10.0.0.2"),
             server("10.0.1.1", svm="svm2"), server("10.0.1.2", svm="svm2", state="disconnected")]
    result, script = run(clock, reply(FIRST, before), reply(FIRST, after), wait_for_connected=True,
                         svm_min_connected={"svm1": 2, "svm2": 1}, min_connected=99)
    script.assert_done()
    assert result["polls"] == 2 and result["timed_out"] is False
    assert [h["state"] for h in result["history"]] == ["below=1 connected=2 disconnected=2",
                                                       "below=0 connected=3 disconnected=1"]


def test_a_timed_out_per_svm_wait_names_the_svms_below_their_minimum(clock):
    records = [server("10.0.0.1"), server("10.0.0.2", state="disconnected"), server("10.0.1.1", svm="svm2")]
    steps = [reply(FIRST, records) for _poll in range(40)]
    error, script = run(clock, *steps, wait_for_connected=True, wait_timeout=5, wait_sleep=1,
                        svm_min_connected={"svm1": 2, "svm2": 1, "svm9": 1})
    assert isinstance(error, WaitTimeout)
    assert error.msg == (
        "Timed out after 5 s waiting for each SVM to have its minimum of connected Vscan servers "
        "(svm1 >= 2, svm2 >= 1, svm9 >= 1); last state: below=2 connected=2 disconnected=1 "
        "(below minimum: svm1 1 of 2, svm9 0 of 1 (no servers))")
    context = error.to_fail_kwargs()
    assert context["timed_out"] is True
    assert [r["svm"] for r in context["svm_checks"] if not r["healthy"]] == ["svm1", "svm9"]


@pytest.mark.parametrize("keep, ips", [("all", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
                                       ("disconnected", ["10.0.0.2"]), ("none", [])])
def test_return_servers_keeps_what_it_says_and_counts_every_server(clock, keep, ips):
    second = PATH + "?fields=*&max_records=2&return_timeout=15&start.index=2"
    result, script = run(
        clock,
        reply(PATH + "?fields=*&max_records=2&return_timeout=15",
              [server("10.0.0.1"), server("10.0.0.2", state="disconnected", reason="remote_closed")], second),
        reply(second, [server("10.0.0.3", svm="svm2")]),
        page_size=2, return_servers=keep, svm_min_connected={"svm*": 1})
    script.assert_done()
    assert [s["ip"] for s in result["servers"]] == ips
    assert result["count"] == 3 and result["pages"] == 2
    assert result["summary"]["connected"] == 2 and result["summary"]["disconnected"] == 1
    assert [(r["svm"], r["connected"]) for r in result["svm_checks"]] == [("svm1", 1), ("svm2", 1)]


def test_return_servers_none_still_waits_on_every_server(clock):
    down = [server("10.0.0.1"), server("10.0.0.2", state="disconnected")]
    up = [server("10.0.0.1"), server("10.0.0.2")]
    result, script = run(clock, reply(FIRST, down), reply(FIRST, up), wait_for_connected=True,
                         min_connected=2, return_servers="none")
    script.assert_done()
    assert result["polls"] == 2 and result["servers"] == [] and result["count"] == 2
