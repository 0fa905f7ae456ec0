"""`make bench`: hybridcloud.ops measured side by side with what users would otherwise run, and
with the floor - what Ansible itself costs for the same job - measured in the same run.

Every row is one figure of one scenario: ours, the alternative, the floor, and the ratios, next
to the SPEC section 4 target. Figures are medians of the runs made in the same session against
the same simulator. The floors: a task that only sleeps as long as the wait
(``ansible.builtin.command: sleep N``), or ``bench_records`` (tests/bench/playbooks/library, not
part of the collection), a trivial module that returns the same records from memory. A scenario
whose feature is not in the working tree yet prints "not yet" and is not a failure; a scenario
that fails is recorded as failed, the others still run, and the exit status is 1. Writes
<out>/results.json and <out>/results.md. Not a test: nothing here asserts on time.

    PYTHONPATH=tests .venv/bin/python tests/bench/run.py --out .build/bench [--runs N]
        [--scenario wait_lag --scenario single_read --scenario vscan --scenario vscan_health
         --scenario zstack_many --scenario policy_state --scenario fleet]
    .venv/bin/python tests/bench/run.py --out .build/bench --readme   # README.md's table from results.json

It runs the collection installed in $ANSIBLE_COLLECTIONS_PATH (`make bench` installs the working
tree there first), else it builds and installs the working tree itself.
"""

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
import urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

from integration.harness import Ansible, Simulator, build_collection  # noqa: E402

PLAYBOOKS = os.path.join(HERE, "playbooks")
STATE_PATH = "/api/v1/vpn/ipsec/sessions/%s/state"
# Seconds this machine (2 CPUs) may spend on the whole bench; run counts are budgeted to fit, and
# a full run that takes longer says so (issue 16: every scenario within 30 minutes).
BUDGET_S = 30 * 60
README_BEGIN, README_END = "<!-- bench-table -->", "<!-- /bench-table -->"


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def in_tree(relative, text):
    """Whether a file of the working tree (the collection under test) contains ``text``."""
    try:
        with open(os.path.join(ROOT, relative)) as handle:
            return text in handle.read()
    except OSError:
        return False


class NotYet(Exception):
    """The feature a scenario measures is not in the working tree yet."""


def sim_command(sim, appliance, name, missing, **body):
    """A simulator control command; NotYet(``missing``) only when the simulator has no such command
    (its control API answers 404 "has no command"): any other error is a failure of the scenario."""
    try:
        return sim.command(appliance, name, **body)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        if exc.code == 404 and "has no command" in text:
            raise NotYet(missing)
        raise RuntimeError("simulator command %s/%s failed: HTTP %s %s" % (appliance, name, exc.code, text))


class ControllerMemory(threading.Thread):
    """Peak memory (sum of PSS, MiB) of the ansible-playbook processes the bench started: the
    controller and its workers, not the module processes nor the simulator."""

    def __init__(self, interval=0.1):
        super(ControllerMemory, self).__init__(daemon=True)
        self.interval = interval
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self):
        me = str(os.getpid())
        while not self.done.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.sample(me))
            except Exception:  # pylint: disable=broad-except  # a process that ended while it was read
                pass
            self.done.wait(self.interval)

    @staticmethod
    def sample(me):
        parents, total = {}, 0
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/stat" % pid) as handle:
                        parents[pid] = handle.read().rsplit(")", 1)[1].split()[1]
                except OSError:
                    continue
        for pid in parents:
            up, seen = parents.get(pid), 0
            while up and up != me and up in parents and seen < 64:
                up, seen = parents[up], seen + 1
            if up != me:
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    if b"ansible-playbook" not in handle.read():
                        continue
                with open("/proc/%s/smaps_rollup" % pid) as handle:
                    for line in handle:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                continue
        return total

    def stop(self):
        self.done.set()
        self.join()
        return self.peak_kb / 1024.0


