"""The ONTAP platform layer: error bodies, query encoding, and paging by _links.next.href."""

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.hybridcloud.ops.plugins.module_utils import _ontap as ontap
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import ApiClient
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError

from .scripted import FakeClock, Step, install

BASE = "https://cluster1.example.com"
PATH = "/api/protocols/vscan/server-status"


def make_client(**kwargs):
    clock = FakeClock()
    kwargs.setdefault("retries", 0)
    return ApiClient(BASE, "vscan_server_status_info", clock=clock, sleep=clock.sleep,
                     rng=lambda: 0.5, vendor="ONTAP", parse_error=ontap.parse_error, **kwargs)


def page(first, count, next_href=None):
    body = {"records": [{"ip": "10.0.0.%d" % i} for i in range(first, first + count)],
            "num_records": count}
    if next_href:
        body["_links"] = {"next": {"href": next_href}}
    return body


def read_all(client, query=(), page_size=1000, max_records=None, return_timeout=15):
    pages = list(ontap.read_pages(client, PATH, list(query), page_size, max_records, return_timeout))
    return pages, [r for p in pages for r in p]


def query_of(sent):
    return urlsplit(sent[1]).query


# -- error bodies -------------------------------------------------------------------------------
def test_error_body_gives_code_message_target_and_arguments():
    code, message, correlation = ontap.parse_error({"error": {
        "code": "262179", "message": "Unexpected argument \"foo\".", "target": "foo",
        "arguments": [{"code": "1", "message": "foo"}]}})
    assert code == "262179"
    assert message == "Unexpected argument \"foo\". (target: foo, arguments: foo)"
    assert correlation is None


@pytest.mark.parametrize("body", [None, [], {"records": []}, {"error": "text"}])
def test_a_body_without_an_ontap_error_gives_nothing(body):
    assert ontap.parse_error(body) == (None, None, None)


def test_an_ontap_error_reply_names_status_code_message_and_target():
    client = make_client()
    install(client, Step("GET", PATH + "?state=bogus&max_records=1000&return_timeout=15", status=400,
                         body={"error": {"code": "262196", "target": "state",
                                         "message": "\"bogus\" is an invalid value for field \"state\""}}))
    with pytest.raises(ApiError) as caught:
        read_all(client, [("state", "bogus")])
    err = caught.value
    assert err.msg == ("GET %s: HTTP 400 Bad Request, ONTAP error 262196: \"bogus\" is an invalid "
                       "value for field \"state\" (target: state)" % PATH)
    assert err.status_code == 400 and err.vendor_code == "262196"
    assert err.error["error"]["target"] == "state"


@pytest.mark.parametrize("error, expected", [
    ({"code": 4, "message": "entry doesn't exist"}, ("4", "entry doesn't exist")),
    ({"code": "2", "message": ["a", "b"], "arguments": "x"}, ("2", '["a", "b"] (arguments: x)')),
    ({"message": "no code", "arguments": [{"code": "1"}, None]}, (None, "no code")),
])
def test_odd_error_bodies_still_give_text(error, expected):
    assert ontap.parse_error({"error": error})[:2] == expected


# -- query values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value, wire", [
    ("!connected", "!connected"),
    ("svm*", "svm*"),
    ("svm1|svm2", "svm1%7Csvm2"),
    ("a,b", "a,b"),
    (">2024-05-01T00:00:00+02:00", "%3E2024-05-01T00:00:00%2B02:00"),
    ("two words", "two%20words"),
    ("a&b=c#d%e", "a%26b%3Dc%23d%25e"),
    ("fe80::1", "fe80::1"),
])
def test_query_values_reach_ontap_unchanged(value, wire):
    encoded = ontap.encode_query([("svm.name", value)])
    assert encoded == "svm.name=" + wire
    assert parse_qsl(encoded) == [("svm.name", value)]


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.text(min_size=1))
def test_any_query_value_decodes_to_itself(value):
    assert parse_qs(ontap.encode_query([("ip", value)]), keep_blank_values=True) == {"ip": [value]}


