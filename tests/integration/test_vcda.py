"""replication_site_pair against two simulated Cloud Director Availability sites, over real HTTPS.

Site A (vcda_a) and site B (vcda_b) listen on their own ports with their own certificates, so the
thumbprints are real and differ. Every test starts from two unpaired sites.
"""

import pytest

from .harness import assert_refused_before_any_request

MODULE = "replication_site_pair"
SITES = r"^/sites$"
SITE = r"^/sites/[^/]+$"
TASKS = r"^/tasks/"


@pytest.fixture
def vcda(simulator):
    """Both sites back to their start (no pairings, no sessions, their first certificates), tasks
    of one second; put back again afterwards, so a rotated certificate never outlives its test."""
    for name in ("vcda_a", "vcda_b"):
        simulator.command(name, "restore")
        simulator.command(name, "set_task_seconds", seconds=1)
    yield refresh(simulator)
    for name in ("vcda_a", "vcda_b"):
        simulator.command(name, "restore")
    refresh(simulator)


def pairing(local, peer, sim, **extra):
    args = {"host": local["host"], "username": local["username"], "password": local["password"],
            "ca_path": sim.config["ca_path"], "peer_api_url": peer["api_url"]}
    args.update(extra)
    return args


def count(sim, since, method, path, appliance="vcda_a"):
    return len(sim.log(since=since, appliance=appliance, method=method, path=path))


def listed(sim, name):
    """The non-local sites an appliance lists now."""
    return [s for s in sim.command(name, "sites")["sites"] if not s["isLocal"]]


# -- pairing ------------------------------------------------------------------------------------
def test_pairs_a_with_b_following_the_task_through_running_to_succeeded(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "set_task_seconds", seconds=2)
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]))
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is True
    assert result["task"]["state"] == "SUCCEEDED" and result["task"]["progress"] == 100
    assert [h["state"] for h in result["history"]] == ["RUNNING", "SUCCEEDED"]
    assert 1.5 <= result["elapsed"] < 10
    assert result["site"]["site"] == "site-b" and result["site"]["apiThumbprint"] == b["thumbprint"]
    assert count(simulator, mark, "POST", SITES) == 1
    assert count(simulator, mark, "GET", TASKS) == result["polls"]
    assert [s["site"] for s in listed(simulator, "vcda_a")] == ["site-b"]


def test_a_rerun_changes_nothing_and_sends_no_post(ansible, simulator, vcda):
    a, b = vcda
    args = pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"])
    assert ansible.module(MODULE, args).rc == 0
    mark = simulator.mark()
    run = ansible.module(MODULE, args)
    assert run.rc == 0, run
    assert run.last["changed"] is False and run.last["task"] is None
    assert run.last["site"]["apiThumbprint"] == b["thumbprint"]
    assert count(simulator, mark, "POST", SITES) == 0 and count(simulator, mark, "GET", TASKS) == 0


def test_check_mode_predicts_the_pairing_and_sends_no_post(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]), check=True)
    assert run.rc == 0, run
    assert run.last["changed"] is True
    assert run.last["site"] == {"apiUrl": b["api_url"], "apiThumbprint": b["thumbprint"]}
    assert count(simulator, mark, "POST", SITES) == 0 and listed(simulator, "vcda_a") == []