class Bench:
    def __init__(self, out, runs, collections_path, peer_path=None):
        self.out = out
        self.runs = runs  # None: each scenario's own budgeted count
        work = tempfile.mkdtemp(prefix="work-", dir=out)
        self.collections_path = collections_path
        paths = collections_path if not peer_path else collections_path + os.pathsep + peer_path
        self.ansible = Ansible(paths, work)
        self.rows = []
        self.sims = []
        self.group = None  # the scenario (SCENARIOS key) being run
        self.group_runs = None  # its runs per figure
        self.failures = []
        self.launched = None  # epoch at which the last playbook was started

    def count(self, default):
        return self.runs if self.runs else default

    def simulator(self, **options):
        sim = Simulator(tempfile.mkdtemp(prefix="sim-", dir=self.out), options=options)
        self.sims.append(sim)
        return sim

    def stop(self):
        """Stop the simulators of the scenario that ended (the 100,000-server one holds memory)."""
        while self.sims:
            self.sims.pop().stop()

    def play(self, playbook, extra_vars, env=None, memory=False):
        """Run a playbook; return (run, wall s, CPU s of its whole process tree, controller MiB)."""
        env = dict(env or {}, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_results")
        sampler = ControllerMemory() if memory else None
        if sampler:
            sampler.start()
        self.launched = time.time()
        cpu0, wall0 = children_cpu(), time.monotonic()
        try:
            run = self.ansible.playbook(os.path.join(PLAYBOOKS, playbook), extra_vars=extra_vars, env=env,
                                        timeout=1800)
        finally:
            peak = sampler.stop() if sampler else None
        wall, cpu = time.monotonic() - wall0, children_cpu() - cpu0
        if run.rc != 0:
            raise RuntimeError("%s failed:\n%r" % (playbook, run))
        return run, wall, cpu, peak

    def startup(self, runs):
        """Wall and CPU of the same kind of playbook with one debug task (Ansible's fixed cost)."""
        walls, cpus = [], []
        for _run in range(runs):
            wall, cpu = self.play("startup.yml", {})[1:3]
            walls.append(wall)
            cpus.append(cpu)
        return median(walls), median(cpus)

    def records_file(self, name, body):
        path = os.path.join(self.out, "floor-%s.json" % name)
        with open(path, "w") as handle:
            json.dump(body, handle)
        return path

    def add(self, scenario, figure, ours, alternative=None, floor=None, target=None, met=None,
            names=None, samples=None, unit="", runs=None):
        """One row: our figure, the alternative's, the floor's, the ratios, the target. ``runs``:
        how many runs each variant had (ours, alternative, floor), by default the scenario's count."""
        def ratio(a, b):  # only of two positive figures (a lag before the instant, or a count of 0, has none)
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
            return round(a / b, 3) if numbers and a > 0 and b > 0 else None
        every = self.group_runs
        runs = dict(dict(ours=every, alternative=every if alternative is not None else None,
                         floor=every if floor is not None else None), **(runs or {}))
        row = dict(scenario=scenario, figure=figure, unit=unit, ours=ours, alternative=alternative, floor=floor,
                   ours_vs_alternative=ratio(ours, alternative), ours_vs_floor=ratio(ours, floor),
                   target=target, met=met, variants=names or {}, group=self.group, runs=runs,
                   measured=time.strftime("%Y-%m-%d %H:%M"), samples=samples or {})
        self.rows.append(row)
        shown = dict((k, v) for k, v in row.items() if k not in ("samples", "variants"))
        print("  " + json.dumps(shown), flush=True)

    def not_yet(self, scenario, why):
        print("  %s: not yet (%s)" % (scenario, why), flush=True)
        self.rows.append(dict(scenario=scenario, figure="not yet: %s" % why, group=self.group,
                              measured=time.strftime("%Y-%m-%d %H:%M"), samples={}))

    def failed(self, scenario, exc):
        """A scenario that broke: recorded as failed (the bench goes on, and exits 1 at the end)."""
        traceback.print_exc()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print("  %s: FAILED (%s)" % (scenario, first), flush=True)
        self.failures.append(scenario)
        self.rows.append(dict(scenario=scenario, figure="failed: %s: %s" % (type(exc).__name__, first[:300]),
                              group=self.group, measured=time.strftime("%Y-%m-%d %H:%M"), samples={}))


def rounded(value, digits=3):
    return None if value is None else round(value, digits)


def nsx_vars(sim):
    nsx = sim.appliance("nsxt")
    return {"nsx": {"host": nsx["host"], "url": nsx["url"], "username": nsx["username"],
                    "password": nsx["password"], "ca_path": sim.config["ca_path"]}}


def sleep_floor(bench, seconds):
    """Run the sleep floor: its wall, CPU, and lag (result handed back after the sleep ended)."""
    run, wall, cpu = bench.play("nsx_wait_floor.yml", {"seconds": seconds})[:3]
    task = [r for r in run.results if r["task"] == "Wait for the session"][-1]
    try:
        lag = task["end"] - (float(task["result"]["stdout"].split()[0]) + seconds)
    except (KeyError, ValueError, IndexError):
        lag = None
    return {"wall": wall, "cpu": cpu, "lag": lag}


# -- wait lag: an NSX session realized at t = N s (Manager ids; at 4 s also Policy paths) ------------
WAIT_LAG_TARGETS = {4: (0.5, 10, 0.1), 30: (2.0, 30, 0.2)}
REALIZED_ENTITIES = "/policy/api/v1/infra/realized-state/realized-entities"


def lag_rows(bench, scenario, realize_after, names, samples, extra=()):
    """The three rows of a wait: lag, status requests, CPU above start-up (ours, alternative, floor)."""
    lag_t, req_t, cpu_t = WAIT_LAG_TARGETS[realize_after]
    fields = ("lag", "requests", "cpu_above_startup") + tuple(extra)
    figures = dict((k, dict((f, median([s.get(f) for s in samples[k]])) for f in fields)) for k in names)
    ours, alt, floor = figures["ours"], figures["alternative"], figures["floor"]
    bench.add(scenario, "median lag after realization", rounded(ours["lag"]), rounded(alt["lag"]), rounded(floor["lag"]),
              "<= %s s" % lag_t, 0 <= ours["lag"] <= lag_t, names, samples, "s")
    bench.add(scenario, "median status requests", ours["requests"], alt["requests"], 0,
              "<= %d" % req_t, ours["requests"] <= req_t, names, unit="requests")
    bench.add(scenario, "median CPU above start-up", rounded(ours["cpu_above_startup"]),
              rounded(alt["cpu_above_startup"]), rounded(floor["cpu_above_startup"]),
              "<= floor + %s s" % cpu_t, ours["cpu_above_startup"] <= floor["cpu_above_startup"] + cpu_t,
              names, unit="s")
    return figures


def wait_lag(bench, realize_after, runs, policy=False):
    """t = 0 is the wait's first status read. A Manager session's clock starts there (the simulator's
    start_on_first_read). A Policy session's clock starts at its creation, made just before the
    playbook: it is created to realize ``realize_after`` s plus the time from the playbook's start to
    its first read that the same variant (ours, or the alternative) took in its earlier Policy runs
    (in the first round: in its Manager run); the row "realization after the first status read"
    shows how close that came."""
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_cpu = bench.startup(runs)[1]
    names = {"ours": "vpn_session_realization_info (defaults)", "alternative": "uri + until, delay: 1",
             "floor": "command: sleep %d" % realize_after}
    policy_names = {"ours": "vpn_session_realization_info (session_path, defaults)",
                    "alternative": "uri + until over realized-entities, delay: 1",
                    "floor": "command: sleep %d" % realize_after}
    variants = (("ours", "nsx_wait_ours.yml", "nsx_wait_policy_ours.yml", {}),
                ("alternative", "nsx_wait_uri.yml", "nsx_wait_policy_uri.yml", {"delay": 1}))
    samples = dict((k, []) for k in names)
    policy_samples = dict((k, []) for k in names) if policy else None
    for _run in range(runs):  # interleaved, so drift hits all alike
        floor = sleep_floor(bench, realize_after)
        floor = {"lag": floor["lag"], "requests": 0, "cpu_above_startup": floor["cpu"] - startup_cpu}
        samples["floor"].append(floor)
        if policy:
            policy_samples["floor"].append(dict(floor))
        for key, playbook, policy_playbook, extra in variants:
            made = sim.command("nsxt", "create_session", realize_after=realize_after, unknown_phase=True,
                               start_on_first_read=True)
            mark = sim.mark()
            run, _wall, cpu = bench.play(playbook, dict(base_vars, session_id=made["session_id"], **extra))[:3]
            launched = bench.launched
            realized_at = sim.command("nsxt", "realized_at", session_id=made["session_id"])["realized_at"]
            returned = [r for r in run.results if r["task"] == "Wait for the session"][-1]["end"]
            reads = [e for e in sim.log(since=mark, appliance="nsxt") if e["path"] == STATE_PATH % made["session_id"]]
            samples[key].append({"lag": returned - realized_at, "requests": len(reads),
                                 "cpu_above_startup": cpu - startup_cpu, "first_read_after_start": reads[0]["time"] - launched})
            if not policy:
                continue
            # the playbook's start to its first read: this variant's earlier Policy runs, else its Manager run
            offset = median([s["first_read_after_start"] for s in policy_samples[key]]) \
                or samples[key][-1]["first_read_after_start"]
            made = sim_command(sim, "nsxt", "create_policy_session", "the simulator has no Policy sessions",
                               realize_after=realize_after + offset)
            mark = sim.mark()
            run, _wall, cpu = bench.play(policy_playbook, dict(base_vars, session_path=made["path"], **extra))[:3]
            launched = bench.launched
            realized_at = sim.command("nsxt", "policy_session", path=made["path"])["realized_at"]
            returned = [r for r in run.results if r["task"] == "Wait for the session"][-1]["end"]
            reads = [e for e in sim.log(since=mark, appliance="nsxt") if e["path"] == REALIZED_ENTITIES]
            policy_samples[key].append({"lag": returned - realized_at, "requests": len(reads),
                                        "cpu_above_startup": cpu - startup_cpu,
                                        "first_read_after_start": reads[0]["time"] - launched,
                                        "realized_after_first_read": realized_at - reads[0]["time"]})
    lag_rows(bench, "wait_lag_%ds" % realize_after, realize_after, names, samples)
    if policy:
        scenario = "wait_lag_%ds_policy" % realize_after
        lag_rows(bench, scenario, realize_after, policy_names, policy_samples)
        ours, alt = (median([s["realized_after_first_read"] for s in policy_samples[k]]) for k in ("ours", "alternative"))
        bench.add(scenario, "median realization after the first status read (set-up check)", rounded(ours),
                  rounded(alt), realize_after, "about %d s" % realize_after, None, policy_names, unit="s")


def wait_lags(bench, runs):
    wait_lag(bench, 4, runs, policy=True)
    wait_lag(bench, 30, runs)


# -- one status read (wait: false), many times ------------------------------------------------------
def single_read(bench, runs, count=20):
    sim = bench.simulator()
    session_id = sim.appliance("nsxt")["samples"]["session_id"]
    base_vars = dict(nsx_vars(sim), session_id=session_id, count=count)
    # The floor returns the record both read, read once here.
    import requests
    nsx = base_vars["nsx"]
    state = requests.get(nsx["url"] + STATE_PATH % session_id, auth=(nsx["username"], nsx["password"]),
                         verify=nsx["ca_path"], timeout=30).json()
    base_vars["records_file"] = bench.records_file("nsx-state", {"session": state, "state": state.get("state")})
    startup_wall, startup_cpu = bench.startup(runs)
    names = {"ours": "vpn_session_realization_info (wait: false)", "alternative": "ansible.builtin.uri GET",
             "floor": "bench_records (same record from memory)"}
    playbooks = {"ours": "nsx_read_ours.yml", "alternative": "nsx_read_uri.yml", "floor": "nsx_read_floor.yml"}
    samples = dict((k, []) for k in names)
    for _run in range(runs):
        for key in names:
            wall, cpu = bench.play(playbooks[key], base_vars)[1:3]
            samples[key].append({"wall": (wall - startup_wall) / count, "cpu": (cpu - startup_cpu) / count})
    fig = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in ("wall", "cpu"))) for k in names)
    scenario = "single_read_x%d" % count
    for field, label in (("wall", "median wall per task"), ("cpu", "median CPU per task")):
        ours, alt = fig["ours"][field], fig["alternative"][field]
        bench.add(scenario, label, rounded(ours, 4), rounded(alt, 4), rounded(fig["floor"][field], 4),
                  "<= 1.0x uri", ours <= alt, names, samples if field == "wall" else None, "s")


