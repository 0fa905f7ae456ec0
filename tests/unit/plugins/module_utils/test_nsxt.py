"""_nsxt: Policy path checks, realization of realized entities, detailed status, psk masking."""

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _nsxt as nsxt
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError, InputError

T1 = "/infra/tier-1s/t1-branch/ipsec-vpn-services/branch-vpn/sessions/branch-office"
T0 = "/infra/tier-0s/t0-edge/ipsec-vpn-services/dc-vpn/sessions/dc-to-partner"
PROJECT = "/orgs/default/projects/tenant-a/infra/tier-1s/t1/ipsec-vpn-services/vpn/sessions/s1"


# -- paths ------------------------------------------------------------------------------------
@pytest.mark.parametrize("given, path, scope, session", [
    (T1, T1, "", "branch-office"),
    (T0, T0, "", "dc-to-partner"),
    ("/policy/api/v1" + T1, T1, "", "branch-office"),
    (T1 + "/", T1, "", "branch-office"),
    (PROJECT, PROJECT, "/orgs/default/projects/tenant-a", "s1"),
    ("/policy/api/v1" + PROJECT, PROJECT, "/orgs/default/projects/tenant-a", "s1"),
    ("/infra/tier-0s/t0/locale-services/default/ipsec-vpn-services/v/sessions/s",
     "/infra/tier-0s/t0/locale-services/default/ipsec-vpn-services/v/sessions/s", "", "s"),
])
def test_session_paths_of_every_form_are_accepted(given, path, scope, session):
    parsed = nsxt.parse_session_path(given)
    assert (parsed.path, parsed.scope, parsed.session_id) == (path, scope, session)
    assert parsed.url == "/policy/api/v1" + path
    assert parsed.detailed_status_url == "/policy/api/v1" + path + "/detailed-status"


def test_project_sessions_read_realization_in_their_project_with_the_full_intent_path():
    url, query = nsxt.parse_session_path(PROJECT).realized_entities()
    assert url == "/policy/api/v1/orgs/default/projects/tenant-a/infra/realized-state/realized-entities"
    assert query == {"intent_path": PROJECT}
    assert nsxt.parse_session_path(T0).realized_entities()[0] == \
        "/policy/api/v1/infra/realized-state/realized-entities"


@pytest.mark.parametrize("given, fragment", [
    ("", "got an empty string"),
    (T1 + "?x=1", "without a query string"),
    (T1 + "#top", "without a query string"),
    ("/infra/tier-1s/t1/ipsec-vpn-services/../sessions/s", "without '.', '..'"),
    ("/infra/tier-1s/t1//ipsec-vpn-services/v/sessions/s", "empty segments"),
    ("/infra/tier-1s/t1/ipsec-vpn-services/v", "must be the Policy path of an IPsec VPN session"),
    ("/infra/tier-1s/t1/ipsec-vpn-services/v/sessions/s/detailed-status", "must be the Policy path"),
    ("/infra/tier-2s/t/ipsec-vpn-services/v/sessions/s", "must be the Policy path"),
    ("/infra/segments/web", "must be the Policy path"),
    ("/api/v1/vpn/ipsec/sessions/abc", "must be the Policy path"),
    ("https://nsx.example.com" + T1, "not a URL"),
    ("/orgs/default/projects/p/infra/tier-0s/t0/ipsec-vpn-services/v/sessions/s", "under tier-1s"),
    ("/infra/tier-1s/t 1/ipsec-vpn-services/v/sessions/s", "must be the Policy path"),
])
def test_bad_paths_are_refused_naming_the_option(given, fragment):
    with pytest.raises(InputError) as caught:
        nsxt.parse_session_path(given, "session_paths[2]")
    assert caught.value.msg.startswith("session_paths[2]: ") and fragment in caught.value.msg


# -- realization ----------------------------------------------------------------------------------
def entity(state, modified=2000, alarms=None, kind="RealizedIPSecVpnSession"):
    return {"state": state, "_last_modified_time": modified, "entity_type": kind, "alarms": alarms or []}


def test_realized_only_when_every_entity_is_realized():
    assert nsxt.evaluate_realization({"results": [entity("REALIZED"), entity("REALIZED")]})["state"] == "REALIZED"
    assert nsxt.evaluate_realization({"results": [entity("REALIZED"), entity("UNREALIZED")]})["state"] == "UNREALIZED"
    assert nsxt.evaluate_realization({"results": [entity("REALIZED"), entity("UNAVAILABLE")]})["state"] == "UNAVAILABLE"


def test_no_entity_yet_keeps_waiting():
    assert nsxt.evaluate_realization({"results": [], "result_count": 0})["state"] == "NO_ENTITY"
    assert nsxt.evaluate_realization({})["state"] == "NO_ENTITY"


def test_error_reports_every_alarm_message():
    report = nsxt.evaluate_realization({"results": [
        entity("ERROR", alarms=[{"message": "IKE failed."}, {"error_details": {"error_message": "No route"}}]),
        entity("REALIZED"),
        entity("ERROR", kind="RealizedIPSecVpnSessionOnEdge", alarms=[{"message": "Edge down"}])]})
    assert report["state"] == "ERROR"
    assert report["failure"] == ("RealizedIPSecVpnSession: IKE failed; RealizedIPSecVpnSession: No route; "
                                 "RealizedIPSecVpnSessionOnEdge: Edge down.")
    assert report["entities"][0]["alarms"]