def test_the_computed_thumbprint_is_that_of_the_peer_certificate(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    a_to_b = ansible.module(MODULE, pairing(a, b, simulator), check=True)
    b_to_a = ansible.module(MODULE, pairing(b, a, simulator), check=True)
    assert a_to_b.rc == 0 and b_to_a.rc == 0, (a_to_b, b_to_a)
    assert a_to_b.last["peer_api_thumbprint"] == b["thumbprint"]
    assert b_to_a.last["peer_api_thumbprint"] == a["thumbprint"]
    assert a["thumbprint"] != b["thumbprint"]
    # Asked of the LOCAL appliance, which fetched the peer's certificate itself.
    asked = simulator.log(since=mark, method="GET", path="^/config/remote-certificate$")
    assert [e["appliance"] for e in asked] == ["vcda_a", "vcda_b"]
    assert any("pin it with peer_api_thumbprint" in w for w in a_to_b.last["warnings"])


def test_a_given_thumbprint_is_normalised_and_no_certificate_is_fetched(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"].lower()))
    assert run.rc == 0, run
    assert run.last["peer_api_thumbprint"] == b["thumbprint"]
    assert not run.last.get("warnings")
    assert count(simulator, mark, "GET", "^/config/remote-certificate$") == 0


def test_pairing_both_directions_completes_the_relationship(ansible, simulator, vcda):
    a, b = vcda
    run = ansible.playbook("vcda_pair_both.yml", extra_vars={
        "vcda_a": a, "vcda_b": b, "ca_path": simulator.config["ca_path"]}, args=["--diff"])
    assert run.rc == 0, run
    # A paired first: until B paired too, A's record of B carried a communication error.
    assert "outgoingCommError" in run.task("Pair A with B")["site"]["state"]
    assert run.task("Pair A with B again, the URL written differently")["changed"] is False
    on_a, on_b = listed(simulator, "vcda_a"), listed(simulator, "vcda_b")
    assert [(s["site"], s["state"]) for s in on_a] == [("site-b", {})]
    assert [(s["site"], s["state"]) for s in on_b] == [("site-a", {})]
    assert on_a[0]["description"] == "Disaster recovery site B"


# -- thumbprints that do not match ------------------------------------------------------------
def test_an_existing_pair_with_another_thumbprint_fails_naming_both_without_post_or_delete(
        ansible, simulator, vcda):
    a, b = vcda
    stale = "SHA-256:" + ":".join(["5A"] * 32)
    simulator.command("vcda_a", "pair_directly", peer="vcda_b", thumbprint=stale)
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator))
    assert run.rc != 0
    msg = run.last["msg"]
    assert stale in msg and b["thumbprint"] in msg and "Nothing was changed" in msg
    assert count(simulator, mark, "POST", SITES) == 0 and count(simulator, mark, "DELETE", SITE) == 0
    assert listed(simulator, "vcda_a")[0]["apiThumbprint"] == stale


def test_a_wrong_pinned_thumbprint_fails_the_pairing_task_with_the_vcda_code(ansible, simulator, vcda):
    a, b = vcda
    wrong = "SHA-256:" + ":".join(["AB"] * 32)
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=wrong))
    assert run.rc != 0
    result = run.last
    assert "FAILED: vCDA error CertificateThumbprintMismatch" in result["msg"]
    assert b["thumbprint"] in result["msg"]
    assert result["task"]["state"] == "FAILED" and result["task"]["error"]["code"] == "CertificateThumbprintMismatch"
    assert listed(simulator, "vcda_a") == []


# -- task failures --------------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["FAILED", "CANCELED"])
def test_a_failed_or_canceled_task_fails_with_its_code_and_msg_and_no_stacktrace(
        ansible, simulator, vcda, state):
    a, b = vcda
    simulator.command("vcda_a", "fail_next_task", state=state, code="ReplicatorUnavailable",
                      msg="No replicator is online.")
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]))
    assert run.rc != 0
    assert run.last["msg"].endswith("%s: vCDA error ReplicatorUnavailable: No replicator is online." % state)
    assert run.last["task"]["state"] == state
    assert "vendor_stacktrace" not in run.last
    assert "com.vmware" not in run.output and "stacktrace" not in run.output


def test_the_vendor_stacktrace_is_returned_apart_at_vvv(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "fail_next_task", code="ReplicatorUnavailable", msg="No replicator.")
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]), verbosity=3)
    assert run.rc != 0
    assert run.last["vendor_stacktrace"].startswith("com.vmware.h4.api.error.exceptions.")
    assert "com.vmware" not in run.last["msg"] and "stacktrace" not in run.last["task"]["error"]


def test_a_task_still_running_at_the_deadline_names_its_progress(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "set_task_seconds", seconds=30)
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"], wait_timeout=2))
    assert run.rc != 0
    assert "Timed out after 2 s waiting for vCDA task" in run.last["msg"]
    assert "last state: RUNNING (progress " in run.last["msg"]
    assert 0 <= run.last["task"]["progress"] < 100