# -- vscan servers: where netapp.ontap comes from -------------------------------------------------------
PEER_WHEEL = "ansible==12.3.0"  # the ansible package whose wheel carries netapp.ontap 23.2.0
PEER_PAGE = 1024  # na_ontap_rest_info's default max_records; ours runs with the same page size


def peer_collections(out):
    """netapp.ontap from the ansible wheel on PyPI (Galaxy is not reachable here)."""
    import glob
    import subprocess
    import zipfile
    root = os.path.join(out, "peer")
    if os.path.isdir(os.path.join(root, "ansible_collections", "netapp", "ontap")):
        return root
    cache = os.path.join(out, "wheels")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", cache, PEER_WHEEL],
                   check=True)
    wheel = zipfile.ZipFile(sorted(glob.glob(os.path.join(cache, "ansible-*.whl")))[-1])
    for name in wheel.namelist():
        if name.startswith("ansible_collections/netapp/ontap/"):
            wheel.extract(name, root)
    return root


def maxrss_interpreter(out):
    """A Python interpreter wrapper that records the peak RSS (KiB) of each module process."""
    path = os.path.join(out, "python-maxrss")
    with open(path, "w") as handle:
        handle.write("#!%s\n" % sys.executable + (
            "import os, resource, subprocess, sys\n"
            "rc = subprocess.call([os.environ['BENCH_REAL_PYTHON']] + sys.argv[1:])\n"
            "with open(os.environ['BENCH_MAXRSS_FILE'], 'a') as f:\n"
            "    f.write('%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(rc)\n"))
    os.chmod(path, 0o755)
    return path


def ontap_vars(bench, sim, servers):
    ontap = sim.appliance("ontap")
    wrapper = maxrss_interpreter(bench.out)
    rss_file = os.path.join(bench.out, "maxrss-%d.txt" % servers)
    extra = {"ontap": {"host": ontap["host"], "port": int(ontap["host"].rsplit(":", 1)[1]),
                       "hostname": ontap["host"].rsplit(":", 1)[0], "username": ontap["username"],
                       "password": ontap["password"], "ca_path": sim.config["ca_path"]},
             "page_size": PEER_PAGE, "ansible_python_interpreter": wrapper}
    env = {"BENCH_REAL_PYTHON": sys.executable, "BENCH_MAXRSS_FILE": rss_file,
           # the peer has no ca_path option: it trusts what requests trusts
           "REQUESTS_CA_BUNDLE": sim.config["ca_path"]}
    return extra, env, rss_file


def module_rss(rss_file):
    with open(rss_file) as handle:
        return max(int(line) for line in handle if line.strip()) / 1024.0