@pytest.mark.parametrize("value, text", [
    (["svm1", "svm2"], "svm1|svm2"), (True, "true"), (False, "false"), (5, "5"), ("!null", "!null"),
])
def test_filter_values_become_ontap_query_text(value, text):
    assert ontap.query_value(value) == text


# -- next links --------------------------------------------------------------------------------------
def test_next_link_is_kept_byte_for_byte():
    href = PATH + "?state=!connected&svm.name=svm%2A&fields=*&max_records=1000&return_timeout=15&start.index=1000"
    assert ontap.next_page_url(href, 1000, None, 15) == href


def test_next_link_asks_only_for_what_is_left_of_the_cap():
    href = PATH + "?svm.name=svm*&max_records=1000&return_timeout=15&start.index=2000"
    assert ontap.next_page_url(href, 1000, 500, 15) == (
        PATH + "?svm.name=svm*&max_records=500&return_timeout=15&start.index=2000")


def test_next_link_without_paging_parameters_gets_them_once():
    href = PATH + "?svm.name=svm*&start.index=2000"
    assert ontap.next_page_url(href, 250, None, 15) == href + "&max_records=250&return_timeout=15"


def test_absolute_next_link_keeps_its_origin():
    href = BASE + PATH + "?max_records=10&return_timeout=15&start.index=10"
    assert ontap.next_page_url(href, 10, None, 15) == href


# -- paging ---------------------------------------------------------------------------------------------
def test_first_request_carries_filters_fields_page_size_and_return_timeout():
    client = make_client()
    script = install(client, Step(
        "GET", PATH + "?state=!connected&svm.name=svm*&ip=10.0.0.1%7C10.0.0.2&fields=*"
        "&max_records=1000&return_timeout=15", body=page(0, 2)))
    pages, records = read_all(client, [("state", "!connected"), ("svm.name", "svm*"),
                                       ("ip", "10.0.0.1|10.0.0.2"), ("fields", "*")])
    assert len(pages) == 1 and len(records) == 2
    assert parse_qs(query_of(script.sent[0])) == {
        "state": ["!connected"], "svm.name": ["svm*"], "ip": ["10.0.0.1|10.0.0.2"], "fields": ["*"],
        "max_records": ["1000"], "return_timeout": ["15"]}
    script.assert_done()


def test_relative_next_links_are_followed_as_given_to_the_end():
    client = make_client()
    second = PATH + "?svm.name=svm*&max_records=2&return_timeout=15&start.index=2"
    third = PATH + "?svm.name=svm*&max_records=2&return_timeout=15&start.index=4"
    script = install(client,
                     Step("GET", PATH + "?svm.name=svm*&max_records=2&return_timeout=15", body=page(0, 2, second)),
                     Step("GET", second, body=page(2, 2, third)),
                     Step("GET", third, body=page(4, 1)))
    pages, records = read_all(client, [("svm.name", "svm*")], page_size=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["ip"] for r in records] == ["10.0.0.%d" % i for i in range(5)]
    script.assert_done()


def test_absolute_next_links_on_the_same_origin_are_followed():
    client = make_client()
    second = BASE + PATH + "?max_records=2&return_timeout=15&start.index=2"
    script = install(client,
                     Step("GET", PATH + "?max_records=2&return_timeout=15", body=page(0, 2, second)),
                     Step("GET", urlsplit(second).path + "?" + urlsplit(second).query, body=page(2, 1)))
    pages, records = read_all(client, page_size=2)
    assert len(records) == 3
    assert script.sent[1][1] == second
    script.assert_done()


def test_a_next_link_to_another_host_is_refused():
    client = make_client()
    install(client, Step("GET", PATH + "?max_records=2&return_timeout=15",
                         body=page(0, 2, "https://evil.example.com" + PATH + "?start.index=2")))
    with pytest.raises(ApiError) as caught:
        read_all(client, page_size=2)
    assert "refusing to follow https://evil.example.com" in caught.value.msg


def test_max_records_caps_the_total_over_pages():
    client = make_client()
    second = PATH + "?max_records=1000&return_timeout=15&start.index=1000"
    third = PATH + "?max_records=1000&return_timeout=15&start.index=2000"
    script = install(client,
                     Step("GET", PATH + "?max_records=1000&return_timeout=15", body=page(0, 1000, second)),
                     Step("GET", second, body=page(1000, 1000, third)),
                     Step("GET", PATH + "?max_records=500&return_timeout=15&start.index=2000",
                          body=page(2000, 500, PATH + "?start.index=2500")))
    pages, records = read_all(client, max_records=2500)
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert len(records) == 2500
    script.assert_done()  # and no request for the link after the cap