# -- unpairing -------------------------------------------------------------------------------------
def test_absent_unpairs_and_waits_for_the_task(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, state="absent"))
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["task"]["state"] == "SUCCEEDED"
    deletes = simulator.log(since=mark, appliance="vcda_a", method="DELETE", path=SITE)
    assert [e["path"] for e in deletes] == ["/sites/%s" % b["site_id"]]
    assert listed(simulator, "vcda_a") == []


def test_absent_when_not_paired_changes_nothing(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, state="absent"))
    assert run.rc == 0, run
    assert run.last["changed"] is False and count(simulator, mark, "DELETE", SITE) == 0


def test_absent_in_check_mode_sends_no_delete(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, state="absent"), check=True)
    assert run.rc == 0 and run.last["changed"] is True, run
    assert count(simulator, mark, "DELETE", SITE) == 0 and len(listed(simulator, "vcda_a")) == 1


# -- a POST whose reply may be lost is not sent again: the pairings are read instead --------------
def test_a_post_answered_503_is_not_resent_and_a_rerun_pairs(ansible, simulator, vcda):
    a, b = vcda
    simulator.fault(appliance="vcda_a", method="POST", path=SITES, kind="status", status=503)
    args = pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"])
    mark = simulator.mark()
    run = ansible.module(MODULE, args)
    assert run.rc != 0
    assert "HTTP 503" in run.last["msg"] and "The request was not sent again" in run.last["msg"]
    assert count(simulator, mark, "POST", SITES) == 1
    assert ansible.module(MODULE, args).last["changed"] is True  # the re-run is safe
    assert len(listed(simulator, "vcda_a")) == 1


def test_a_post_whose_reply_is_lost_is_found_by_reading_the_pairings(ansible, simulator, vcda):
    a, b = vcda
    # vCDA handles the POST after 3 s; the module gave up on the reply after 1 s.
    simulator.fault(appliance="vcda_a", method="POST", path=SITES, kind="timeout", seconds=3)
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"], timeout=1))
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["site"]["site"] == "site-b"
    assert any("The request was not sent again: GET /sites shows the pairing" in w
               for w in run.last["warnings"])
    assert count(simulator, mark, "POST", SITES) == 1


# -- sessions and secrets -------------------------------------------------------------------------
def test_wrong_password_is_a_clear_401_and_nothing_else_is_sent(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, password="Not-%s" % a["password"]))
    assert run.rc != 0
    assert run.last["msg"].startswith("vCDA refused the login of root with auth_type localUser: POST "
                                      "/sessions: HTTP 401 Unauthorized, vCDA error NotAuthenticated")
    assert run.last["status_code"] == 401
    assert [(e["method"], e["path"]) for e in simulator.log(since=mark, appliance="vcda_a")] == [
        ("POST", "/sessions")]


@pytest.mark.parametrize("auth_type", ["vcdCredentials", "ssoCredentials"])
def test_other_account_kinds_log_in_with_their_own_fields(ansible, simulator, vcda, auth_type):
    a, b = vcda
    account = a["credentials"][auth_type]
    run = ansible.module(MODULE, pairing(a, b, simulator, auth_type=auth_type, username=account["username"],
                                         password=account["password"]), check=True)
    assert run.rc == 0, run


def test_the_session_is_closed_after_success_and_after_failure(ansible, simulator, vcda):
    a, b = vcda
    mark = simulator.mark()
    good = ansible.module(MODULE, pairing(a, b, simulator), check=True)
    bad = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint="SHA-256:" + ":".join(["AB"] * 32)))
    assert good.rc == 0 and bad.rc != 0
    assert count(simulator, mark, "POST", "^/sessions$") == 2
    assert count(simulator, mark, "DELETE", "^/sessions$") == 2
    assert simulator.command("vcda_a", "tokens")["active"] == []


def test_an_expired_session_is_renewed_once_while_waiting(ansible, simulator, vcda):
    a, b = vcda
    simulator.fault(appliance="vcda_a", method="GET", path=TASKS, kind="expire_session", skip=1)
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]))
    assert run.rc == 0, run
    assert count(simulator, mark, "POST", "^/sessions$") == 2
    assert count(simulator, mark, "POST", SITES) == 1