def direct_records(sim, query):
    """The records of the simulated cluster, read here over HTTP (for the floor's file)."""
    import requests
    ontap = sim.appliance("ontap")
    link, records = "/api/protocols/vscan/server-status?" + query, []
    while link:
        body = requests.get(ontap["url"] + link, auth=(ontap["username"], ontap["password"]),
                            verify=sim.config["ca_path"], headers={"Accept": "application/json"},
                            timeout=120).json()
        records += body.get("records", [])
        link = body.get("_links", {}).get("next", {}).get("href")
    return records


# -- 10,000 vscan servers, every record returned ---------------------------------------------------
def vscan_scale(bench, runs, servers=10000):
    sim = bench.simulator(**{"ontap.servers": servers})
    extra, env, rss_file = ontap_vars(bench, sim, servers)
    extra["records_file"] = bench.records_file("vscan-%d" % servers, {
        "servers": direct_records(sim, "fields=*&max_records=10000"), "count": servers})
    names = {"ours": "vscan_server_status_info", "alternative": "netapp.ontap na_ontap_rest_info",
             "floor": "bench_records (same records from memory)"}
    playbooks = {"ours": "ontap_read_ours.yml", "alternative": "ontap_read_peer.yml", "floor": "ontap_read_floor.yml"}
    samples = dict((k, []) for k in names)
    for _round in range(runs):
        for key in names:
            if os.path.exists(rss_file):
                os.remove(rss_file)
            mark = sim.mark()
            run = bench.play(playbooks[key], extra, env=env)[0]
            task = [r for r in run.results if r["task"] == "Read every vscan server status"][-1]
            samples[key].append({"task_wall": task["end"] - task["start"], "module_peak_rss_mb": module_rss(rss_file),
                                 "requests": len(sim.log(since=mark, appliance="ontap"))})
    fields = ("task_wall", "module_peak_rss_mb", "requests")
    fig = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in fields)) for k in names)
    ours, alt, floor = fig["ours"], fig["alternative"], fig["floor"]
    scenario = "vscan_%d_servers" % servers
    bench.add(scenario, "median task wall", rounded(ours["task_wall"], 2), rounded(alt["task_wall"], 2),
              rounded(floor["task_wall"], 2), "<= 1.1x floor and <= 1.0x alternative",
              ours["task_wall"] <= 1.1 * floor["task_wall"] and ours["task_wall"] <= alt["task_wall"],
              names, samples, "s")
    bench.add(scenario, "median module peak memory", rounded(ours["module_peak_rss_mb"], 1),
              rounded(alt["module_peak_rss_mb"], 1), rounded(floor["module_peak_rss_mb"], 1),
              "<= 0.8x alternative", ours["module_peak_rss_mb"] <= 0.8 * alt["module_peak_rss_mb"], names, unit="MiB")
    bench.add(scenario, "requests", ours["requests"], alt["requests"], 0, "<= alternative",
              ours["requests"] <= alt["requests"], names, unit="requests")


# -- 100,000 vscan servers through the vscan_health role ----------------------------------------------
READ_TASK = "Read the vscan servers of the SVMs"  # the role's read (roles/vscan_health/tasks/main.yml)
# What Ansible adds to a module's result, not what the module returned.
NOT_RETURNED = ("invocation", "changed", "failed", "failed_when_result", "warnings", "deprecations")


def installed_collection(collections_path):
    for path in collections_path.split(os.pathsep):
        found = os.path.join(path, "ansible_collections", "hybridcloud", "ops")
        if os.path.isdir(found):
            return found
    raise RuntimeError("hybridcloud.ops is not installed in %s" % collections_path)


def floor_collection(bench, module):
    """A copy of the installed collection in which ``module`` is bench_records: the same role, run as
    it is, with a read that returns its result from memory. Returns the collections path."""
    path = os.path.join(bench.out, "floor-collections")
    shutil.rmtree(path, ignore_errors=True)
    copy = os.path.join(path, "ansible_collections", "hybridcloud", "ops")
    shutil.copytree(installed_collection(bench.collections_path), copy, symlinks=True)
    shutil.copy(os.path.join(PLAYBOOKS, "library", "bench_records.py"),
                os.path.join(copy, "plugins", "modules", module + ".py"))
    return path


def vscan_health(bench, runs, servers=100000):
    if not in_tree("plugins/modules/vscan_server_status_info.py", "return_servers"):
        raise NotYet("vscan_server_status_info has no return_servers")
    sim = bench.simulator(**{"ontap.servers": servers})
    extra, env, rss_file = ontap_vars(bench, sim, servers)
    extra.update(report_dir=tempfile.mkdtemp(prefix="reports-", dir=bench.out))
    # The floor's result is the very result the role's read returned, captured in a run that is
    # not measured (it also warms the simulator's and the OS's caches for the first measured run).
    captured = os.path.join(bench.out, "captured-vscan-health-read.json")
    bench.play("vscan_health_ours.yml", extra, env=dict(env, BENCH_CAPTURE_TASK=READ_TASK,
                                                        BENCH_CAPTURE_FILE=captured))
    with open(captured) as handle:
        read = dict((k, v) for k, v in json.load(handle).items()
                    if k not in NOT_RETURNED and not k.startswith("_ansible"))
    records_file = bench.records_file("vscan-health", read)
    floor_env = dict(env, ANSIBLE_COLLECTIONS_PATH=floor_collection(bench, "vscan_server_status_info"),
                     BENCH_RECORDS_FILE=records_file)
    startup_wall = bench.startup(runs)[0]
    names = {"ours": "vscan_health role (summary + disconnected servers)",
             "alternative": "na_ontap_rest_info + the same summary in Jinja",
             "floor": "the vscan_health role with its read replaced by bench_records (the same result from memory)"}
    plays = {"ours": ("vscan_health_ours.yml", env), "alternative": ("vscan_health_peer.yml", env),
             "floor": ("vscan_health_ours.yml", floor_env)}
    alternative_runs = max(1, runs // 2)  # about two minutes a run: half the rounds
    samples = dict((k, []) for k in names)
    for index in range(runs):
        for key in names:
            if key == "alternative" and index >= alternative_runs:
                continue
            if os.path.exists(rss_file):
                os.remove(rss_file)
            playbook, play_env = plays[key]
            wall, _cpu, peak = bench.play(playbook, extra, env=play_env, memory=True)[1:]
            samples[key].append({"wall_above_startup": wall - startup_wall, "controller_peak_mb": peak,
                                 "module_peak_rss_mb": module_rss(rss_file)})
    fig = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in (
        "wall_above_startup", "controller_peak_mb", "module_peak_rss_mb"))) for k in names)
    ours, alt, floor = fig["ours"], fig["alternative"], fig["floor"]
    scenario = "vscan_health_%d_servers" % servers
    counts = {"alternative": alternative_runs}
    bench.add(scenario, "median wall above start-up", rounded(ours["wall_above_startup"], 2),
              rounded(alt["wall_above_startup"], 2), rounded(floor["wall_above_startup"], 2),
              "<= 0.2x alternative", ours["wall_above_startup"] <= 0.2 * alt["wall_above_startup"], names,
              dict(samples, floor_result_kib=round(os.path.getsize(records_file) / 1024.0, 1)), "s", counts)
    bench.add(scenario, "median controller peak memory (PSS)", rounded(ours["controller_peak_mb"], 1),
              rounded(alt["controller_peak_mb"], 1), rounded(floor["controller_peak_mb"], 1),
              "<= 0.3x alternative", ours["controller_peak_mb"] <= 0.3 * alt["controller_peak_mb"], names,
              unit="MiB", runs=counts)
    bench.add(scenario, "median module peak memory", rounded(ours["module_peak_rss_mb"], 1),
              rounded(alt["module_peak_rss_mb"], 1), rounded(floor["module_peak_rss_mb"], 1), None, None,
              names, unit="MiB", runs=counts)


