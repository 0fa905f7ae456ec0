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
        for _ in range(self.runs):
            _, wall, cpu = self.play("startup.yml", {})
            walls.append(wall)
            cpus.append(cpu)
        return median(walls), median(cpus)

    def add(self, **row):
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
]


def wait_lag(bench, realize_after):
    sim = bench.simulator()
    base_vars = nsx_vars(sim)
    _, startup_cpu = bench.startup()
    samples = dict((name, []) for name, _, _ in WAIT_VARIANTS)
    for _ in range(bench.runs):
        for name, playbook, extra in WAIT_VARIANTS:  # interleaved, so drift hits all alike
            made = sim.command("nsxt", "create_session", realize_after=realize_after, unknown_phase=True)
            realized_at = sim.command("nsxt", "realized_at", session_id=made["session_id"])["realized_at"]
            mark = sim.mark()
            run, wall, cpu = bench.play(playbook, dict(base_vars, session_id=made["session_id"], **extra))
            returned = [r for r in run.results if r["task"] == "Wait for the session"][-1]["end"]
            requests = len([e for e in sim.log(since=mark, appliance="nsxt")
                            if e["path"] == STATE_PATH % made["session_id"]])
            samples[name].append({"lag": returned - realized_at, "requests": requests, "cpu": cpu,
                                  "cpu_above_startup": cpu - startup_cpu, "wall": wall})
    ref = median([s["cpu_above_startup"] for s in samples[WAIT_VARIANTS[1][0]]])
    targets = {4: (0.5, 10, 0.25), 30: (2.0, 30, 0.1)}[realize_after]
    for name, _, _ in WAIT_VARIANTS:
        runs = samples[name]
        cpu_above = median([s["cpu_above_startup"] for s in runs])
        row = dict(scenario="wait_lag_%ds" % realize_after, variant=name,
                   median_lag_s=round(median([s["lag"] for s in runs]), 3),
                   median_requests=median([s["requests"] for s in runs]),
                   median_cpu_s=round(median([s["cpu"] for s in runs]), 3),
                   median_cpu_above_startup_s=round(cpu_above, 3),
                   cpu_ratio_vs_delay_1=round(cpu_above / ref, 3) if ref > 0 else None,
                   samples=runs)
        if name.startswith("hybridcloud"):
            lag_t, req_t, cpu_t = targets
            row["targets"] = "lag <= %s s, <= %d requests, CPU above start-up <= %sx delay:1" % (lag_t, req_t, cpu_t)
            row["met"] = (row["median_lag_s"] <= lag_t and row["median_requests"] <= req_t
                          and row["cpu_ratio_vs_delay_1"] is not None and row["cpu_ratio_vs_delay_1"] <= cpu_t)
        bench.add(**row)


# -- scenario 4: one status read ------------------------------------------------------------
def single_read(bench, count=50):
    sim = bench.simulator()
    base_vars = dict(nsx_vars(sim), session_id=sim.appliance("nsxt")["samples"]["session_id"], count=count)
    startup_wall, startup_cpu = bench.startup()
    variants = [("hybridcloud.ops (wait: false)", "nsx_read_ours.yml"), ("ansible.builtin.uri GET", "nsx_read_uri.yml")]
    samples = dict((name, []) for name, _ in variants)
    for _ in range(bench.runs):
        for name, playbook in variants:
            _, wall, cpu = bench.play(playbook, base_vars)
            samples[name].append({"wall": wall, "cpu": cpu,
                                  "wall_per_task": (wall - startup_wall) / count,
                                  "cpu_per_task": (cpu - startup_cpu) / count})
    ref_wall = median([s["wall_per_task"] for s in samples[variants[1][0]]])
    ref_cpu = median([s["cpu_per_task"] for s in samples[variants[1][0]]])
    for name, _ in variants:
        runs = samples[name]
        wall = median([s["wall_per_task"] for s in runs])
        cpu = median([s["cpu_per_task"] for s in runs])
        row = dict(scenario="single_read_x%d" % count, variant=name,
                   median_wall_per_task_s=round(wall, 4), median_cpu_per_task_s=round(cpu, 4),
                   wall_ratio_vs_uri=round(wall / ref_wall, 3), cpu_ratio_vs_uri=round(cpu / ref_cpu, 3),
                   samples=runs)
        if name.startswith("hybridcloud"):
            row["targets"] = "wall and CPU per task <= 1.0x uri (issue floor: wall <= 1.1x)"
            row["met"] = row["wall_ratio_vs_uri"] <= 1.0 and row["cpu_ratio_vs_uri"] <= 1.0
        bench.add(**row)


SCENARIOS = {
    "wait_lag": lambda bench: (wait_lag(bench, 4), wait_lag(bench, 30)),
    "single_read": single_read,
}


def write_report(bench, out):
    doc = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"), "runs_per_figure": bench.runs,
           "python": sys.version.split()[0], "cpu_count": os.cpu_count(), "rows": bench.rows}
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(doc, handle, indent=2)
    lines = ["# hybridcloud.ops benchmark", "",
             "%s, median of %d runs per figure, Python %s, %d CPUs. Ratios are against the "
             "alternative measured in the same run." % (doc["generated"], bench.runs, doc["python"], doc["cpu_count"]), ""]
    by_scenario = {}
    for row in bench.rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    for scenario, rows in by_scenario.items():
        keys = [k for k in rows[0] if k not in ("scenario", "variant", "samples", "targets", "met")]
        for row in rows:
            for key in row:
                if key not in keys and key not in ("scenario", "variant", "samples", "targets", "met"):
                    keys.append(key)
        lines += ["## %s" % scenario, "", "| variant | " + " | ".join(keys) + " | target met |",
                  "|---|" + "---|" * (len(keys) + 1)]
        for row in rows:
            met = "" if "met" not in row else ("yes" if row["met"] else "**no**")
            lines.append("| %s | %s | %s |" % (row["variant"], " | ".join(str(row.get(k, "")) for k in keys), met))
        targets = [r["targets"] for r in rows if "targets" in r]
        if targets:
            lines += ["", "Target: %s" % targets[0]]
        lines.append("")
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "bench"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--peer-collections", help="collections path holding netapp.ontap")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or build_collection(tempfile.mkdtemp(dir=args.out))
    bench = Bench(args.out, args.runs, collections, args.peer_collections)
    try:
        for name in args.scenario or sorted(SCENARIOS):
            print("scenario %s" % name, flush=True)
            SCENARIOS[name](bench)
    finally:
        bench.stop()
        write_report(bench, args.out)


if __name__ == "__main__":
    main()