@pytest.mark.parametrize("case", ["success", "task_failure", "bad_password"])
def test_tokens_and_password_never_appear_even_with_vvvv(ansible, simulator, vcda, case):
    a, b = vcda
    args = pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"])
    if case == "task_failure":
        simulator.command("vcda_a", "fail_next_task")
    if case == "bad_password":
        args["password"] = "Wrong-%s" % a["password"]
    run = ansible.module(MODULE, args, verbosity=4)
    assert (run.rc == 0) == (case == "success"), run
    tokens = simulator.command("vcda_a", "tokens")["issued"]
    assert len(tokens) == (0 if case == "bad_password" else 1)
    for secret in tokens + [args["password"]]:
        assert secret not in run.output


def test_environment_variables_are_the_fallbacks(ansible, simulator, vcda):
    a, b = vcda
    env = {"VCDA_HOST": a["url"], "VCDA_USERNAME": a["username"], "VCDA_PASSWORD": a["password"],
           "VCDA_CA_PATH": simulator.config["ca_path"]}
    run = ansible.module(MODULE, {"peer_api_url": b["api_url"], "peer_api_thumbprint": b["thumbprint"]},
                         env=env, check=True)
    assert run.rc == 0, run
    assert run.last["changed"] is True


# -- bad input: a clear message naming the option, and no request sent --------------------------
@pytest.mark.parametrize("override, fragment", [
    ({"peer_api_thumbprint": "AA:BB:CC"}, "peer_api_thumbprint: must be a SHA-256 thumbprint in the form"),
    ({"peer_api_thumbprint": "SHA-256:" + ":".join(["AB"] * 31)}, "peer_api_thumbprint: must be a SHA-256"),
    ({"peer_api_url": "vcda-b.example.com"}, "peer_api_url: must be an https:// URL"),
    ({"peer_api_url": "http://vcda-b.example.com"}, "vCDA serves its API over https only"),
    ({"peer_api_url": "https://vcda-b.example.com:99999"}, "peer_api_url: port must be a number"),
    ({"auth_type": "token"}, "value of auth_type must be one of: localUser, ssoCredentials, vcdCredentials"),
    ({"auth_type": "vcdCredentials"}, "username: with auth_type vcdCredentials must be user@organization"),
    ({"wait_timeout": 0}, "wait_timeout: must be from 1 to 86400, got 0"),
    ({"state": "paired"}, "value of state must be one of: present, absent"),
    ({"password": None}, "password: is required"),
    ({"peer_api_url": None}, "missing required arguments: peer_api_url"),
])
def test_bad_input_is_refused_before_any_request(ansible, simulator, vcda, override, fragment):
    a, b = vcda
    assert_refused_before_any_request(ansible, simulator, MODULE, pairing(a, b, simulator), override, fragment,
                                      ["vcda_a", "vcda_b"])


# -- re-pairing after a certificate change (update_thumbprint) ----------------------------------------
def refresh(sim):
    sim.config = sim.call("GET", "/config")
    return sim.appliance("vcda_a"), sim.appliance("vcda_b")