# -- 50 ZStack connections, each job 2 s, through the ipsec_connection role -----------------------------
def zstack_many(bench, runs, count=50, job_seconds=2):
    if not (in_tree("plugins/modules/ipsec_connection_state.py", "connections:")
            and in_tree("roles/ipsec_connection/tasks/main.yml", "connections:")):
        raise NotYet("the ipsec_connection role does not use the connections option")
    sim = bench.simulator()
    zs = sim.appliance("zstack")
    base = {"zstack": {"host": zs["host"], "username": zs["username"], "password": zs["password"]}}
    startup_wall = bench.startup(runs)[0]
    names = {"ours": "ipsec_connection role (one module run)",
             "alternative": "loop of ipsec_connection_state, one after the other",
             "floor": "command: sleep %d (one job)" % job_seconds}
    samples = dict((k, []) for k in names)
    for index in range(runs):
        wall = bench.play("nsx_wait_floor.yml", {"seconds": job_seconds})[1]
        samples["floor"].append({"wall_above_startup": wall - startup_wall, "logins": 0, "logouts": 0, "puts": 0})
        for key, playbook in (("ours", "zstack_role.yml"), ("alternative", "zstack_loop.yml")):
            if key == "alternative" and index > 0:
                continue  # one job after the other takes minutes: measured in the first round only
            made = sim.command("zstack", "create_connections", count=count, state="Enabled",
                               job_seconds=job_seconds)
            items = [{"uuid": c["uuid"], "state": "disabled"} for c in made["connections"]]
            mark = sim.mark()
            wall = bench.play(playbook, dict(base, zstack_items=items))[1]
            log = sim.log(since=mark, appliance="zstack")
            samples[key].append({
                "wall_above_startup": wall - startup_wall,
                "logins": len([e for e in log if e["method"] == "PUT" and e["path"].endswith("/accounts/login")]),
                "logouts": len([e for e in log if e["method"] == "DELETE" and "/accounts/sessions/" in e["path"]]),
                "puts": len([e for e in log if e["method"] == "PUT" and e["path"].endswith("/actions")])})
    fig = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in (
        "wall_above_startup", "logins", "logouts", "puts"))) for k in names)
    ours, alt, floor = fig["ours"], fig["alternative"], fig["floor"]
    scenario = "zstack_%d_connections" % count
    once = {"alternative": 1}
    bench.add(scenario, "median wall above start-up", rounded(ours["wall_above_startup"], 2),
              rounded(alt["wall_above_startup"], 2), rounded(floor["wall_above_startup"], 2), "<= 8 s",
              ours["wall_above_startup"] <= 8, names, samples, "s", once)
    bench.add(scenario, "logins / logouts", "%d / %d" % (ours["logins"], ours["logouts"]),
              "%d / %d" % (alt["logins"], alt["logouts"]), "0 / 0", "exactly 1 / 1",
              ours["logins"] == 1 and ours["logouts"] == 1, names, runs=once)
    bench.add(scenario, "PUTs", ours["puts"], alt["puts"], 0, "1 per connection (%d)" % count,
              ours["puts"] == count, names, unit="requests", runs=once)


# -- vpn_session_state on a Policy path: disabled, realized 3 s after the PATCH ----------------------------
PHASE_OFFSETS = (-0.5, -0.3, -0.1, 0.1, 0.3, 0.5)


