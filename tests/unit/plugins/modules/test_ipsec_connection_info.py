"""ipsec_connection_info: the query it sends, paging, masking, and input checks, on scripted HTTP."""

import json

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _zstack as zstack
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import InputError
from ansible_collections.hybridcloud.ops.plugins.modules import ipsec_connection_info as module_under_test

from ..module_utils.scripted import Step, install

SESSION = "00d038b699b74e76a01705918d48d939"
CONN = "13b5a2cd8c5c30a9a47ba95802cf4e1a"
OTHER = "76424bb25d3a37c9961fff1116bc06da"
SECRET = "PSK-info-test-5e6f7a8b"
QUERY = "/zstack/v1/ipsec?limit=1000&start=%d&replyWithCount=true"


class FakeModule:
    def __init__(self, **params):
        self.params = dict(host="zstack.example.com", username="admin", password="Sw0rdfish-Q7!",
                           session_uuid=None, validate_certs=True, ca_path=None, timeout=30, retries=3,
                           uuid=None, name=None, state=None, status=None, conditions=None)
        self.params.update(params)
        self._name = "hybridcloud.ops.ipsec_connection_info"
        self.check_mode = False
        self.no_log_values = set()
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def inventory(uuid=CONN, name="dc-to-branch-01", **extra):
    inv = {"uuid": uuid, "name": name, "state": "Enabled", "status": "Ready", "authKey": SECRET}
    inv.update(extra)
    return inv


def run(module, *steps):
    """Log in, run the module, log out: returns (result, script)."""
    client = zstack.make_client(module)
    script = install(client, Step("PUT", "/zstack/v1/accounts/login", body={"inventory": {"uuid": SESSION}}),
                     *(steps + (Step("DELETE", "/zstack/v1/accounts/sessions/%s" % SESSION),)))
    with zstack.connect(module, client=client):
        result = module_under_test.run(module, client)
    script.assert_done()
    return result, script


def page(start, rows, total, conditions=""):
    return Step("GET", QUERY % start + conditions, body={"inventories": rows, "total": total})


def test_every_filter_is_one_condition_and_all_of_them_are_anded():
    module = FakeModule(uuid=CONN, name="dc-to-branch-01", state="enabled", status="Ready",
                        conditions=["peerAddress=203.0.113.7", "vipUuid?=a,b"])
    result, script = run(module, page(0, [inventory()], 1, "&q=uuid%3D" + CONN + "&q=name%3Ddc-to-branch-01"
                                      "&q=state%3DEnabled&q=status%3DReady&q=peerAddress%3D203.0.113.7"
                                      "&q=vipUuid%3F%3Da%2Cb"))
    assert result["count"] == 1 and result["changed"] is False


def test_a_name_with_percent_is_a_like_query():
    result = run(FakeModule(name="dc-to-branch-%"), page(0, [inventory()], 1, "&q=name~%3Ddc-to-branch-%25"))[0]
    assert [c["uuid"] for c in result["connections"]] == [CONN]


def test_without_filters_every_connection_is_listed_page_by_page(monkeypatch):
    monkeypatch.setattr(zstack, "PAGE_SIZE", 2)
    rows = [inventory("%032x" % i, name="c%d" % i) for i in range(5)]
    step = "/zstack/v1/ipsec?limit=2&start=%d&replyWithCount=true"
    result, script = run(FakeModule(), *(Step("GET", step % s, body={"inventories": rows[s:s + 2], "total": 5})
                                         for s in (0, 2, 4)))
    assert result["count"] == 5 and [c["name"] for c in result["connections"]] == ["c0", "c1", "c2", "c3", "c4"]


def test_the_pre_shared_keys_are_masked_and_kept_out_of_every_output():
    module = FakeModule(state="disabled")
    rows = [inventory(state="Disabled"), inventory(OTHER, name="b", state="Disabled", authKey="PSK-second-9a8b7c6d")]
    result = run(module, page(0, rows, 2, "&q=state%3DDisabled"))[0]
    assert all(c["authKey"] == "********" for c in result["connections"])
    assert SECRET not in json.dumps(result) and "PSK-second-9a8b7c6d" not in json.dumps(result)
    assert {SECRET, "PSK-second-9a8b7c6d"} <= module.no_log_values


def test_nothing_found_is_an_empty_list_not_a_failure():
    result = run(FakeModule(name="nowhere"), page(0, [], 0, "&q=name%3Dnowhere"))[0]
    assert result == {"changed": False, "connections": [], "count": 0}


def test_an_upper_case_uuid_is_queried_in_zstack_s_lower_case():
    result = run(FakeModule(uuid=CONN.upper()), page(0, [inventory()], 1, "&q=uuid%3D" + CONN))[0]
    assert result["count"] == 1


@pytest.mark.parametrize("params, fragment", [
    ({"conditions": ["peerAddress"]}, "conditions[0]: 'peerAddress' has no query operator"),
    ({"conditions": ["state=Enabled", " "]}, "conditions[1]: must be a ZStack query condition"),
    ({"conditions": ["=x"]}, "conditions[0]: '=x' must start with a field name"),
    ({"uuid": "not-a-uuid"}, "uuid: must be a ZStack UUID"),
    ({"name": "a!=b"}, "name: ZStack's query syntax cannot match"),
    ({"name": "a!=b%"}, "name: ZStack's query syntax cannot match a name containing a query operator"),
    ({"name": " "}, "name: must not be empty"),
    ({"status": "Ready!=x"}, "status: ZStack's query syntax cannot match"),
])
def test_bad_input_is_refused_naming_the_option(params, fragment):
    with pytest.raises(InputError) as caught:
        module_under_test.validate(FakeModule(**params).params)
    assert fragment in caught.value.msg


@pytest.mark.parametrize("condition", ["peerAddress is null", "description not null", "createDate>2024",
                                       "name!~=lab-%", "status!?=Ready,Connected"])
def test_every_zstack_operator_is_accepted(condition):
    module_under_test.validate(FakeModule(conditions=[condition]).params)
