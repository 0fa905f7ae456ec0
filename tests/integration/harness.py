"""Running the simulator and real ansible / ansible-playbook processes for integration tests."""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
PLAYBOOKS = os.path.join(HERE, "playbooks")
# Environment variables of the modules: never inherited from the developer's shell.
PLATFORM_ENV_PREFIXES = ("ZSTACK_", "NSXT_", "VCDA_", "ONTAP_", "CUSTOMER_CONNECT_")


class Simulator:
    """A simulator process of our own, and its control API."""

    def __init__(self, state_dir, options=None):
        self.state_dir = state_dir
        self.log_file = open(os.path.join(state_dir, "simulator.out"), "w")
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
        cmd = [sys.executable, "-m", "simulator", "--state-dir", state_dir]
        for key, value in sorted((options or {}).items()):
            cmd += ["--option", "%s=%s" % (key, value)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        path = os.path.join(state_dir, "simulator.json")
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(os.path.join(state_dir, "simulator.out")) as handle:
                    raise RuntimeError("simulator did not start:\n" + handle.read())
            time.sleep(0.05)
        self.config_path = path
        self.config = self.call("GET", "/config")

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    @property
    def control_url(self):
        with open(os.path.join(self.state_dir, "simulator.json")) as handle:
            return json.load(handle)["control_url"]

    def appliance(self, name):
        return self.config["appliances"][name]

    def command(self, appliance, name, **body):
        return self.call("POST", "/appliances/%s/%s" % (appliance, name), body)

    def fault(self, **spec):
        return self.call("POST", "/faults", spec)

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def mark(self):
        """A position in the request log; pass it as ``since`` to see only what came after."""
        return self.call("GET", "/log/size")["size"]

    def log(self, since=0, appliance=None, method=None, path=None):
        query = "&".join("%s=%s" % (k, urllib.request.quote(str(v), safe=""))
                         for k, v in (("since", since), ("appliance", appliance), ("method", method),
                                      ("path", path)) if v)
        return self.call("GET", "/log?" + query)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log_file.close()


class Run:
    """The outcome of one ansible or ansible-playbook process."""

    def __init__(self, cmd, proc, results):
        self.cmd = cmd
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = results  # one dict per task result, in order

    @property
    def output(self):
        return self.stdout + self.stderr

    def task(self, name):
        """The result of the (last) task with this name."""
        found = [r for r in self.results if r["task"] == name]
        assert found, "no task named %r ran; tasks: %s\n%s" % (
            name, [r["task"] for r in self.results], self.output[-3000:])
        return found[-1]["result"]

    @property
    def last(self):
        assert self.results, "no task ran:\n%s" % self.output[-3000:]
        return self.results[-1]["result"]

    def __repr__(self):
        return "<Run rc=%s %s>\n%s" % (self.rc, " ".join(map(shlex.quote, self.cmd)), self.output[-4000:])


class Ansible:
    """Runs real ansible / ansible-playbook with the collection as installed for users."""

    def __init__(self, collections_path, work_dir):
        self.collections_path = collections_path
        self.work_dir = work_dir

    def env(self, extra=None):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(PLATFORM_ENV_PREFIXES))
        env.update(
            ANSIBLE_COLLECTIONS_PATH=self.collections_path,
            ANSIBLE_HOME=os.path.join(self.work_dir, "ansible-home"),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="task_results",
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra or {})
        return env

    def _run(self, cmd, env, timeout):
        fd, results_path = tempfile.mkstemp(prefix="results-", suffix=".jsonl", dir=self.work_dir)
        os.close(fd)
        env = self.env(env)
        env["TASK_RESULTS_FILE"] = results_path
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=self.work_dir,
                              check=False)
        with open(results_path) as handle:
            results = [json.loads(line) for line in handle if line.strip()]
        os.remove(results_path)
        return Run(cmd, proc, results)

    def module(self, name, args, env=None, verbosity=0, check=False, timeout=300):
        """Run one module ad hoc: ``ansible localhost -m hybridcloud.ops.<name> -a <json>``."""
        cmd = [os.path.join(BIN, "ansible"), "localhost", "-m", "hybridcloud.ops." + name,
               "-a", json.dumps(args)]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if check:
            cmd.append("--check")
        return self._run(cmd, env, timeout)

    def playbook(self, playbook, extra_vars=None, env=None, verbosity=0, check=False, timeout=300,
                 args=()):
        path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS, playbook)
        cmd = [os.path.join(BIN, "ansible-playbook"), path]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if check:
            cmd.append("--check")
        cmd += list(args)
        return self._run(cmd, env, timeout)


def build_collection(dest):
    """Build the checkout into a tarball and install it, as a user would get it."""
    dist = os.path.join(dest, "dist")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force",
                    "--output-path", dist, ROOT], check=True, capture_output=True, cwd=ROOT)
    tarball = [f for f in os.listdir(dist) if f.endswith(".tar.gz")][0]
    path = os.path.join(dest, "collections")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "--offline",
                    "-p", path, os.path.join(dist, tarball)], check=True, capture_output=True)
    return path


def assert_refused_before_any_request(ansible, simulator, module, args, override, fragment, appliances):
    """Run ``module`` with ``args`` changed by ``override`` (a None value removes the option):
    it must fail with ``fragment`` in its message, no Python traceback, and send nothing to any
    of ``appliances``."""
    args = dict(args, **override)
    args = dict((k, v) for k, v in args.items() if v is not None)
    mark = simulator.mark()
    run = ansible.module(module, args)
    assert run.rc != 0
    assert fragment in run.last["msg"], run.last["msg"]
    for appliance in appliances:
        assert simulator.log(since=mark, appliance=appliance) == [], appliance
    assert "Traceback" not in run.output
