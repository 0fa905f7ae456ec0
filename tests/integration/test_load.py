"""100 concurrent tasks across the five appliances, 10% of reads answered by a 503 proxy page.

Every task must succeed; no appliance may accept more requests in a second than its configured
rate limit (it answers 429 beyond, and the modules honour Retry-After); each ZStack change is
accepted once.
"""

import bisect
import json
import sys
from collections import Counter

RATE_LIMIT = 40   # requests per second and per client the simulated appliances accept
PER_APPLIANCE = 20
KINDS = ["nsxt", "zstack", "vcda", "ontap", "customer_connect"]
LOG_NAMES = {"nsxt": "nsxt", "zstack": "zstack", "vcda": "vcda_a", "ontap": "ontap",
             "customer_connect": "customer_connect"}


def targets(sim):
    """One object per host: sessions, connections, SVMs and requests made for this test."""
    made = {
        "nsxt": [s["session_id"] for s in
                 sim.command("nsxt", "create_sessions", count=PER_APPLIANCE, realize_min=1, realize_max=3)["sessions"]],
        "zstack": [sim.command("zstack", "create_connection", state="Enabled", job_seconds=1)["uuid"]
                   for _index in range(PER_APPLIANCE)],
        "vcda": ["site-b"] * PER_APPLIANCE,
        "ontap": ["svm%03d" % i for i in range(PER_APPLIANCE)],
        "customer_connect": [sim.command("customer_connect", "create_request", complete_after=1 + i % 3)["request_id"]
                             for i in range(PER_APPLIANCE)],
    }
    sim.command("vcda_a", "restore")
    sim.command("vcda_a", "pair_directly", peer="vcda_b")  # 20 concurrent re-runs of a pairing: reads only
    return made


def test_a_hundred_concurrent_tasks_with_injected_503s_all_succeed(ansible, simulator, tmp_path):
    made = targets(simulator)
    hosts = {}
    for index in range(PER_APPLIANCE * len(KINDS)):
        kind = KINDS[index % len(KINDS)]
        hosts["load-%03d" % index] = {"load_kind": kind, "load_target": made[kind][index // len(KINDS)],
                                      "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": {"load_sim": simulator.config}}}))
    for name in set(LOG_NAMES.values()):
        simulator.call("POST", "/appliances/%s/limits" % name, {"rate_limit": RATE_LIMIT, "concurrency_limit": 40})
        simulator.fault(appliance=name, method="GET", kind="html", status=503, probability=0.1, count=None)
    mark = simulator.mark()
    try:
        run = ansible.playbook("load.yml", args=["-i", str(inventory), "--forks", "50"], timeout=900)
    finally:
        simulator.clear_faults()
        for name in set(LOG_NAMES.values()):
            simulator.call("POST", "/appliances/%s/limits" % name, {"rate_limit": None, "concurrency_limit": None})
        # NSX enforces limits of its own (100 requests/s, 40 at once): put them back.
        simulator.call("POST", "/appliances/nsxt/limits", {"rate_limit": 100, "concurrency_limit": 40})
        simulator.command("vcda_a", "restore")
    ok = [r for r in run.results if r["status"] == "ok"]
    failed = [r for r in run.results if r["status"] == "failed"]
    assert run.rc == 0 and not failed, [r["result"].get("msg") for r in failed][:5]
    assert len(ok) == PER_APPLIANCE * len(KINDS), len(ok)
    log = simulator.log(since=mark)
    assert len([e for e in log if e["fault"] == "html"]) >= 10, "too few 503s were injected to mean anything"
    for kind, name in LOG_NAMES.items():
        # Requests the appliance itself let through (not the 503 pages the faulty proxy in front
        # of it answered), at the moment it did: no second may hold more than the limit.
        admitted = sorted(e["admitted"] for e in log if e["appliance"] == name and e["admitted"] is not None)
        assert admitted, name
        busiest = max(bisect.bisect_left(admitted, t + 1.0) - i for i, t in enumerate(admitted))
        assert busiest <= RATE_LIMIT, "%s accepted %d requests within one second" % (name, busiest)
    # One change per connection, applied once: a PUT refused with 429 was not processed (and is
    # sent again after Retry-After); every other PUT must be the only one of its connection.
    puts = [e for e in log if e["appliance"] == "zstack" and e["method"] == "PUT" and e["path"].endswith("/actions")]
    accepted = Counter(e["path"] for e in puts if e["status"] != 429)
    assert sorted(accepted.values()) == [1] * PER_APPLIANCE, accepted
