"""`make bench`: hybridcloud.ops measured side by side with what users would otherwise run.

Every figure is the median of several runs made in the same session against the same simulator,
next to the alternative measured in the same run, with the ratio and the SPEC section 4 target.
Writes <out>/results.json and <out>/results.md. Not a test: nothing here asserts on time.

    PYTHONPATH=tests .venv/bin/python tests/bench/run.py --out .build/bench [--runs 5]
        [--scenario wait_lag --scenario single_read --scenario vscan --scenario fleet]
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from integration.harness import Ansible, Simulator, build_collection  # noqa: E402

PLAYBOOKS = os.path.join(HERE, "playbooks")
STATE_PATH = "/api/v1/vpn/ipsec/sessions/%s/state"


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values):
    return statistics.median(values) if values else None


class Bench:
    def __init__(self, out, runs, collections_path, peer_path=None):
        self.out = out
        self.runs = runs
        work = tempfile.mkdtemp(prefix="work-", dir=out)
        paths = collections_path if not peer_path else collections_path + os.pathsep + peer_path
        self.ansible = Ansible(paths, work)
        self.rows = []
        self.sims = []
        self.group = None  # the scenario (SCENARIOS key) being run

    def simulator(self, **options):
        sim = Simulator(tempfile.mkdtemp(prefix="sim-", dir=self.out), options=options)
        self.sims.append(sim)
        return sim

    def stop(self):
        for sim in self.sims:
            sim.stop()

    def play(self, playbook, extra_vars, env=None):
        """Run a playbook; return (run, wall seconds, CPU seconds of its whole process tree)."""
        cpu0, wall0 = children_cpu(), time.monotonic()
        run = self.ansible.playbook(os.path.join(PLAYBOOKS, playbook), extra_vars=extra_vars, env=env,
                                    timeout=1800)
        wall, cpu = time.monotonic() - wall0, children_cpu() - cpu0
        if run.rc != 0:
            raise RuntimeError("%s failed:\n%r" % (playbook, run))
        return run, wall, cpu

    def startup(self, sim=None):
        """Wall and CPU of the same kind of playbook with one debug task (Ansible's fixed cost)."""
        walls, cpus = [], []
        for _run in range(self.runs):
            wall, cpu = self.play("startup.yml", {})[1:]
            walls.append(wall)
            cpus.append(cpu)
        return median(walls), median(cpus)

    def add(self, **row):
        row.update(group=self.group, measured=time.strftime("%Y-%m-%d %H:%M"))
        self.rows.append(row)
        shown = dict((k, v) for k, v in row.items() if k != "samples")
        print("  " + json.dumps(shown), flush=True)


def nsx_vars(sim):
    nsx = sim.appliance("nsxt")
    return {"nsx": {"host": nsx["host"], "url": nsx["url"], "username": nsx["username"],
                    "password": nsx["password"], "ca_path": sim.config["ca_path"]}}


# -- scenario 1: wait lag -----------------------------------------------------------------
WAIT_VARIANTS = [
    ("hybridcloud.ops (defaults)", "nsx_wait_ours.yml", {}),
    ("uri + until, delay: 1", "nsx_wait_uri.yml", {"delay": 1}),
    ("uri + until, delay: 5", "nsx_wait_uri.yml", {"delay": 5}),
    # Not an alternative: what any module-based wait costs at the least (see the playbook).
    ("reference: one module task that only sleeps as long", "nsx_wait_floor.yml", {}),
]


def wait_lag(bench, realize_after):
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_cpu = bench.startup()[1]
    samples = dict((variant[0], []) for variant in WAIT_VARIANTS)
    for _run in range(bench.runs):
        for name, playbook, extra in WAIT_VARIANTS:  # interleaved, so drift hits all alike
            if playbook == "nsx_wait_floor.yml":
                cpu = bench.play(playbook, {"seconds": realize_after})[2]
                samples[name].append({"lag": None, "requests": 0, "cpu": cpu,
                                      "cpu_above_startup": cpu - startup_cpu})
                continue
            # t = 0 is the start of the wait: the session's clock starts at its first status read,
            # so Ansible's start-up does not eat into the realization time of either variant.
            made = sim.command("nsxt", "create_session", realize_after=realize_after, unknown_phase=True,
                               start_on_first_read=True)
            mark = sim.mark()
            run, wall, cpu = bench.play(playbook, dict(base_vars, session_id=made["session_id"], **extra))
            realized_at = sim.command("nsxt", "realized_at", session_id=made["session_id"])["realized_at"]
            returned = [r for r in run.results if r["task"] == "Wait for the session"][-1]["end"]
            requests = len([e for e in sim.log(since=mark, appliance="nsxt")
                            if e["path"] == STATE_PATH % made["session_id"]])
            samples[name].append({"lag": returned - realized_at, "requests": requests, "cpu": cpu,
                                  "cpu_above_startup": cpu - startup_cpu, "wall": wall})
    ref = median([s["cpu_above_startup"] for s in samples[WAIT_VARIANTS[1][0]]])
    for name in (variant[0] for variant in WAIT_VARIANTS):
        runs = samples[name]
        cpu_above = median([s["cpu_above_startup"] for s in runs])
        row = dict(scenario="wait_lag_%ds" % realize_after, variant=name,
                   median_lag_s=(round(median([s["lag"] for s in runs]), 3)
                                 if runs[0]["lag"] is not None else "n/a"),
                   median_requests=median([s["requests"] for s in runs]),
                   median_cpu_s=round(median([s["cpu"] for s in runs]), 3),
                   median_cpu_above_startup_s=round(cpu_above, 3),
                   cpu_ratio_vs_delay_1=round(cpu_above / ref, 3) if ref > 0 else None,
                   samples=runs)
        bench.add(**row)


# -- scenario 4: one status read ------------------------------------------------------------
def single_read(bench, count=50):
    sim = bench.simulator()
    base_vars = dict(nsx_vars(sim), session_id=sim.appliance("nsxt")["samples"]["session_id"], count=count)
    startup_wall, startup_cpu = bench.startup()
    variants = [("hybridcloud.ops (wait: false)", "nsx_read_ours.yml"), ("ansible.builtin.uri GET", "nsx_read_uri.yml")]
    samples = dict((variant[0], []) for variant in variants)
    for _run in range(bench.runs):
        for name, playbook in variants:
            wall, cpu = bench.play(playbook, base_vars)[1:]
            samples[name].append({"wall": wall, "cpu": cpu,
                                  "wall_per_task": (wall - startup_wall) / count,
                                  "cpu_per_task": (cpu - startup_cpu) / count})
    ref_wall = median([s["wall_per_task"] for s in samples[variants[1][0]]])
    ref_cpu = median([s["cpu_per_task"] for s in samples[variants[1][0]]])
    for name in (variant[0] for variant in variants):
        runs = samples[name]
        wall = median([s["wall_per_task"] for s in runs])
        cpu = median([s["cpu_per_task"] for s in runs])
        row = dict(scenario="single_read_x%d" % count, variant=name,
                   median_wall_per_task_s=round(wall, 4), median_cpu_per_task_s=round(cpu, 4),
                   wall_ratio_vs_uri=round(wall / ref_wall, 3), cpu_ratio_vs_uri=round(cpu / ref_cpu, 3),
                   samples=runs)
        bench.add(**row)


# -- scenario 2: vscan servers at scale -------------------------------------------------------
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


def vscan_scale(bench, servers):
    sim = bench.simulator(**{"ontap.servers": servers})
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
    variants = [("hybridcloud.ops vscan_server_status_info", "ontap_read_ours.yml"),
                ("netapp.ontap na_ontap_rest_info", "ontap_read_peer.yml")]
    samples = dict((name, []) for name, _playbook in variants)
    for _round in range(bench.runs):
        for name, playbook in variants:
            if os.path.exists(rss_file):
                os.remove(rss_file)
            mark = sim.mark()
            run, wall, cpu = bench.play(playbook, extra, env=env)
            task = [r for r in run.results if r["task"] == "Read every vscan server status"][-1]
            with open(rss_file) as handle:
                rss = max(int(line) for line in handle if line.strip())
            samples[name].append({"task_wall": task["end"] - task["start"], "wall": wall, "cpu": cpu,
                                  "module_peak_rss_mb": rss / 1024.0,
                                  "requests": len(sim.log(since=mark, appliance="ontap")),
                                  "records": servers})
    ref = samples[variants[1][0]]
    ref_wall = median([s["task_wall"] for s in ref])
    ref_rss = median([s["module_peak_rss_mb"] for s in ref])
    for name, _playbook in variants:
        runs = samples[name]
        wall = median([s["task_wall"] for s in runs])
        rss = median([s["module_peak_rss_mb"] for s in runs])
        row = dict(scenario="vscan_%d_servers" % servers, variant=name,
                   median_task_wall_s=round(wall, 2), median_module_peak_rss_mb=round(rss, 1),
                   median_requests=median([s["requests"] for s in runs]),
                   wall_ratio_vs_peer=round(wall / ref_wall, 3), rss_ratio_vs_peer=round(rss / ref_rss, 3),
                   page_size=PEER_PAGE, samples=runs)
        bench.add(**row)


# -- scenario 3: a fleet of sessions through the role ----------------------------------------------
def fleet(bench, count=200):
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    startup_cpu = bench.startup()[1]
    startup_wall = median([bench.play("startup.yml", {})[1] for _round in range(bench.runs)])
    variants = [("vpn_realization_check role (one task, concurrent)", "fleet_role.yml"),
                ("uri + until loop, delay: 1", "fleet_uri.yml")]
    samples = dict((name, []) for name, _playbook in variants)
    for index in range(bench.runs):
        for name, playbook in variants:
            if name.startswith("uri") and index > 0:
                continue  # one session after the other takes minutes: measured in the first round only
            made = sim.command("nsxt", "create_sessions", count=count, realize_min=1, realize_max=10)
            ids = [s["session_id"] for s in made["sessions"]]
            mark = sim.mark()
            wall, cpu = bench.play(playbook, dict(base_vars, session_ids=ids,
                                                  fleet_sessions=[{"id": i} for i in ids]))[1:]
            log = sim.log(since=mark, appliance="nsxt")
            span = (log[-1]["time"] - log[0]["time"]) if len(log) > 1 else 0
            samples[name].append({"wall": wall, "wall_above_startup": wall - startup_wall, "cpu": cpu,
                                  "requests": len(log), "requests_per_second": len(log) / span if span else None,
                                  "status_429": len([e for e in log if e["status"] == 429])})
    ref = median([s["wall_above_startup"] for s in samples[variants[1][0]]])
    for name, _playbook in variants:
        runs = samples[name]
        wall = median([s["wall_above_startup"] for s in runs])
        row = dict(scenario="fleet_%d_sessions" % count, variant=name,
                   median_wall_above_startup_s=round(wall, 2), startup_s=round(startup_wall, 2),
                   median_requests=median([s["requests"] for s in runs]),
                   median_requests_per_second=round(median([s["requests_per_second"] or 0 for s in runs]), 1),
                   status_429=max(s["status_429"] for s in runs),
                   wall_ratio_vs_uri_loop=round(wall / ref, 3), samples=runs)
        bench.add(**row)


SCENARIOS = {
    "wait_lag": lambda bench: (wait_lag(bench, 4), wait_lag(bench, 30)),
    "single_read": single_read,
    "vscan": lambda bench: (vscan_scale(bench, 10000), vscan_scale(bench, 100000)),
    "fleet": fleet,
}


def ours(row):
    return row["variant"].startswith(("hybridcloud", "vpn_realization_check"))


def _peer_requests(rows):
    return min(r["median_requests"] for r in rows if not ours(r))


def _wait(lag, requests, cpu):
    return ("lag <= %s s, <= %d requests, CPU above start-up <= %.2gx delay:1" % (lag, requests, cpu),
            lambda row, rows: (row["median_lag_s"] <= lag and row["median_requests"] <= requests
                               and row["cpu_ratio_vs_delay_1"] <= cpu))


def _scale(wall, rss):
    return ("wall <= %sx, module peak memory <= %sx of the peer, requests <= the peer's" % (wall, rss),
            lambda row, rows: (row["wall_ratio_vs_peer"] <= wall and row["rss_ratio_vs_peer"] <= rss
                               and row["median_requests"] <= _peer_requests(rows)))


def _read(wall, cpu):
    return ("wall <= %sx%s of uri per task" % (wall, " and CPU <= %sx" % cpu if cpu else ""),
            lambda row, rows: row["wall_ratio_vs_uri"] <= wall and (not cpu or row["cpu_ratio_vs_uri"] <= cpu))


_FLEET = ("<= 15 s plus start-up", lambda row, rows: row["median_wall_above_startup_s"] <= 15)

# scenario: (SPEC section 4 target, the floor), each a text and a test of our row
CRITERIA = {
    "wait_lag_4s": (_wait(0.5, 10, 0.25), _wait(0.6, 12, 1 / 3.0)),
    "wait_lag_30s": (_wait(2.0, 30, 0.1), _wait(3.0, 30, 1 / 3.0)),
    "vscan_10000_servers": (_scale(0.5, 0.8), _scale(0.7, 1.0)),
    "vscan_100000_servers": (("completes; wall <= 0.5x of the peer",
                              lambda row, rows: row["wall_ratio_vs_peer"] <= 0.5), _scale(0.7, 1.0)),
    "fleet_200_sessions": (_FLEET, _FLEET),
    "single_read_x50": (_read(1.0, 1.0), _read(1.1, None)),
}


def judged(scenario, rows):
    """Markdown cells "target met | floor met" per row, and the lines that say what they were."""
    found = CRITERIA.get(scenario)
    if not found:
        return dict((id(row), ["", ""]) for row in rows), []
    cells = {}
    for row in rows:
        cells[id(row)] = [("yes" if test(row, rows) else "**no**") if ours(row) else "" for _text, test in found]
    return cells, ["", "Target (SPEC section 4): %s." % found[0][0], "Floor (the issue): %s." % found[1][0]]


def earlier_rows(out, rerun):
    """Rows of an earlier results.json for the scenarios not run this time (a partial run updates)."""
    try:
        with open(os.path.join(out, "results.json")) as handle:
            rows = json.load(handle).get("rows", [])
    except (OSError, ValueError):
        return []
    return [row for row in rows if row.get("group") and row["group"] not in rerun]


def write_report(new_rows, runs, out, rerun):
    rows = earlier_rows(out, rerun) + new_rows
    rows.sort(key=lambda row: sorted(SCENARIOS).index(row["group"]) if row.get("group") in SCENARIOS else 0)
    doc = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "runs_per_figure": runs,
           "python": sys.version.split()[0], "cpu_count": os.cpu_count(), "rows": rows}
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(doc, handle, indent=2)
    lines = ["# hybridcloud.ops benchmark", "",
             "%s, median of %d runs per figure, Python %s, %d CPUs. Ratios are against the "
             "alternative measured in the same run (each scenario's date is under its heading)."
             % (doc["generated"], runs, doc["python"], doc["cpu_count"]), ""]
    by_scenario = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    hidden = ("scenario", "variant", "samples", "targets", "met", "group", "measured")  # targets/met: old runs
    for scenario, rows in by_scenario.items():
        keys = [k for k in rows[0] if k not in hidden]
        for row in rows:
            for key in row:
                if key not in keys and key not in hidden:
                    keys.append(key)
        lines += ["## %s" % scenario, "", "Measured %s." % rows[0].get("measured", "before this run"), "",
                  "| variant | " + " | ".join(keys) + " | target met | floor met |",
                  "|---|" + "---|" * (len(keys) + 2)]
        cells, notes = judged(scenario, rows)
        for row in rows:
            lines.append("| %s | %s | %s |" % (row["variant"], " | ".join(str(row.get(k, "")) for k in keys),
                                               " | ".join(cells[id(row)])))
        lines += notes + [""]
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "bench"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--report-only", action="store_true", help="write results.md again from results.json")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        return write_report([], args.runs, args.out, [])
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or build_collection(tempfile.mkdtemp(dir=args.out))
    wanted = args.scenario or sorted(SCENARIOS)
    peer = peer_collections(args.out) if "vscan" in wanted else None
    bench = Bench(args.out, args.runs, collections, peer)
    try:
        for name in wanted:
            print("scenario %s" % name, flush=True)
            bench.group = name
            SCENARIOS[name](bench)
    finally:
        bench.stop()
        write_report(bench.rows, bench.runs, args.out, wanted)


if __name__ == "__main__":
    main()