def test_a_cap_smaller_than_a_page_asks_for_the_cap_and_stops():
    client = make_client()
    script = install(client, Step("GET", PATH + "?max_records=3&return_timeout=15",
                                  body=page(0, 3, PATH + "?max_records=3&start.index=3")))
    pages, records = read_all(client, max_records=3)
    assert len(records) == 3 and len(pages) == 1
    script.assert_done()


def test_records_past_the_cap_are_dropped_when_ontap_sends_too_many():
    client = make_client()
    install(client, Step("GET", PATH + "?max_records=3&return_timeout=15", body=page(0, 5)))
    records = read_all(client, max_records=3)[1]
    assert [r["ip"] for r in records] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]


def test_short_pages_from_return_timeout_keep_the_reader_going():
    client = make_client()
    second = PATH + "?max_records=1000&return_timeout=15&start.index=7"
    script = install(client,
                     Step("GET", PATH + "?max_records=1000&return_timeout=15", body=page(0, 7, second)),
                     Step("GET", second, body=page(7, 0, PATH + "?max_records=1000&return_timeout=15&start.index=8")),
                     Step("GET", PATH + "?max_records=1000&return_timeout=15&start.index=8", body=page(7, 3)))
    pages, records = read_all(client)
    assert [len(p) for p in pages] == [7, 0, 3]
    script.assert_done()


def test_a_repeated_next_link_fails_instead_of_looping():
    client = make_client()
    again = PATH + "?max_records=2&return_timeout=15&start.index=2"
    script = install(client,
                     Step("GET", PATH + "?max_records=2&return_timeout=15", body=page(0, 2, again)),
                     Step("GET", again, body=page(2, 2, again)))
    with pytest.raises(ApiError) as caught:
        read_all(client, page_size=2)
    assert caught.value.msg == (
        "GET %s: ONTAP returned the next-page link %s a second time after 4 records; stopping "
        "instead of reading the same pages again (a broken cursor on the cluster: retry, or "
        "narrow the query with filters)" % (PATH, again))
    script.assert_done()


def test_error_code_4_is_an_empty_result():
    client = make_client()
    script = install(client, Step("GET", PATH + "?svm.name=nope&max_records=1000&return_timeout=15",
                                  status=404, body={"error": {"code": "4", "message": "entry doesn't exist",
                                                              "target": "svm.name"}}))
    pages, records = read_all(client, [("svm.name", "nope")])
    assert pages == [[]] and records == []
    script.assert_done()


def test_an_empty_collection_is_one_empty_page():
    client = make_client()
    install(client, Step("GET", PATH + "?max_records=1000&return_timeout=15", body={"num_records": 0}))
    assert read_all(client) == ([[]], [])


@pytest.mark.parametrize("body", [[1, 2], {"records": "many"}, {"records": {"ip": "10.0.0.1"}}])
def test_an_answer_that_is_not_a_collection_fails_clearly(body):
    client = make_client()
    install(client, Step("GET", PATH + "?max_records=1000&return_timeout=15", body=body))
    with pytest.raises(ApiError) as caught:
        read_all(client)
    assert caught.value.msg.startswith("GET %s: ONTAP answered with something other than a "
                                       "collection of records: " % PATH)


def test_pages_are_read_one_at_a_time():
    client = make_client()
    second = PATH + "?max_records=2&return_timeout=15&start.index=2"
    script = install(client,
                     Step("GET", PATH + "?max_records=2&return_timeout=15", body=page(0, 2, second)),
                     Step("GET", second, body=page(2, 2)))
    reader = ontap.read_pages(client, PATH, [], 2, None, 15)
    assert len(next(reader)) == 2
    assert len(script.sent) == 1  # the second page is asked for only when the first is consumed
    assert len(next(reader)) == 2
    assert len(script.sent) == 2
    assert list(reader) == []