def test_changed_since_ignores_entities_from_before_the_change():
    stale = {"results": [entity("REALIZED", modified=1000), entity("REALIZED", modified=1000)]}
    report = nsxt.evaluate_realization(stale, changed_since=1500)
    assert report["state"] == "STALE" and report["ignored_entities"] == 2 and report["entities"] == []
    mixed = {"results": [entity("REALIZED", modified=1000), entity("REALIZED", modified=1500)]}
    assert nsxt.evaluate_realization(mixed, changed_since=1500)["state"] == "REALIZED"
    old_error = {"results": [entity("ERROR", modified=999, alarms=[{"message": "old"}])]}
    assert nsxt.evaluate_realization(old_error, changed_since=1000)["state"] == "STALE"


# -- tunnel ---------------------------------------------------------------------------------------
def point(runtime, ike, reason=None, negotiated=0):
    status = {"ike_session_state": ike}
    if reason:
        status["fail_reason"] = reason
    return {"runtime_status": runtime, "ike_status": status, "total_tunnels": 1,
            "negotiated_tunnels": negotiated, "failed_tunnels": 1 - negotiated,
            "enforcement_point_path": "/infra/sites/default/enforcement-points/default"}


def test_detailed_status_gives_the_tunnel_as_spec_names_it():
    tunnel = nsxt.parse_tunnel({"results": [point("DOWN", "NEGOTIATING", "Peer not responding")]})
    assert {k: tunnel[k] for k in ("runtime_status", "ike_session_state", "fail_reason", "total_tunnels",
                                   "negotiated_tunnels", "failed_tunnels")} == {
        "runtime_status": "DOWN", "ike_session_state": "NEGOTIATING", "fail_reason": "Peer not responding",
        "total_tunnels": 1, "negotiated_tunnels": 0, "failed_tunnels": 1}
    assert not nsxt.tunnel_done(tunnel, "UP") and nsxt.tunnel_done(tunnel, "DOWN")


def test_tunnel_is_up_only_when_every_enforcement_point_is():
    mixed = nsxt.parse_tunnel({"results": [point("UP", "UP", negotiated=1), point("DOWN", "DOWN")]})
    assert mixed["runtime_status"] == "DEGRADED" and not nsxt.tunnel_done(mixed, "UP")
    assert mixed["total_tunnels"] == 2 and mixed["negotiated_tunnels"] == 1
    up = nsxt.parse_tunnel({"results": [point("UP", "UP", negotiated=1)] * 2})
    assert nsxt.tunnel_done(up, "UP")
    assert not nsxt.tunnel_done(nsxt.parse_tunnel({"results": []}), "UP")


def test_manager_status_is_read_the_same_way():
    tunnel = nsxt.parse_tunnel({"session_status": "UP", "ike_status": {"ike_session_state": "UP"},
                                "total_tunnels": 2, "negotiated_tunnels": 2, "failed_tunnels": 0})
    assert tunnel["runtime_status"] == "UP" and nsxt.tunnel_done(tunnel, "UP")


# -- psk -------------------------------------------------------------------------------------------
def test_psk_is_masked_in_results_and_collected_for_no_log():
    session = {"id": "s", "psk": "Secret-Key-123", "nested": [{"psk": "Other-Key-456"}], "enabled": True}
    assert nsxt.masked(session) == {"id": "s", "psk": "********", "nested": [{"psk": "********"}], "enabled": True}
    assert sorted(nsxt.psk_values(session)) == ["Other-Key-456", "Secret-Key-123"]
    assert session["psk"] == "Secret-Key-123"  # the object read is not changed


# -- what a session says, and what NSX's errors mean --------------------------------------------------
@pytest.mark.parametrize("session, enabled", [
    ({"enabled": True}, True), ({"enabled": False}, False), ({}, True), ({"enabled": None}, True)])
def test_a_session_is_enabled_unless_it_says_false(session, enabled):
    assert nsxt.is_enabled(session) is enabled


@pytest.mark.parametrize("obj, expected", [({"_last_modified_time": 1733322000123}, 1733322000123),
                                           ({"_last_modified_time": "1733322000123"}, None),
                                           ({"_last_modified_time": True}, None), ({}, None), ([], None)])
def test_only_an_integer_last_modified_time_ties_a_change(obj, expected):
    assert nsxt.modified_time(obj) == expected


def api_error(status, code=None, text="<html>404 Not Found</html>"):
    return ApiError("GET /policy/api/v1/x: HTTP %d Not Found, body: %r" % (status, text), method="GET",
                    path="/policy/api/v1/x", status_code=status, vendor_code=code)


def test_only_nsx_own_404_is_not_found():
    assert nsxt.is_not_found(api_error(404, "500090")) and nsxt.is_not_found(api_error(404, "600"))
    assert not nsxt.is_not_found(api_error(404)) and not nsxt.is_not_found(api_error(400, "600"))
    explained = nsxt.explained(api_error(404))
    assert "without NSX's error body" in explained.msg and explained.status_code == 404
    nsx_own = api_error(404, "600")
    assert nsxt.explained(nsx_own) is nsx_own


class FakeReply:
    def __init__(self, body, status=200):
        self.body, self.status = body, status


@pytest.mark.parametrize("body, kind", [([{"psk": "Secret-1"}], "a JSON list"), ("x", "a JSON string"),
                                        (3, "a JSON number"), (None, "an empty body")])
def test_a_body_that_must_be_an_object_is_checked_without_quoting_it(body, kind):
    with pytest.raises(ApiError) as caught:
        nsxt.json_object(FakeReply(body), "GET", "/policy/api/v1/x")
    assert caught.value.msg == "GET /policy/api/v1/x: HTTP 200 with %s where NSX sends a JSON object" % kind
    assert caught.value.transient and "Secret-1" not in caught.value.msg
    assert nsxt.json_object(FakeReply({"a": 1}), "GET", "/x") == {"a": 1}
