"""Property tests: whatever an appliance sends back, only the collection's own errors escape.

Every response parser gets arbitrary JSON and non-JSON bodies, headers and status codes; the
client path (status handling, Retry-After, JSON decoding, vendor error parsing) is exercised
through a real requests.Response. At least 1,000 examples per parser.
"""

import importlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.hybridcloud.ops.plugins.module_utils._client import ApiClient, Reply, parse_retry_after
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import HybridCloudError

from .scripted import FakeClock, Step, install

EXAMPLES = settings(max_examples=1000, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=6),
    max_leaves=25)

# Error bodies shaped like each vendor's (nested too: ZStack causes, vCDA task errors, ONTAP
# "error" objects, Customer Connect errorDetails), with every field free to be anything.
VENDOR_KEYS = ("error_code", "error_message", "related_errors", "error", "code", "msg", "args",
               "stacktrace", "errorDetails", "errorCode", "traceId", "statusCode", "message",
               "description", "details", "cause", "target", "arguments", "elaboration")
leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
small = leaf | st.lists(leaf, max_size=3) | st.dictionaries(st.text(max_size=5), leaf, max_size=3)
vendorish = st.recursive(
    st.dictionaries(st.sampled_from(VENDOR_KEYS), small, max_size=5),
    lambda inner: st.dictionaries(st.sampled_from(VENDOR_KEYS),
                                  small | inner | st.lists(inner, max_size=2), max_size=5),
    max_leaves=6)

bodies = st.one_of(
    json_values.map(json.dumps),
    vendorish.map(json.dumps),
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["", " ", "<html><body><h1>502 Bad Gateway</h1></body></html>", '{"state": "in_pro',
                     "null", "[]", "\x00\x01", "<?xml version='1.0'?><error/>"]),
)
headers = st.dictionaries(
    st.sampled_from(["Retry-After", "Content-Type", "x-nsx-requestid", "X-VCAV-Auth", "Location"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40), max_size=4)

PLATFORMS = ["_nsxt", "_zstack", "_vcda", "_ontap", "_customer_connect"]


def platform_parsers():
    found = []
    for name in PLATFORMS:
        try:
            module = importlib.import_module("ansible_collections.hybridcloud.ops.plugins.module_utils." + name)
        except ImportError:
            continue
        if hasattr(module, "parse_error"):
            found.append(pytest.param(module.parse_error, id=name.strip("_")))
    return found


@pytest.mark.parametrize("parse_error", platform_parsers())
@EXAMPLES
@given(body=st.one_of(json_values, vendorish))
def test_vendor_error_parsers_accept_any_json(parse_error, body):
    code, message, correlation = parse_error(body)
    assert code is None or isinstance(code, str)
    assert message is None or isinstance(message, str)
    assert correlation is None or isinstance(correlation, str)


_CLIENTS = {}


def client_for(parse_error):
    """One client per parser (a new requests.Session per example would dominate the run time)."""
    if parse_error not in _CLIENTS:
        clock = FakeClock()
        client = ApiClient("https://appliance.example.com", "fuzz", retries=1, parse_error=parse_error,
                           vendor="Vendor", correlation_header="x-nsx-requestid", clock=clock,
                           sleep=clock.sleep, rng=lambda: 0.5)
        _CLIENTS[parse_error] = (client, clock)
    return _CLIENTS[parse_error]


PARSERS = [p.values[0] for p in platform_parsers()]


@EXAMPLES
@given(parse_error=st.sampled_from(PARSERS), status=st.integers(min_value=100, max_value=599),
       body=bodies, extra=headers, method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]))
def test_client_turns_any_answer_into_a_reply_or_our_own_error(parse_error, status, body, extra, method):
    client, clock = client_for(parse_error)
    client.deadline = clock() + 30
    install(client, *[Step(method, "/x", status=status, text=body, headers=extra)] * 2)
    try:
        reply = client.request(method, "/x")
    except HybridCloudError as exc:
        assert isinstance(exc.msg, str) and exc.msg.startswith("%s /x: HTTP %d" % (method, status))
        assert isinstance(exc.to_fail_kwargs(), dict)
    else:
        assert 200 <= reply.status < 300


@EXAMPLES
@given(value=st.one_of(st.none(), st.text(max_size=60), st.integers().map(str),
                       st.floats(allow_nan=True, allow_infinity=True).map(str)))
def test_retry_after_parser_gives_seconds_or_none(value):
    seconds = parse_retry_after(value, now=1_700_000_000)
    assert seconds is None or seconds >= 0


# -- the ONTAP pagination helper ---------------------------------------------------------------
hrefs = st.one_of(
    st.text(max_size=60), st.none(), st.integers(),
    st.builds(lambda q: "/api/protocols/vscan/server-status?" + q, st.text(max_size=40)),
    st.sampled_from(["https://cluster.example.com/api/x?start.index=5", "https://evil.example.com/api/x",
                     "//evil.example.com/api", "/api/x?max_records=abc", "?", "/", ""]))
record_lists = st.one_of(st.lists(st.one_of(leaf, st.dictionaries(st.text(max_size=5), leaf)), max_size=5),
                         json_values)
links = st.one_of(json_values, st.fixed_dictionaries(
    {"next": st.one_of(json_values, st.fixed_dictionaries({"href": hrefs}))}))
pages = st.one_of(
    json_values,
    st.fixed_dictionaries({"records": record_lists}, optional={"_links": links, "num_records": json_values}))


class PagedClient:
    """Answers each GET with the next generated page, after the real same-origin check."""

    def __init__(self, bodies):
        self.bodies = list(bodies)
        self.origin = ApiClient("https://cluster.example.com", "fuzz")

    def get(self, link):
        self.origin.url(link)
        return Reply(200, {}, self.bodies.pop(0) if self.bodies else {"records": []})


@EXAMPLES
@given(bodies=st.lists(pages, max_size=6), cap=st.one_of(st.none(), st.integers(min_value=1, max_value=20)),
       page_size=st.integers(min_value=1, max_value=50))
def test_the_ontap_pagination_helper_ends_or_raises_our_own_error(bodies, cap, page_size):
    ontap = importlib.import_module("ansible_collections.hybridcloud.ops.plugins.module_utils._ontap")
    client = PagedClient(bodies)
    total = 0
    try:
        for records in ontap.read_pages(client, "/api/protocols/vscan/server-status", [("fields", "*")],
                                        page_size, max_records=cap, return_timeout=15):
            assert isinstance(records, list)
            total += len(records)
    except HybridCloudError as exc:
        assert isinstance(exc.msg, str)
    assert cap is None or total <= cap
