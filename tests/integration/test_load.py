"""100 concurrent tasks across the five appliances: each appliance first rate-limited while the
burst of its 20 tasks starts, then behind a proxy that answers 10% of reads with a 503 page.

The playbook runs one task per platform on all hosts: the 20 modules of a platform start at
once, as a fleet of AWX jobs does. From the first request that reaches an appliance, a watcher
turns its rate limit on (RATE_LIMIT requests per second for all tasks together; 429 with
``Retry-After: 1`` beyond) for WINDOW seconds; then it turns the limit off and puts the proxy's
503 pages in front of it. A module that honours Retry-After spends more than 3 s on four
attempts of one request (``retries: 3``), so it cannot run out of retries inside one window; a
limit kept on for the whole run would, with 20 tasks polling above it, end some task with its
fourth 429 however well it backs off, and the two kinds of fault at once would do the same.
NSX keeps its own limits (100 requests/s, 40 at once), which this load does not reach: its 429
carries no Retry-After, as the real one's (test_nsxt.py covers that backoff).

What the MODULES must do, read from the simulator's request log:

- every task succeeds: they wait out the 429s and the 503 pages and still finish;
- the limiters really refused requests (at least MIN_REFUSED 429s in the run), so backing off
  was exercised and not merely available;
- they back off: after a 429, the next request on the same connection comes at least
  MIN_PAUSE seconds later (the log records each request's client address and port; a module
  keeps its connection alive). A client that ignores Retry-After comes back after its own
  0.25-0.5 s backoff;
- the 429s they provoke stay few: per appliance at most REFUSED_PER_ADMITTED per request it
  admitted;
- each ZStack change is accepted once (one 2xx PUT per connection, whatever was refused).

That an appliance never admits more than its limit in a second is the limiter's own property,
checked by the simulator self-test in test_simulator_selftest.py, not here.
"""

import json
import sys
import threading
import time
from collections import Counter, defaultdict

RATE_LIMIT = 10   # requests per second, for all tasks together (one client address)
WINDOW = 2.5      # seconds each appliance is rate-limited, from its first request of the run
PER_APPLIANCE = 20
KINDS = ["nsxt", "zstack", "vcda", "ontap", "customer_connect"]
LOG_NAMES = {"nsxt": "nsxt", "zstack": "zstack", "vcda": "vcda_a", "ontap": "ontap",
             "customer_connect": "customer_connect"}
LIMITED = ["zstack", "vcda_a", "ontap", "customer_connect"]
MIN_REFUSED = 5
REFUSED_PER_ADMITTED = 1.0
MIN_PAUSE = 0.9   # seconds; Retry-After is 1 and the log's times are those of the answers


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


def proxy_503s(sim, name):
    sim.fault(appliance=name, method="GET", kind="html", status=503, probability=0.1, count=None)


class BurstLimiter(threading.Thread):
    """Turns an appliance's rate limit on when the first request of the run reaches it, and off
    WINDOW seconds later, when the proxy's 503 pages start; records when (``windows``)."""

    def __init__(self, sim, since):
        super().__init__(daemon=True)
        self.sim = sim
        self.since = since
        self.stop = threading.Event()
        self.windows = {}   # appliance -> (on, off) wall-clock times
        self.error = None

    def limit(self, name, rate):
        self.sim.call("POST", "/appliances/%s/limits" % name, {"rate_limit": rate})

    def end(self, name, started):
        self.limit(name, None)
        proxy_503s(self.sim, name)
        self.windows[name] = (started, time.time())

    def run(self):
        try:
            waiting, on = set(LIMITED), {}
            while (waiting or on) and not self.stop.is_set():
                for entry in self.sim.log(since=self.since):
                    self.since = max(self.since, entry["seq"])
                    if entry["appliance"] in waiting:
                        waiting.discard(entry["appliance"])
                        self.limit(entry["appliance"], RATE_LIMIT)
                        on[entry["appliance"]] = time.time()
                for name, started in list(on.items()):
                    if time.time() - started >= WINDOW:
                        self.end(name, started)
                        del on[name]
                time.sleep(0.05)
            for name, started in on.items():
                self.end(name, started)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc


def refused_by_limiter(entries):
    """429s the appliance's own limiter answered (not injected faults)."""
    return [e for e in entries if e["appliance_status"] == 429 and not e["fault"]]


