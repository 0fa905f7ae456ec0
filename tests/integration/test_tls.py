"""TLS as operators need it: verified by default, private CAs, no silent overrides, names checked."""

import pytest

MODULE = "vpn_session_realization_info"


def args(sim, appliance="nsxt", **extra):
    app = sim.appliance(appliance)
    base = {"host": app["host"], "username": app["username"], "password": app["password"],
            "session_id": app["samples"]["session_id"], "wait": False}
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def test_an_untrusted_certificate_fails_clearly_by_default(ansible, simulator):
    run = ansible.module(MODULE, args(simulator))
    assert run.rc != 0
    assert "TLS failed" in run.last["msg"] and "CERTIFICATE_VERIFY_FAILED" in run.last["msg"]
    assert "set ca_path to the CA that signed it" in run.last["msg"]


def test_ca_path_trusts_a_private_ca(ansible, simulator):
    run = ansible.module(MODULE, args(simulator, ca_path=simulator.config["ca_path"]))
    assert run.rc == 0, run


def test_requests_ca_bundle_does_not_override_ca_path(ansible, simulator):
    # The system bundle does not hold the simulator's CA: were it used, verification would fail.
    run = ansible.module(MODULE, args(simulator, ca_path=simulator.config["ca_path"]),
                         env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
                              "CURL_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"})
    assert run.rc == 0, run


def test_a_wrong_ca_path_is_not_rescued_by_requests_ca_bundle(ansible, simulator):
    run = ansible.module(MODULE, args(simulator, ca_path="/etc/ssl/certs/ca-certificates.crt"),
                         env={"REQUESTS_CA_BUNDLE": simulator.config["ca_path"]})
    assert run.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in run.last["msg"]


def test_validate_certs_false_connects_without_verification(ansible, simulator):
    run = ansible.module(MODULE, args(simulator, validate_certs=False))
    assert run.rc == 0, run


def test_the_environment_can_turn_verification_off_and_point_at_a_ca(ansible, simulator):
    app = simulator.appliance("nsxt")
    base = {"session_id": app["samples"]["session_id"], "wait": False}
    env = {"NSXT_MANAGER_HOST": app["host"], "NSXT_USERNAME": app["username"], "NSXT_PASSWORD": app["password"]}
    off = ansible.module(MODULE, base, env=dict(env, NSXT_VALIDATE_CERTS="false"))
    trusted = ansible.module(MODULE, base, env=dict(env, NSXT_CA_PATH=simulator.config["ca_path"]))
    assert off.rc == 0 and trusted.rc == 0, (off, trusted)


@pytest.mark.parametrize("with_ca_path", [True, False])
def test_a_certificate_for_another_host_name_is_refused(ansible, simulator, with_ca_path):
    ca = simulator.config["ca_path"] if with_ca_path else None
    run = ansible.module(MODULE, args(simulator, "nsxt_wrong_name", ca_path=ca))
    assert run.rc != 0
    assert "TLS failed" in run.last["msg"]
    if with_ca_path:
        assert "mismatch" in run.last["msg"], run.last["msg"]
        assert "The certificate does not name this host" in run.last["msg"]