def policy_state(bench, runs, realize_after=3, stale_window=1.0):
    """Each run: a Policy session realized (enabled) from before; the PATCH that disables it
    realizes ``realize_after`` s later, and for ``stale_window`` s after the PATCH NSX still serves
    the REALIZED left from before (as the simulator's default does). Ours is one vpn_session_state
    task; the alternative a uri PATCH then uri + until over the realized entities, which takes that
    stale REALIZED for the change when its first poll falls in the window. A run "returned on the
    stale REALIZED" when it returned before the realization instant; for the alternative the
    entities it returned on are also checked against the change's time. Ours shows, in its returned
    ``history``, whether it saw the stale REALIZED (state STALE) and went on."""
    if not os.path.exists(os.path.join(ROOT, "plugins", "modules", "vpn_session_state.py")):
        raise NotYet("no vpn_session_state module")
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_cpu = bench.startup(runs)[1]
    names = {"ours": "vpn_session_state (one task)",
             "alternative": "uri PATCH, then uri + until over realized-entities, delay: 1",
             "floor": "command: sleep %d" % realize_after}
    plays = {"ours": ("policy_state_ours.yml", "Change the session", {}),
             "alternative": ("policy_state_uri.yml", "Wait for the realization", {"BENCH_RESULT_KEYS": "json"})}
    samples = dict((k, []) for k in names)

    def disable_once(key, realized_after):
        """One run of ``key`` on a fresh session whose change realizes ``realized_after`` s after the
        PATCH: the task's result, the controller CPU, the request-log mark, the session afterwards."""
        playbook, task, env = plays[key]
        made = sim_command(sim, "nsxt", "create_policy_session", "the simulator has no Policy sessions",
                           realize_after=0.01, stale_window=stale_window)
        time.sleep(0.1)  # realized (enabled) from before: what the stale window will show
        sim.command("nsxt", "configure_policy_session", path=made["path"], realize_after=realized_after)
        mark = sim.mark()
        run, _wall, cpu = bench.play(playbook, dict(base_vars, session_path=made["path"]), env=env)[:3]
        after = sim.command("nsxt", "policy_session", path=made["path"])
        if after["changes"] != 2 or after["resource"]["enabled"] is not False:
            raise RuntimeError("%s did not disable %s once: %r" % (playbook, made["path"], after))
        return [r for r in run.results if r["task"] == task][-1], cpu, mark, after

    for _run in range(runs):
        floor = sleep_floor(bench, realize_after)
        samples["floor"].append({"cpu_above_startup": floor["cpu"] - startup_cpu, "lag": floor["lag"]})
        for key in plays:
            result, cpu, mark, after = disable_once(key, realize_after)
            entities = ((result["result"].get("json") or {}).get("results") or []) if key == "alternative" else []
            history = result["result"].get("history") or []
            samples[key].append({
                "lag": result["end"] - after["realized_at"],
                "requests": len([e for e in sim.log(since=mark, appliance="nsxt") if e["path"] == REALIZED_ENTITIES]),
                "cpu_above_startup": cpu - startup_cpu,
                "history": history,
                "stale_seen_first": bool(history) and history[0].get("state") == "STALE",
                "returned_on_old_entities": bool(entities) and all(
                    e.get("_last_modified_time", 0) < after["changed_ms"] for e in entities)})
    scenario = "policy_state_realized_%ds" % realize_after
    lag = dict((k, median([s["lag"] for s in samples[k]])) for k in names)
    early = dict((k, len([s for s in samples[k] if s["lag"] < 0])) for k in ("ours", "alternative"))
    bench.add(scenario, "median lag after the realization instant", rounded(lag["ours"]), rounded(lag["alternative"]),
              rounded(lag["floor"]), "<= 0.5 s", 0 <= lag["ours"] <= 0.5, names, samples, "s")
    bench.add(scenario, "runs (of %d) that returned on the stale REALIZED (before the realization instant)" % runs,
              early["ours"], early["alternative"], 0, "0", early["ours"] == 0, names)
    seen = len([s for s in samples["ours"] if s["stale_seen_first"]])
    bench.add(scenario, "runs (of %d) whose returned history starts with STALE: seen, then skipped" % runs,
              seen, None, None, None, None, names)
    requests = dict((k, median([s["requests"] for s in samples[k]])) for k in ("ours", "alternative"))
    bench.add(scenario, "median realization requests", requests["ours"], requests["alternative"], 0, None, None,
              names, unit="requests")
    cpu = dict((k, median([s["cpu_above_startup"] for s in samples[k]])) for k in names)
    bench.add(scenario, "median CPU above start-up", rounded(cpu["ours"]), rounded(cpu["alternative"]),
              rounded(cpu["floor"]), None, None, names, unit="s")
    # The lag at one fixed instant is set by where the polls happen to fall around it, which moves
    # with the machine's speed (a poll every ~0.65 s at 3 s: anything from 0 to ~0.7 s). The same
    # change realized at instants spread over a second shows the lag a user meets on average.
    spread = []
    for offset in PHASE_OFFSETS:
        result, _cpu, _mark, after = disable_once("ours", realize_after + offset)
        spread.append({"realize_after": realize_after + offset, "lag": result["end"] - after["realized_at"]})
    bench.add(scenario, "median lag, realized %.1f-%.1f s after the PATCH (%d runs, phase check)"
              % (realize_after + PHASE_OFFSETS[0], realize_after + PHASE_OFFSETS[-1], len(spread)),
              rounded(median([s["lag"] for s in spread])), None, None, None, None, names, {"ours": spread}, "s",
              runs={"ours": len(spread)})


# -- 200 NSX sessions through the vpn_realization_check role (Manager ids, and Policy paths) ---------------
def role_takes_policy_paths():
    import yaml
    try:
        with open(os.path.join(ROOT, "roles", "vpn_realization_check", "meta", "argument_specs.yml")) as handle:
            spec = yaml.safe_load(handle)
        return "path" in spec["argument_specs"]["main"]["options"]["vpn_realization_check_sessions"]["options"]
    except (OSError, KeyError, TypeError):
        return False


def fleet(bench, runs, count=200):
    """Manager sessions realize at seeded random times within 1-10 s of their creation (one
    simulator command makes them all); Policy sessions the same, but made by one command each
    (``created_in`` in the samples), each pushed back by the estimated time of the creations after it."""
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_wall = bench.startup(runs)[0]
    names = {"ours": "vpn_realization_check role (one task, concurrent)",
             "alternative": "uri + until loop, delay: 1", "floor": "command: sleep 10"}
    policy_names = {"ours": "vpn_realization_check role (Policy paths; one task, concurrent)",
                    "alternative": "uri + until loop over realized-entities, delay: 1", "floor": "command: sleep 10"}
    policy = role_takes_policy_paths()
    samples = {"ours": [], "alternative": [], "floor": []}
    policy_samples = {"ours": [], "alternative": [], "floor": samples["floor"]}
    rng = random.Random(16)
    for index in range(runs):
        wall = bench.play("nsx_wait_floor.yml", {"seconds": 10})[1]
        samples["floor"].append({"wall_above_startup": wall - startup_wall})
        for key, playbook in (("ours", "fleet_role.yml"), ("alternative", "fleet_uri.yml")):
            if key == "alternative" and index > 0:
                continue  # one session after the other takes minutes: measured in the first round only
            made = sim.command("nsxt", "create_sessions", count=count, realize_min=1, realize_max=10)
            ids = [s["session_id"] for s in made["sessions"]]
            mark = sim.mark()
            wall = bench.play(playbook, dict(base_vars, session_ids=ids, fleet_sessions=[{"id": i} for i in ids]))[1]
            log = sim.log(since=mark, appliance="nsxt")
            samples[key].append({"wall_above_startup": wall - startup_wall, "requests": len(log),
                                 "status_429": len([e for e in log if e["status"] == 429])})
        if not policy:
            continue
        for key, playbook in (("ours", "fleet_role.yml"), ("alternative", "fleet_policy_uri.yml")):
            if key == "alternative" and index > 0:
                continue
            # One command per session: each one's clock is pushed back by the creations still to come
            # (estimated from those made so far), so that all count from about the end of the creation.
            started, paths = time.monotonic(), []
            for index_made in range(count):
                per_call = (time.monotonic() - started) / index_made if index_made else 0.005
                paths.append(sim_command(sim, "nsxt", "create_policy_session", "the simulator has no Policy sessions",
                                         realize_after=rng.uniform(1, 10) + per_call * (count - index_made))["path"])
            created_in = time.monotonic() - started
            mark = sim.mark()
            wall = bench.play(playbook, dict(base_vars, session_paths=paths,
                                             fleet_sessions=[{"path": p} for p in paths]))[1]
            log = sim.log(since=mark, appliance="nsxt")
            policy_samples[key].append({"wall_above_startup": wall - startup_wall, "requests": len(log),
                                        "status_429": len([e for e in log if e["status"] == 429]),
                                        "created_in": created_in})
    floor = median([s["wall_above_startup"] for s in samples["floor"]])
    once = {"alternative": 1}
    for scenario, variant_names, found in (("fleet_%d_sessions" % count, names, samples),
                                           ("fleet_%d_policy_sessions" % count, policy_names, policy_samples)):
        if not found["ours"]:
            bench.not_yet(scenario, "vpn_realization_check takes no Policy paths")
            continue
        wall, alt = (median([s["wall_above_startup"] for s in found[k]]) for k in ("ours", "alternative"))
        bench.add(scenario, "median wall above start-up", rounded(wall, 2), rounded(alt, 2), rounded(floor, 2),
                  "<= 15 s", wall <= 15, variant_names, found, "s", once)
        bench.add(scenario, "requests", median([s["requests"] for s in found["ours"]]),
                  median([s["requests"] for s in found["alternative"]]), 0, None, None, variant_names,
                  unit="requests", runs=once)
        bench.add(scenario, "429 answers", median([s["status_429"] for s in found["ours"]]),
                  median([s["status_429"] for s in found["alternative"]]), 0, None, None, variant_names,
                  unit="requests", runs=once)