def test_a_rotated_certificate_fails_by_default_then_update_thumbprint_repairs_with_one_put(
        ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b", description="old")
    simulator.command("vcda_b", "pair_directly", peer="vcda_a")
    rotated = simulator.command("vcda_b", "rotate_certificate")
    a, b = refresh(simulator)
    assert rotated["thumbprint"] == b["thumbprint"] != rotated["old_thumbprint"]
    record = listed(simulator, "vcda_a")[0]
    assert record["state"]["outgoingCommError"]["code"] == "CertificateThumbprintMismatch"

    mark = simulator.mark()
    refused = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"]))
    assert refused.rc != 0
    assert rotated["old_thumbprint"] in refused.last["msg"] and b["thumbprint"] in refused.last["msg"]
    assert "update_thumbprint: true" in refused.last["msg"]
    assert count(simulator, mark, "PUT", SITE) == 0

    preview = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"],
                                             update_thumbprint=True), check=True)
    assert preview.rc == 0 and preview.last["changed"] is True, preview
    assert count(simulator, mark, "PUT", SITE) == 0

    run = ansible.playbook("vcda_repair.yml", extra_vars={
        "vcda_a": {"host": a["host"], "password": a["password"], "username": a["username"]},
        "peer_url": b["api_url"], "thumbprint": b["thumbprint"], "ca_path": simulator.config["ca_path"]})
    assert run.rc == 0, run
    repaired = run.task("Re-pair")
    assert repaired["changed"] is True and repaired["task"]["state"] == "SUCCEEDED"
    assert repaired["diff"]["before"]["apiThumbprint"] == rotated["old_thumbprint"]
    assert repaired["diff"]["after"]["apiThumbprint"] == b["thumbprint"]
    puts = simulator.log(since=mark, appliance="vcda_a", method="PUT", path=SITE)
    assert len(puts) == 1 and puts[0]["path"] == "/sites/" + b["site_id"]
    assert listed(simulator, "vcda_a")[0]["apiThumbprint"] == b["thumbprint"]
    assert listed(simulator, "vcda_a")[0]["state"] == {}
    again = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"],
                                           update_thumbprint=True))
    assert again.rc == 0 and again.last["changed"] is False
    assert count(simulator, mark, "PUT", SITE) == 1


def test_a_changed_description_is_updated_with_one_put(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b", description="old text")
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"],
                                         description="DR site B"))
    assert run.rc == 0 and run.last["changed"] is True, run
    assert count(simulator, mark, "PUT", SITE) == 1
    assert listed(simulator, "vcda_a")[0]["description"] == "DR site B"


def test_update_thumbprint_needs_state_present(ansible, simulator, vcda):
    a, b = vcda
    assert_refused_before_any_request(ansible, simulator, MODULE, pairing(a, b, simulator),
                                      {"update_thumbprint": True, "state": "absent"},
                                      "update_thumbprint: only applies with state: present", ["vcda_a", "vcda_b"])


# -- replication_site_info ----------------------------------------------------------------------------
def test_site_info_reports_health_and_readable_problems_without_stack_traces(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    info = {"host": a["host"], "username": a["username"], "password": a["password"],
            "ca_path": simulator.config["ca_path"]}
    run = ansible.module("replication_site_info", info)
    assert run.rc == 0, run
    result = run.last
    assert result["changed"] is False and result["local_site"]["site"] == "site-a"
    assert [s["site"] for s in result["sites"]] == ["site-b"] and result["unhealthy"] == 1
    site = result["sites"][0]
    assert site["healthy"] is False
    assert site["problems"] == ["outgoing: SiteNotPaired: Site site-b has not paired with site site-a yet."]
    assert "stacktrace" not in run.output and "at com.vmware" not in run.output
    simulator.command("vcda_b", "pair_directly", peer="vcda_a")
    healthy = ansible.module("replication_site_info", dict(info, peer_api_url=b["api_url"]))
    assert healthy.last["unhealthy"] == 0 and healthy.last["sites"][0]["healthy"] is True
    assert healthy.last["sites"][0]["problems"] == []
    simulator.command("vcda_a", "set_comm_error", peer="vcda_b", direction="incoming", code="SiteUnreachable",
                      msg="Cannot reach the remote site.")
    sick = ansible.module("replication_site_info", info)
    assert sick.last["sites"][0]["problems"] == ["incoming: SiteUnreachable: Cannot reach the remote site."]
    none = ansible.module("replication_site_info", dict(info, peer_api_url="https://nowhere.example.com"))
    assert none.rc == 0 and none.last["sites"] == [] and none.last["unhealthy"] == 0
    assert none.last["warnings"] == ["%s has no pairing with https://nowhere.example.com (its paired sites: "
                                     "site-b at %s/)." % (a["host"], b["api_url"])]


def test_site_info_logs_in_and_out_once_and_prints_no_secret_at_vvvv(ansible, simulator, vcda):
    a, b = vcda
    simulator.command("vcda_a", "pair_directly", peer="vcda_b")
    mark = simulator.mark()
    run = ansible.module("replication_site_info", {"host": a["host"], "username": a["username"],
                                                   "password": a["password"], "ca_path": simulator.config["ca_path"]},
                         verbosity=4)
    assert run.rc == 0, run
    assert [(e["method"], e["path"]) for e in simulator.log(since=mark, appliance="vcda_a")] == [
        ("POST", "/sessions"), ("GET", "/sites"), ("DELETE", "/sessions")]
    for secret in simulator.command("vcda_a", "tokens")["issued"] + [a["password"]]:
        assert secret not in run.output


# -- re-pairing: Cloud Director sites, lost replies, unpinned thumbprints, the record's own URL --------
def rotated_pairing(sim, **pair):
    """A and B paired both ways, then B's certificate replaced: A's record of B is stale."""
    sim.command("vcda_a", "pair_directly", peer="vcda_b", **pair)
    sim.command("vcda_b", "pair_directly", peer="vcda_a")
    rotated = sim.command("vcda_b", "rotate_certificate")
    a, b = refresh(sim)
    return a, b, rotated


def test_a_cloud_director_site_without_an_id_is_re_paired_by_its_site_name(ansible, simulator, vcda):
    a, b, rotated = rotated_pairing(simulator, cloud_director=True)
    assert "id" not in listed(simulator, "vcda_a")[0]
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"], update_thumbprint=True,
                                         wait_sleep=1))
    assert run.rc == 0, run
    assert [e["path"] for e in simulator.log(since=mark, appliance="vcda_a", method="PUT")] == ["/sites/site-b"]
    assert listed(simulator, "vcda_a")[0]["apiThumbprint"] == b["thumbprint"] != rotated["old_thumbprint"]


