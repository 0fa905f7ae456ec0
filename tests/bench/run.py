"""`make bench`: hybridcloud.ops measured side by side with what users would otherwise run, and
with the floor - what Ansible itself costs for the same job - measured in the same run.

Every row is one figure of one scenario: ours, the alternative, the floor, and the ratios, next
to the SPEC section 4 target. Figures are medians of the runs made in the same session against
the same simulator. The floors: a task that only sleeps as long as the wait
(``ansible.builtin.command: sleep N``), or ``bench_records`` (tests/bench/playbooks/library, not
part of the collection), a trivial module that returns the same records from memory. A scenario
whose feature is not in the working tree yet prints "not yet" and is not a failure. Writes
<out>/results.json and <out>/results.md. Not a test: nothing here asserts on time.

    PYTHONPATH=tests .venv/bin/python tests/bench/run.py --out .build/bench [--runs N]
        [--scenario wait_lag --scenario single_read --scenario vscan --scenario vscan_health
         --scenario zstack_many --scenario policy_state --scenario fleet]
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

from integration.harness import Ansible, Simulator, build_collection  # noqa: E402

PLAYBOOKS = os.path.join(HERE, "playbooks")
STATE_PATH = "/api/v1/vpn/ipsec/sessions/%s/state"
# Seconds this machine (2 CPUs) may spend on the whole bench; run counts are budgeted to fit.
BUDGET_S = 30 * 60


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
            except Exception:  # a process that ended while it was read
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
        paths = collections_path if not peer_path else collections_path + os.pathsep + peer_path
        self.ansible = Ansible(paths, work)
        self.rows = []
        self.sims = []
        self.group = None  # the scenario (SCENARIOS key) being run
        self.notes = {}

    def count(self, default):
        return self.runs if self.runs else default

    def simulator(self, **options):
        sim = Simulator(tempfile.mkdtemp(prefix="sim-", dir=self.out), options=options)
        self.sims.append(sim)
        return sim

    def stop(self):
        for sim in self.sims:
            sim.stop()

    def play(self, playbook, extra_vars, env=None, memory=False):
        """Run a playbook; return (run, wall s, CPU s of its whole process tree, controller MiB)."""
        env = dict(env or {}, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_results")
        sampler = ControllerMemory() if memory else None
        if sampler:
            sampler.start()
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
            names=None, samples=None, unit=""):
        """One row: our figure, the alternative's, the floor's, the ratios, the target."""
        def ratio(a, b):
            return round(a / b, 3) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
        row = dict(scenario=scenario, figure=figure, unit=unit, ours=ours, alternative=alternative, floor=floor,
                   ours_vs_alternative=ratio(ours, alternative), ours_vs_floor=ratio(ours, floor),
                   target=target, met=met, variants=names or {}, group=self.group,
                   measured=time.strftime("%Y-%m-%d %H:%M"), samples=samples or {})
        self.rows.append(row)
        shown = dict((k, v) for k, v in row.items() if k not in ("samples", "variants"))
        print("  " + json.dumps(shown), flush=True)

    def not_yet(self, scenario, why):
        print("  %s: not yet (%s)" % (scenario, why), flush=True)
        self.rows.append(dict(scenario=scenario, figure="not yet: %s" % why, group=self.group,
                              measured=time.strftime("%Y-%m-%d %H:%M"), samples={}))


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


# -- wait lag: an NSX session realized at t = N s ------------------------------------------------
WAIT_LAG_TARGETS = {4: (0.5, 10, 0.1), 30: (2.0, 30, 0.2)}


def wait_lag(bench, realize_after, runs):
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_cpu = bench.startup(runs)[1]
    names = {"ours": "vpn_session_realization_info (defaults)", "alternative": "uri + until, delay: 1",
             "floor": "command: sleep %d" % realize_after}
    samples = dict((k, []) for k in names)
    for _run in range(runs):  # interleaved, so drift hits all alike
        samples["floor"].append(dict(sleep_floor(bench, realize_after), cpu_above_startup=None, requests=0))
        samples["floor"][-1]["cpu_above_startup"] = samples["floor"][-1]["cpu"] - startup_cpu
        for key, playbook, extra in (("ours", "nsx_wait_ours.yml", {}), ("alternative", "nsx_wait_uri.yml",
                                                                         {"delay": 1})):
            # t = 0 is the start of the wait: the session's clock starts at its first status read.
            made = sim.command("nsxt", "create_session", realize_after=realize_after, unknown_phase=True,
                               start_on_first_read=True)
            mark = sim.mark()
            run, wall, cpu = bench.play(playbook, dict(base_vars, session_id=made["session_id"], **extra))[:3]
            realized_at = sim.command("nsxt", "realized_at", session_id=made["session_id"])["realized_at"]
            returned = [r for r in run.results if r["task"] == "Wait for the session"][-1]["end"]
            requests = len([e for e in sim.log(since=mark, appliance="nsxt")
                            if e["path"] == STATE_PATH % made["session_id"]])
            samples[key].append({"lag": returned - realized_at, "requests": requests, "wall": wall,
                                 "cpu_above_startup": cpu - startup_cpu})
    lag_t, req_t, cpu_t = WAIT_LAG_TARGETS[realize_after]
    scenario = "wait_lag_%ds" % realize_after
    figures = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in ("lag", "requests", "cpu_above_startup")))
                   for k in names)
    ours, alt, floor = figures["ours"], figures["alternative"], figures["floor"]
    bench.add(scenario, "median lag after realization", rounded(ours["lag"]), rounded(alt["lag"]), rounded(floor["lag"]),
              "<= %s s" % lag_t, ours["lag"] <= lag_t, names, samples, "s")
    bench.add(scenario, "median status requests", ours["requests"], alt["requests"], 0,
              "<= %d" % req_t, ours["requests"] <= req_t, names, unit="requests")
    bench.add(scenario, "median CPU above start-up", rounded(ours["cpu_above_startup"]),
              rounded(alt["cpu_above_startup"]), rounded(floor["cpu_above_startup"]),
              "<= floor + %s s" % cpu_t, ours["cpu_above_startup"] <= floor["cpu_above_startup"] + cpu_t,
              names, unit="s")


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
def vscan_health(bench, runs, servers=100000):
    if not in_tree("plugins/modules/vscan_server_status_info.py", "return_servers"):
        raise NotYet("vscan_server_status_info has no return_servers")
    sim = bench.simulator(**{"ontap.servers": servers})
    extra, env, rss_file = ontap_vars(bench, sim, servers)
    report_dir = tempfile.mkdtemp(prefix="reports-", dir=bench.out)
    down = direct_records(sim, "fields=svm.name,node.name,ip,state,disconnected_reason&state=!connected"
                               "&max_records=10000")
    extra.update(report_dir=report_dir, records_file=bench.records_file("vscan-health", {
        "servers": down, "count": servers, "summary": {"by_svm": {}}}))
    startup_wall = bench.startup(runs)[0]
    names = {"ours": "vscan_health role (summary + disconnected servers)",
             "alternative": "na_ontap_rest_info + the same summary in Jinja",
             "floor": "bench_records (the role's read result from memory)"}
    playbooks = {"ours": "vscan_health_ours.yml", "alternative": "vscan_health_peer.yml",
                 "floor": "vscan_health_floor.yml"}
    samples = dict((k, []) for k in names)
    for index in range(runs):
        for key in names:
            if key == "alternative" and index >= max(1, runs // 2):
                continue  # about two minutes a run: half the rounds
            if os.path.exists(rss_file):
                os.remove(rss_file)
            wall, _cpu, peak = bench.play(playbooks[key], extra, env=env, memory=True)[1:]
            samples[key].append({"wall_above_startup": wall - startup_wall, "controller_peak_mb": peak,
                                 "module_peak_rss_mb": module_rss(rss_file)})
    fig = dict((k, dict((f, median([s[f] for s in samples[k]])) for f in (
        "wall_above_startup", "controller_peak_mb", "module_peak_rss_mb"))) for k in names)
    ours, alt, floor = fig["ours"], fig["alternative"], fig["floor"]
    scenario = "vscan_health_%d_servers" % servers
    bench.add(scenario, "median wall above start-up", rounded(ours["wall_above_startup"], 2),
              rounded(alt["wall_above_startup"], 2), rounded(floor["wall_above_startup"], 2),
              "<= 0.2x alternative", ours["wall_above_startup"] <= 0.2 * alt["wall_above_startup"], names,
              samples, "s")
    bench.add(scenario, "median controller peak memory (PSS)", rounded(ours["controller_peak_mb"], 1),
              rounded(alt["controller_peak_mb"], 1), rounded(floor["controller_peak_mb"], 1),
              "<= 0.3x alternative", ours["controller_peak_mb"] <= 0.3 * alt["controller_peak_mb"], names,
              unit="MiB")
    bench.add(scenario, "median module peak memory", rounded(ours["module_peak_rss_mb"], 1),
              rounded(alt["module_peak_rss_mb"], 1), rounded(floor["module_peak_rss_mb"], 1), None, None,
              names, unit="MiB")


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
    bench.add(scenario, "median wall above start-up", rounded(ours["wall_above_startup"], 2),
              rounded(alt["wall_above_startup"], 2), rounded(floor["wall_above_startup"], 2), "<= 8 s",
              ours["wall_above_startup"] <= 8, names, samples, "s")
    bench.add(scenario, "logins / logouts", "%d / %d" % (ours["logins"], ours["logouts"]),
              "%d / %d" % (alt["logins"], alt["logouts"]), "0 / 0", "exactly 1 / 1",
              ours["logins"] == 1 and ours["logouts"] == 1, names)
    bench.add(scenario, "PUTs", ours["puts"], alt["puts"], 0, "1 per connection (%d)" % count,
              ours["puts"] == count, names, unit="requests")


# -- vpn_session_state on a Policy path: disabled, realized 3 s after the PATCH ----------------------------
def policy_state(bench, runs, realize_after=3):
    if not os.path.exists(os.path.join(ROOT, "plugins", "modules", "vpn_session_state.py")):
        raise NotYet("no vpn_session_state module")
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    try:
        sim.command("nsxt", "create_policy_session", realize_after=realize_after)
    except Exception as exc:  # the simulator has no Policy sessions yet
        raise NotYet("the simulator has no create_policy_session (%s)" % exc)
    startup_cpu = bench.startup(runs)[1]
    names = {"ours": "vpn_session_state (one task)", "alternative": None,
             "floor": "command: sleep %d" % realize_after}
    samples = dict((k, []) for k in ("ours", "floor"))
    for _run in range(runs):
        floor = sleep_floor(bench, realize_after)
        samples["floor"].append({"cpu_above_startup": floor["cpu"] - startup_cpu, "lag": floor["lag"]})
        # The session is realized (enabled) from before: a wait that took the old REALIZED for
        # the new one would return before the realization instant (negative lag).
        made = sim.command("nsxt", "create_policy_session", realize_after=0.01, stale_window=1.0)
        time.sleep(0.1)
        sim.command("nsxt", "configure_policy_session", path=made["path"], realize_after=realize_after)
        run, _wall, cpu = bench.play("policy_state_ours.yml", dict(base_vars, session_path=made["path"]))[:3]
        realized_at = sim.command("nsxt", "policy_session", path=made["path"])["realized_at"]
        returned = [r for r in run.results if r["task"] == "Change the session"][-1]["end"]
        samples["ours"].append({"lag": returned - realized_at, "cpu_above_startup": cpu - startup_cpu})
    lag = median([s["lag"] for s in samples["ours"]])
    stale = len([s for s in samples["ours"] if s["lag"] < 0])
    scenario = "policy_state_realized_%ds" % realize_after
    floor_lag = median([s["lag"] for s in samples["floor"]])
    bench.add(scenario, "median lag after the realization instant", rounded(lag), None, rounded(floor_lag), "<= 0.5 s",
              0 <= lag <= 0.5, names, samples, "s")
    bench.add(scenario, "runs that returned on the stale REALIZED", stale, None, 0, "0", stale == 0, names)
    cpu = median([s["cpu_above_startup"] for s in samples["ours"]])
    floor = median([s["cpu_above_startup"] for s in samples["floor"]])
    bench.add(scenario, "median CPU above start-up", rounded(cpu), None, rounded(floor), None, None, names, unit="s")


# -- 200 NSX sessions through the vpn_realization_check role (Manager ids, and Policy paths) ---------------
def fleet(bench, runs, count=200):
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_wall = bench.startup(runs)[0]
    names = {"ours": "vpn_realization_check role (one task, concurrent)",
             "alternative": "uri + until loop, delay: 1 (Manager ids only)", "floor": "command: sleep 10"}
    samples = {"ours": [], "alternative": [], "floor": [], "ours_policy": []}
    policy = in_tree("roles/vpn_realization_check/meta/argument_specs.yml", "path")
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
        if policy:
            paths = [sim.command("nsxt", "create_policy_session", realize_after=1 + 9 * (i / float(count)))["path"]
                     for i in range(count)]
            mark = sim.mark()
            wall = bench.play("fleet_role.yml", dict(base_vars, fleet_sessions=[{"path": p} for p in paths]))[1]
            samples["ours_policy"].append({"wall_above_startup": wall - startup_wall,
                                           "requests": len(sim.log(since=mark, appliance="nsxt"))})
    floor = median([s["wall_above_startup"] for s in samples["floor"]])
    for key, scenario in (("ours", "fleet_%d_sessions" % count), ("ours_policy", "fleet_%d_policy_sessions" % count)):
        if not samples[key]:
            bench.not_yet("fleet_%d_policy_sessions" % count, "vpn_realization_check takes no Policy paths")
            continue
        wall = median([s["wall_above_startup"] for s in samples[key]])
        alt = median([s["wall_above_startup"] for s in samples["alternative"]]) if key == "ours" else None
        bench.add(scenario, "median wall above start-up", rounded(wall, 2), rounded(alt, 2), rounded(floor, 2),
                  "<= 15 s", wall <= 15, names, samples, "s")
        bench.add(scenario, "requests", median([s["requests"] for s in samples[key]]),
                  median([s["requests"] for s in samples["alternative"]]) if key == "ours" else None, 0,
                  None, None, names, unit="requests")


# Each scenario with its run count, budgeted so the whole bench fits in BUDGET_S on 2 CPUs
# (estimated seconds per run in the comment; --runs overrides every count).
SCENARIOS = {
    "wait_lag": (lambda bench, runs: (wait_lag(bench, 4, runs), wait_lag(bench, 30, runs)), 3),  # ~125 s
    "single_read": (single_read, 3),       # ~30 s
    "vscan": (vscan_scale, 3),             # ~35 s
    "vscan_health": (vscan_health, 2),     # ~150 s (the alternative once)
    "zstack_many": (zstack_many, 3),       # ~20 s, and the serial loop once (~150 s)
    "policy_state": (policy_state, 3),     # ~10 s
    "fleet": (fleet, 3),                   # ~45 s, and the uri loop once (~250 s)
}


def earlier_rows(out, rerun):
    """Rows of an earlier results.json for the scenarios not run this time (a partial run updates)."""
    try:
        with open(os.path.join(out, "results.json")) as handle:
            rows = json.load(handle).get("rows", [])
    except (OSError, ValueError):
        return []
    return [row for row in rows if row.get("group") and row["group"] not in rerun and "figure" in row]


def cell(value):
    return "-" if value is None else str(value)


def write_report(new_rows, runs, out, rerun):
    rows = earlier_rows(out, rerun) + new_rows
    order = list(SCENARIOS)
    rows.sort(key=lambda row: order.index(row["group"]) if row.get("group") in order else len(order))
    doc = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "runs_per_figure": runs or "per scenario",
           "python": sys.version.split()[0], "cpu_count": os.cpu_count(), "rows": rows}
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(doc, handle, indent=2)
    lines = ["# hybridcloud.ops benchmark", "",
             "%s, medians of %s runs per figure, Python %s, %d CPUs. Each row: ours, the alternative a "
             "user would run, the floor (what Ansible itself costs for the same job: a task that only "
             "sleeps as long, or a trivial module returning the same records from memory), all measured "
             "in the same run, the ratios, and the SPEC section 4 target."
             % (doc["generated"], runs or "the budgeted number of", doc["python"], doc["cpu_count"]), "",
             "| scenario | figure | ours | alternative | floor | ours / alternative | ours / floor | target | met |",
             "|---|---|---|---|---|---|---|---|---|"]
    variants = {}
    for row in rows:
        if row["figure"].startswith("not yet"):
            lines.append("| %s | %s | | | | | | | |" % (row["scenario"], row["figure"]))
            continue
        unit = (" " + row["unit"]) if row.get("unit") and row["unit"] not in ("requests",) else ""
        met = "" if row.get("met") is None else ("yes" if row["met"] else "**no**")
        lines.append("| %s | %s | %s%s | %s | %s | %s | %s | %s | %s |" % (
            row["scenario"], row["figure"], cell(row["ours"]), unit, cell(row["alternative"]), cell(row["floor"]),
            cell(row["ours_vs_alternative"]), cell(row["ours_vs_floor"]), cell(row.get("target")), met))
        variants.setdefault(row["scenario"], (row.get("variants") or {}, row.get("measured")))
    lines += ["", "Variants (ours / alternative / floor) and when each scenario was measured:", ""]
    for scenario, (names, measured) in variants.items():
        lines.append("- %s (%s): %s" % (scenario, measured, " / ".join(
            cell(names.get(k)) for k in ("ours", "alternative", "floor"))))
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, ".build", "bench"))
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per figure for every scenario (default: each scenario's budgeted count)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--report-only", action="store_true", help="write results.md again from results.json")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        return write_report([], args.runs, args.out, [])
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or build_collection(tempfile.mkdtemp(dir=args.out))
    wanted = args.scenario or list(SCENARIOS)
    peer = peer_collections(args.out) if {"vscan", "vscan_health"} & set(wanted) else None
    bench = Bench(args.out, args.runs, collections, peer)
    started = time.monotonic()
    try:
        for name in wanted:
            print("scenario %s" % name, flush=True)
            bench.group = name
            function, runs = SCENARIOS[name]
            try:
                function(bench, bench.count(runs))
            except NotYet as exc:
                bench.not_yet(name, str(exc))
    finally:
        bench.stop()
        write_report(bench.rows, bench.runs, args.out, wanted)
    print("bench took %.0f s (budget %d s)" % (time.monotonic() - started, BUDGET_S))


if __name__ == "__main__":
    main()