# Each scenario with its run count, budgeted so the whole bench fits in BUDGET_S on 2 CPUs
# (estimated seconds per run in the comment; --runs overrides every count).
SCENARIOS = {
    "wait_lag": (wait_lags, 3),            # ~140 s (4 s Manager and Policy, 30 s Manager)
    "single_read": (single_read, 3),       # ~30 s
    "vscan": (vscan_scale, 3),             # ~35 s
    "vscan_health": (vscan_health, 2),     # ~100 s, the alternative once (~120 s), one capture run
    "zstack_many": (zstack_many, 3),       # ~20 s, and the serial loop once (~150 s)
    "policy_state": (policy_state, 3),     # ~20 s
    "fleet": (fleet, 3),                   # ~70 s (Manager and Policy), the two uri loops once (~2 x 250 s)
}
# How the README names each scenario (results.md uses the short names).
TITLES = {
    "wait_lag_4s": "NSX session (Manager id) realized 4 s after the first status read",
    "wait_lag_4s_policy": "NSX session (Policy path) realized 4 s after the first status read",
    "wait_lag_30s": "NSX session (Manager id) realized 30 s after the first status read",
    "single_read_x20": "one status read (`wait: false`), 20 tasks",
    "vscan_10000_servers": "10,000 vscan servers, every record returned",
    "vscan_health_100000_servers": "100,000 vscan servers, `vscan_health` role",
    "zstack_50_connections": "50 ZStack connections, each job 2 s, `ipsec_connection` role",
    "policy_state_realized_3s": "`vpn_session_state`, Policy path: disable, realized 3 s after the PATCH",
    "fleet_200_sessions": "200 NSX sessions (Manager ids) realized within 1-10 s, `vpn_realization_check` role",
    "fleet_200_policy_sessions": "200 NSX sessions (Policy paths) realized within 1-10 s, `vpn_realization_check` role",
}