def test_a_re_pair_whose_reply_is_lost_is_found_by_reading_the_pairings_and_not_resent(ansible, simulator, vcda):
    a, b, rotated = rotated_pairing(simulator)
    # vCDA takes the PUT after 3 s; the module gave up on the reply after 1 s.
    simulator.fault(appliance="vcda_a", method="PUT", path=SITE, kind="timeout", seconds=3)
    mark = simulator.mark()
    run = ansible.module(MODULE, pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"], update_thumbprint=True,
                                         timeout=1, wait_sleep=1))
    assert run.rc == 0, run
    assert run.last["changed"] is True and run.last["site"]["apiThumbprint"] == b["thumbprint"]
    assert any("The request was not sent again: GET /sites shows the pairing with %s re-paired" % b["api_url"] in w
               for w in run.last["warnings"]), run.last.get("warnings")
    assert count(simulator, mark, "PUT", SITE) == 1
    assert listed(simulator, "vcda_a")[0]["state"] == {}


def test_update_thumbprint_without_a_pinned_thumbprint_re_pairs_and_warns_loudly(ansible, simulator, vcda):
    a, b, rotated = rotated_pairing(simulator)
    run = ansible.module(MODULE, pairing(a, b, simulator, update_thumbprint=True, wait_sleep=1))
    assert run.rc == 0 and run.last["changed"] is True, run
    loud = [w for w in run.last["warnings"] if "WITHOUT A PINNED peer_api_thumbprint" in w]
    assert len(loud) == 1 and rotated["old_thumbprint"] in loud[0] and b["thumbprint"] in loud[0]
    assert "man in the middle" in loud[0]


def test_a_re_pair_keeps_the_record_s_api_url_when_peer_api_url_is_written_differently(ansible, simulator, vcda):
    a, b, rotated = rotated_pairing(simulator)
    stored = listed(simulator, "vcda_a")[0]["apiUrl"]
    other_spelling = b["api_url"].rstrip("/").replace("https://", "HTTPS://")
    assert other_spelling != stored
    run = ansible.module(MODULE, dict(pairing(a, b, simulator, peer_api_thumbprint=b["thumbprint"],
                                              update_thumbprint=True, wait_sleep=1), peer_api_url=other_spelling))
    assert run.rc == 0 and run.last["changed"] is True, run
    record = listed(simulator, "vcda_a")[0]
    assert record["apiUrl"] == stored and record["apiThumbprint"] == b["thumbprint"]