def pauses_after_429(log, refused):
    """For each refused request, the seconds until the next request on the same connection."""
    by_connection = defaultdict(list)
    for entry in log:
        by_connection[(entry["appliance"], entry["client"])].append(entry)
    refused_seqs = set(e["seq"] for e in refused)
    pauses = []
    for entries in by_connection.values():
        entries.sort(key=lambda e: e["seq"])
        for first, then in zip(entries, entries[1:]):
            if first["seq"] in refused_seqs:
                pauses.append((round(then["time"] - first["time"], 3), first["appliance"], first["path"]))
    return pauses


def test_a_hundred_concurrent_tasks_back_off_on_429_and_503_and_all_succeed(ansible, simulator, tmp_path):
    made = targets(simulator)
    hosts = {}
    for index in range(PER_APPLIANCE * len(KINDS)):
        kind = KINDS[index % len(KINDS)]
        hosts["load-%03d" % index] = {"load_kind": kind, "load_target": made[kind][index // len(KINDS)],
                                      "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": {"load_sim": simulator.config}}}))
    for name in LIMITED:
        simulator.call("POST", "/appliances/%s/limits" % name, {"rate_limit": None, "concurrency_limit": 40})
    proxy_503s(simulator, "nsxt")
    mark = simulator.mark()
    limiter = BurstLimiter(simulator, mark)
    limiter.start()
    try:
        run = ansible.playbook("load.yml", args=["-i", str(inventory), "--forks", "50"], timeout=900)
    finally:
        limiter.stop.set()
        limiter.join(30)
        simulator.clear_faults()
        for name in set(LOG_NAMES.values()):
            simulator.call("POST", "/appliances/%s/limits" % name, {"rate_limit": None, "concurrency_limit": None})
        # NSX enforces limits of its own (100 requests/s, 40 at once): put them back.
        simulator.call("POST", "/appliances/nsxt/limits", {"rate_limit": 100, "concurrency_limit": 40})
        simulator.command("vcda_a", "restore")
    assert limiter.error is None, limiter.error
    ok = [r for r in run.results if r["status"] == "ok"]
    failed = [r for r in run.results if r["status"] == "failed"]
    log = simulator.log(since=mark)
    if failed:  # what the appliance saw of each failed request, and when it was limited
        paths = set(r["result"].get("path") for r in failed)
        seen = [(e["seq"], round(e["time"] % 100, 3), e["method"], e["path"], e["status"], e["fault"], e["client"])
                for e in log if e["path"] in paths]
        raise AssertionError("%s\nlimited: %s\n%s" % ([r["result"].get("msg") for r in failed][:5],
                                                      limiter.windows, "\n".join(map(str, seen))))
    assert run.rc == 0, run
    assert len(ok) == PER_APPLIANCE * len(KINDS), len(ok)
    assert "Traceback" not in run.output
    assert len([e for e in log if e["fault"] == "html"]) >= 10, "too few 503s were injected to mean anything"
    assert sorted(limiter.windows) == sorted(LIMITED), limiter.windows

    refused = refused_by_limiter(log)
    figures = {}
    for name in sorted(set(LOG_NAMES.values())):
        admitted = len([e for e in log if e["appliance"] == name and e["admitted"] is not None])
        denied = len([e for e in refused if e["appliance"] == name])
        figures[name] = (admitted, denied)
    print("admitted, refused with 429 per appliance: %s" % figures)
    assert len(refused) >= MIN_REFUSED, "the limiters refused only %d requests: backing off was not exercised " \
        "(%s)" % (len(refused), figures)
    pauses = pauses_after_429(log, refused)
    assert pauses, "no request followed a 429 on its connection"
    hasty = [p for p in pauses if p[0] < MIN_PAUSE]
    assert not hasty, "requests sent again sooner than Retry-After: %s" % hasty[:10]
    for name, (admitted, denied) in figures.items():
        assert admitted, name
        assert denied <= REFUSED_PER_ADMITTED * admitted, \
            "%s: the modules provoked %d 429s for %d admitted requests" % (name, denied, admitted)

    # One change per connection, applied once: a PUT refused with 429 was not processed (and is
    # sent again after Retry-After); the appliance accepted exactly one PUT per connection.
    puts = [e for e in log if e["appliance"] == "zstack" and e["method"] == "PUT" and e["path"].endswith("/actions")]
    accepted = Counter(e["path"] for e in puts if 200 <= (e["appliance_status"] or 0) < 300)
    assert sorted(accepted.values()) == [1] * PER_APPLIANCE, accepted
