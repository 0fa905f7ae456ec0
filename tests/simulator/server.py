"""Start every appliance on its own loopback port, the control API, and simulator.json.

The control API (plain HTTP, loopback) is how tests, the demo and the benchmark steer the
appliances without touching their vendor-faithful endpoints:

    GET    /config                          the simulator.json document
    GET    /log?appliance=&method=&path=&since=   request log entries (JSON list), each with
                                            seq, time, appliance, method, path, query, status
                                            (what the client got), appliance_status (what the
                                            appliance itself answered; null when a fault
                                            answered before it), fault, admitted (when the rate
                                            limiter let it in), client (address:port), ms
    GET    /log/size                        how many entries the log has (a mark for ``since``)
    POST   /faults        {kind, appliance, method, path, count, skip, probability, status,
                           retry_after, retry_after_date, seconds, after}   (or a list of them;
                                            after=true: the request is handled, then its answer is
                                            replaced by the fault, as a lost reply of a write)
    DELETE /faults                          remove every fault
    POST   /reset                           appliances back to their start state, no faults
    POST   /appliances/<name>/<command>     an appliance's own scenario command (JSON body)
    POST   /appliances/<name>/limits        {rate_limit, concurrency_limit}
"""

import importlib
import json
import os
import pkgutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simulator import appliances as appliance_package
from simulator.core import Simulator, serve
from simulator.tls import LOOPBACK_NAMES, Authority


def discover():
    """Every appliance module under simulator/appliances/, each with a build(sim) function."""
    found = []
    for info in sorted(pkgutil.iter_modules(appliance_package.__path__), key=lambda i: i.name):
        module = importlib.import_module("simulator.appliances.%s" % info.name)
        if hasattr(module, "build"):
            found.append(module)
    return found


class Running:
    """A started simulator: its servers, its control API and its simulator.json."""

    def __init__(self, state_dir, seed=0, host="127.0.0.1", ports=None, only=None, options=None):
        os.makedirs(state_dir, exist_ok=True)
        self.state_dir = os.path.abspath(state_dir)
        self.sim = Simulator(seed=seed, state_dir=self.state_dir)
        self.sim.options = options or {}
        self.sim.log_file = open(os.path.join(self.state_dir, "requests.log"), "a")
        self.authority = Authority(self.state_dir)
        self.sim.authority = self.authority
        self.host = host
        self.servers = []
        ports = ports or {}
        for module in discover():
            for appliance in module.build(self.sim):
                if only and appliance.name not in only and module.__name__.rsplit(".", 1)[-1] not in only:
                    continue
                self.sim.add(appliance)
        for appliance in self.sim.appliances.values():
            appliance.urls = {}
            for index, scheme in enumerate(getattr(appliance, "schemes", ("https",))):
                context = None
                if scheme == "https":
                    context, appliance.cert_path = self.authority.server_context(
                        appliance.name, identities=getattr(appliance, "tls_identities", LOOPBACK_NAMES),
                        client_auth=getattr(appliance, "client_auth", False))
                wanted = ports.get(appliance.name, 0) if index == 0 else 0
                server = serve(self.sim, appliance, host, wanted, context)
                self.servers.append(server)
                appliance.__dict__.setdefault("servers", []).append(server)  # e.g. to rotate its certificate
                appliance.urls[scheme] = "%s://%s:%d" % (scheme, host, server.server_address[1])
                if index == 0:
                    appliance.port = server.server_address[1]
                    appliance.url = appliance.urls[scheme]
            appliance.started()
        self.control = ThreadingHTTPServer((host, ports.get("control", 0)), _ControlHandler)
        self.control.daemon_threads = True
        self.control.running = self
        threading.Thread(target=self.control.serve_forever, name="sim-control", daemon=True).start()
        self.config_path = os.path.join(self.state_dir, "simulator.json")
        self.write_config()

    def config(self):
        doc = {
            "control_url": "http://%s:%d" % (self.host, self.control.server_address[1]),
            "ca_path": self.authority.ca_path,
            "log_path": os.path.join(self.state_dir, "requests.log"),
            "seed": self.sim.seed,
            "appliances": {},
        }
        for name, appliance in self.sim.appliances.items():
            entry = {"url": appliance.url, "urls": appliance.urls,
                     "host": appliance.url.split("://", 1)[1],
                     "cert_path": getattr(appliance, "cert_path", None)}
            entry.update(appliance.describe())
            doc["appliances"][name] = entry
        return doc

    def write_config(self):
        # A temporary file per thread: control commands from concurrent clients write at once.
        tmp = "%s.%d.tmp" % (self.config_path, threading.get_ident())
        with open(tmp, "w") as handle:
            json.dump(self.config(), handle, indent=2, sort_keys=True)
        os.replace(tmp, self.config_path)  # readers never see a half-written file

    def stop(self):
        for server in self.servers + [self.control]:
            server.shutdown()
            server.server_close()
        if self.sim.log_file:
            self.sim.log_file.close()
        try:
            os.remove(self.config_path)
        except OSError:
            pass


class _ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, doc):
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def do_GET(self):
        running = self.server.running
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/config":
            return self._reply(200, running.config())
        if parts.path == "/log":
            rows = running.sim.entries(appliance=query.get("appliance"), method=query.get("method"),
                                       path=query.get("path"), since=int(query.get("since", 0)))
            return self._reply(200, rows)
        if parts.path == "/log/size":
            return self._reply(200, {"size": len(running.sim.log)})
        return self._reply(404, {"error": "no such control path %s" % parts.path})

    def do_DELETE(self):
        if urlsplit(self.path).path == "/faults":
            with self.server.running.sim.log_lock:
                self.server.running.sim.faults = []
            return self._reply(200, {"faults": 0})
        return self._reply(404, {"error": "no such control path"})

    def do_POST(self):
        running = self.server.running
        sim = running.sim
        path = urlsplit(self.path).path
        try:
            body = self._body()
            if path == "/faults":
                specs = body if isinstance(body, list) else [body]
                for spec in specs:
                    sim.add_fault(spec)
                return self._reply(200, {"faults": len(sim.faults)})
            if path == "/reset":
                sim.reset()
                running.write_config()
                return self._reply(200, {"reset": True, "log_size": len(sim.log)})
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "appliances":
                appliance = sim.appliances.get(parts[1])
                if appliance is None:
                    return self._reply(404, {"error": "no appliance %s" % parts[1]})
                if parts[2] == "limits":
                    with appliance.lock:
                        for key in ("rate_limit", "concurrency_limit"):
                            if key in body:
                                setattr(appliance, key, body[key])
                    return self._reply(200, {"rate_limit": appliance.rate_limit,
                                             "concurrency_limit": appliance.concurrency_limit})
                func = appliance.commands.get(parts[2])
                if func is None:
                    return self._reply(404, {"error": "appliance %s has no command %s (has: %s)" % (
                        parts[1], parts[2], ", ".join(sorted(appliance.commands)))})
                with appliance.lock:
                    result = func(**body)
                running.write_config()
                return self._reply(200, result)
            return self._reply(404, {"error": "no such control path %s" % path})
        except (ValueError, TypeError, KeyError) as exc:
            return self._reply(400, {"error": "%s: %s" % (type(exc).__name__, exc)})