def earlier(out):
    try:
        with open(os.path.join(out, "results.json")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def earlier_rows(out, rerun):
    """Rows of an earlier results.json for the scenarios not run this time (a partial run updates)."""
    rows = earlier(out).get("rows", [])
    return [row for row in rows if row.get("group") and row["group"] not in rerun and "figure" in row]


def cell(value):
    return "-" if value is None else str(value)


def with_unit(value, unit):
    if value is None:
        return "-"
    return "%s %s" % (value, unit) if unit and unit != "requests" and isinstance(value, (int, float)) else str(value)


def special(row):
    """A row that carries no figures: "not yet ..." or "failed: ..."."""
    return row["figure"].startswith(("not yet", "failed"))


def runs_text(row):
    runs = row.get("runs") or {}
    return "/".join(cell(runs.get(k)) for k in ("ours", "alternative", "floor"))


def write_report(new_rows, runs, out, rerun, durations=None, run_info=None):
    before = earlier(out)
    rows = earlier_rows(out, rerun) + new_rows
    order = list(SCENARIOS)
    rows.sort(key=lambda row: order.index(row["group"]) if row.get("group") in order else len(order))
    took = dict((k, v) for k, v in (before.get("durations_s") or {}).items() if k not in rerun)
    took.update(durations or {})
    try:
        from ansible.release import __version__ as core
    except ImportError:
        core = None
    doc = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "runs_per_figure": runs or "per scenario",
           "python": sys.version.split()[0], "ansible_core": core, "cpu_count": os.cpu_count(),
           "durations_s": took, "last_full_run": (run_info if run_info and run_info.get("full")
                                                  else before.get("last_full_run")),
           "rows": rows}
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(doc, handle, indent=2)
    lines = ["# hybridcloud.ops benchmark", "",
             "%s, medians of %s runs per figure (runs of ours/alternative/floor below), Python %s, ansible-core %s, "
             "%d CPUs. Each row: ours, the alternative a user would run, the floor (what Ansible itself costs for "
             "the same job: a task that only sleeps as long, or a trivial module returning the same records from "
             "memory), all measured in the same run, the ratios, and the SPEC section 4 target."
             % (doc["generated"], runs or "the budgeted number of", doc["python"], core, doc["cpu_count"]), "",
             "| scenario | figure | ours | alternative | floor | ours / alternative | ours / floor | target | met |",
             "|---|---|---|---|---|---|---|---|---|"]
    variants = {}
    for row in rows:
        if special(row):
            lines.append("| %s | %s | | | | | | | |" % (row["scenario"], row["figure"]))
            continue
        unit = (" " + row["unit"]) if row.get("unit") and row["unit"] not in ("requests",) else ""
        met = "" if row.get("met") is None else ("yes" if row["met"] else "**no**")
        lines.append("| %s | %s | %s%s | %s | %s | %s | %s | %s | %s |" % (
            row["scenario"], row["figure"], cell(row["ours"]), unit, cell(row["alternative"]), cell(row["floor"]),
            cell(row["ours_vs_alternative"]), cell(row["ours_vs_floor"]), cell(row.get("target")), met))
        variants.setdefault(row["scenario"], (row.get("variants") or {}, row.get("measured"), runs_text(row)))
    lines += ["", "Variants (ours / alternative / floor), runs of each, and when each scenario was measured:", ""]
    for scenario, (names, measured, counts) in variants.items():
        lines.append("- %s (%s, runs %s): %s" % (scenario, measured, counts, " / ".join(
            cell(names.get(k)) for k in ("ours", "alternative", "floor"))))
    if took:
        lines += ["", "Seconds per scenario: " + ", ".join("%s %.0f" % (k, took[k]) for k in order if k in took)]
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def readme_block(doc):
    """The README's bench table (between the bench-table markers), from a results.json document."""
    rows = doc.get("rows") or []
    measured = sorted(row["measured"] for row in rows if row.get("measured"))
    when = measured[-1] if measured and measured[0] == measured[-1] else \
        ("between %s and %s" % (measured[0], measured[-1]) if measured else "never")
    full = doc.get("last_full_run") or {}
    lines = ["Generated by `tests/bench/run.py --readme` from `.build/bench/results.json`: measured %s on %s CPUs, "
             "Python %s, ansible-core %s%s. Ours is hybridcloud.ops; the alternative is what users write "
             "otherwise; the floor is what Ansible itself costs for the same job (a task that only sleeps as long "
             "as the wait, or a trivial module that returns the same records from memory); all three are measured "
             "in the same run, and each figure is the median of the runs listed under the table."
             % (when, doc.get("cpu_count"), doc.get("python"), doc.get("ansible_core"),
                "; the last full run took %.0f min" % (full["took_s"] / 60.0) if full.get("took_s") else ""), "",
             "| scenario | figure | hybridcloud.ops | alternative | floor | ours / alternative | ours / floor "
             "| target (SPEC 4) | met |",
             "|---|---|---|---|---|---|---|---|---|"]
    variants, missed, shown = [], [], set()
    for row in rows:
        title = TITLES.get(row["scenario"], row["scenario"])
        first = row["scenario"] not in shown
        shown.add(row["scenario"])
        if special(row):
            lines.append("| %s | %s | | | | | | | |" % (title, row["figure"]))
            continue
        unit = row.get("unit")
        met = "" if row.get("met") is None else ("yes" if row["met"] else "**no**")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title if first else "", row["figure"], with_unit(row["ours"], unit), with_unit(row["alternative"], unit),
            with_unit(row["floor"], unit), cell(row["ours_vs_alternative"]), cell(row["ours_vs_floor"]),
            cell(row.get("target")), met))
        if first:
            names = row.get("variants") or {}
            variants.append("- %s: %s (runs %s)" % (title, " / ".join(
                cell(names.get(k)) for k in ("ours", "alternative", "floor")), runs_text(row)))
        if row.get("met") is False:
            numbers = all(isinstance(row[k], (int, float)) for k in ("ours", "floor"))
            above = " = the floor + %s" % with_unit(round(row["ours"] - row["floor"], 3), unit) if numbers else ""
            missed.append("- %s, %s: %s%s, against the target %s; the floor is %s (ours / floor %s)." % (
                title, row["figure"], with_unit(row["ours"], unit), above, row.get("target"),
                with_unit(row["floor"], unit), cell(row["ours_vs_floor"])))
    lines += ["", "Ours / alternative / floor of each scenario, and their runs:", ""] + variants
    lines += [""] + (["Targets missed in this run:", ""] + missed if missed else ["Every target was met in this run."])
    return "\n".join(lines) + "\n"


def write_readme(out, path):
    doc = earlier(out)
    if not doc.get("rows"):
        sys.exit("no %s: run the bench first" % os.path.join(out, "results.json"))
    with open(path) as handle:
        text = handle.read()
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1 or text.index(README_BEGIN) > text.index(README_END):
        sys.exit("%s has no single %s ... %s region" % (path, README_BEGIN, README_END))
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    with open(path, "w") as handle:
        handle.write(head + README_BEGIN + "\n" + readme_block(doc) + README_END + tail)
    groups = set(row.get("group") for row in doc["rows"])
    left = [name for name in SCENARIOS if name not in groups]
    print("%s: bench table rewritten from %s%s" % (path, os.path.join(out, "results.json"),
                                                   " (no figures yet for: %s)" % ", ".join(left) if left else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, ".build", "bench"))
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per figure for every scenario (default: each scenario's budgeted count)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--report-only", action="store_true", help="write results.md again from results.json")
    parser.add_argument("--readme", nargs="?", const=os.path.join(ROOT, "README.md"), metavar="PATH",
                        help="rewrite the table between the bench-table markers of README.md (or PATH) from "
                             "<out>/results.json, and run nothing")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.readme:
        write_readme(args.out, args.readme)
        return 0
    if args.report_only:
        write_report([], args.runs, args.out, [])
        return 0
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or build_collection(tempfile.mkdtemp(dir=args.out))
    wanted = args.scenario or list(SCENARIOS)
    peer = peer_collections(args.out) if {"vscan", "vscan_health"} & set(wanted) else None
    bench = Bench(args.out, args.runs, collections, peer)
    started, durations = time.monotonic(), {}
    try:
        for name in wanted:
            print("scenario %s" % name, flush=True)
            function, runs = SCENARIOS[name]
            bench.group, bench.group_runs = name, bench.count(runs)
            began = time.monotonic()
            try:
                function(bench, bench.group_runs)
            except NotYet as exc:
                bench.not_yet(name, str(exc))
            except Exception as exc:  # pylint: disable=broad-except  # recorded as failed; the others still run
                bench.failed(name, exc)
            finally:
                bench.stop()
                durations[name] = round(time.monotonic() - began, 1)
    finally:
        bench.stop()
        took = time.monotonic() - started
        full = set(wanted) == set(SCENARIOS)
        write_report(bench.rows, bench.runs, args.out, wanted, durations,
                     {"full": full, "took_s": round(took, 1), "budget_s": BUDGET_S, "runs": args.runs,
                      "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
    print("bench took %.0f s (budget for a full run %d s)" % (took, BUDGET_S))
    if full and took > BUDGET_S:
        print("WARNING: the full bench took %.0f min, over its budget of %d min on this machine (issue 16); "
              "see the seconds per scenario in %s" % (took / 60.0, BUDGET_S // 60, os.path.join(args.out, "results.md")),
              file=sys.stderr)
    if bench.failures:
        print("FAILED scenarios: %s" % ", ".join(bench.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
