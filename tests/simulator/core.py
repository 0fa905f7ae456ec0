"""The simulator's machinery: appliances, routing, faults, rate limits and the request log.

An appliance is a subclass of ``Appliance`` in ``simulator/appliances/<name>.py`` that declares
routes with ``@route(METHOD, r"regex")`` and answers with ``Reply``. Everything an appliance
has in common - TLS, keep-alive HTTP/1.1, fault injection, rate limiting, the request log - is
done here, so one file is one appliance.
"""

import collections
import json
import random
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Reply:
    """An HTTP answer. ``body`` may be a dict/list (sent as JSON), str or bytes."""

    def __init__(self, status=200, body=None, headers=None, content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type

    def encode(self):
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class Request:
    def __init__(self, method, target, headers, body, peer_cert, client, port=None):
        parts = urlsplit(target)
        self.method = method
        # Like most HTTP servers, repeated slashes in a path are merged.
        self.path = re.sub(r"/{2,}", "/", parts.path)
        self.raw_query = parts.query
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.query_lists = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.peer_cert = peer_cert
        self.client = client
        self.port = port      # the client's source port: one per TCP connection (keep-alive)
        self.admitted = None  # wall-clock time the appliance let it through its rate limit
        self.handled = False  # a fault with after=True: the appliance took it, the answer was lost
        # The status the appliance itself answered, whether or not the client got it (a fault
        # with after=True replaces it); None when a fault answered before the appliance saw it.
        self.appliance_status = None

    def json(self):
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


def route(method, pattern):
    """Mark an ``Appliance`` method as the handler of ``METHOD pattern`` (full match)."""
    def mark(func):
        func.route = (method.upper(), re.compile(pattern + r"\Z"))
        return func
    return mark


def command(func):
    """Mark an ``Appliance`` method as a control command (``POST /appliances/<name>/<cmd>``)."""
    func.command = func.__name__
    return func


class Appliance:
    """Base class of a simulated appliance (one port; HTTPS unless ``tls`` is False)."""

    name = "appliance"
    tls = True
    # Per client: requests per second (then 429) and concurrent requests (then 503); None = off.
    rate_limit = None
    concurrency_limit = None

    def __init__(self, sim, name=None):
        self.sim = sim
        if name:
            self.name = name
        self.lock = threading.RLock()
        self.rng = random.Random("%s-%s" % (sim.seed, self.name))
        self.routes = []
        self.commands = {}
        for attr in dir(type(self)):
            func = getattr(self, attr)
            if hasattr(func, "route"):
                self.routes.append((func.route[0], func.route[1], func))
            if hasattr(func, "command"):
                self.commands[func.command] = func
        self._windows = {}
        self._inflight = {}
        self.url = None
        self.port = None
        self.reset()

    # -- to be provided by each appliance ----------------------------------------------------
    def reset(self):
        """Put the appliance back in its starting state (samples included)."""

    def authenticate(self, req):
        """Return None when the request may proceed, or a Reply (401/403) when it may not."""
        return None

    def error_reply(self, status, message, code=None):
        """An error in this vendor's shape (used for faults, rate limits and unknown paths)."""
        return Reply(status, {"error": {"code": code or str(status), "message": message}})

    def describe(self):
        """What the simulator.json says about this appliance (credentials, sample ids...)."""
        return {}

    def response_headers(self, req):
        """Headers added to every answer (a vendor's correlation id, for instance)."""
        return {}

    def expire_sessions(self):
        """Invalidate the sessions/tokens clients hold (a fault kind)."""

    def started(self):
        """Called once every appliance listens (``self.url`` and peers' URLs are known)."""

    # -- helpers ---------------------------------------------------------------------------
    def now(self):
        return time.monotonic()

    def new_id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, req):
        reply = self._handle(req)
        req.appliance_status = reply.status
        return reply

    def _handle(self, req):
        with self.lock:
            limited = self._limit(req)
        try:
            if limited is not None:
                return limited
            denied = self.authenticate(req)
            if denied is not None:
                return denied
            allowed = []
            for method, pattern, func in self.routes:
                match = pattern.match(req.path)
                if match:
                    allowed.append(method)
                    if method == req.method:
                        with self.lock:
                            return func(req, **match.groupdict())
            if allowed:
                return self.error_reply(405, "Method %s not allowed on %s" % (req.method, req.path))
            return self.error_reply(404, "No such path: %s" % req.path)
        finally:
            with self.lock:
                self._inflight[req.client] -= 1

    def _limit(self, req):
        """Per-client rate and concurrency limits, as real appliances enforce them."""
        now = self.now()
        count = self._inflight.get(req.client, 0) + 1
        self._inflight[req.client] = count
        if self.concurrency_limit and count > self.concurrency_limit:
            return self.too_busy(req)
        if self.rate_limit:
            window = self._windows.setdefault(req.client, collections.deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                return self.too_many(req)
            window.append(now)
        req.admitted = time.time()
        return None

    def too_many(self, req):
        reply = self.error_reply(429, "Client has exceeded the rate limit of %s requests per second"
                                 % self.rate_limit)
        reply.headers.setdefault("Retry-After", "1")
        return reply

    def too_busy(self, req):
        return self.error_reply(503, "Client has exceeded the limit of %s concurrent requests"
                                % self.concurrency_limit)


class Fault:
    """One injected misbehaviour, matched on appliance, method and path."""

    KINDS = ("latency", "status", "html", "reset", "drop", "malformed_json", "empty", "timeout",
             "expire_session")

    def __init__(self, spec, rng):
        self.kind = spec["kind"]
        if self.kind not in self.KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (self.kind, ", ".join(self.KINDS)))
        self.appliance = spec.get("appliance")
        self.method = (spec.get("method") or "").upper() or None
        self.path = re.compile(spec["path"]) if spec.get("path") else None
        self.count = spec.get("count", 1)          # None = every matching request
        self.skip = spec.get("skip", 0)            # let this many matching requests through first
        self.probability = spec.get("probability")
        self.status = spec.get("status")
        self.retry_after = spec.get("retry_after")
        self.retry_after_date = spec.get("retry_after_date")
        self.seconds = float(spec.get("seconds", 0))
        # after=True: the appliance handles the request (a write takes effect) and the fault
        # replaces its answer, as a proxy that loses the reply of a write the backend took.
        self.after = bool(spec.get("after", False))
        self.rng = rng
        self.fired = 0

    def matches(self, appliance, req):
        if self.appliance and self.appliance != appliance:
            return False
        if self.method and self.method != req.method:
            return False
        if self.path and not self.path.search(req.path):
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


HTML_PAGE = ("<!DOCTYPE html><html><head><title>%(status)d %(reason)s</title></head><body>"
             "<h1>%(reason)s</h1><p>The proxy server received an invalid response from an "
             "upstream server.</p><hr><address>nginx</address></body></html>")


class Simulator:
    """All appliances of one run, the faults, and the request log."""

    def __init__(self, seed=0, state_dir=None):
        self.seed = seed
        self.state_dir = state_dir
        self.rng = random.Random(seed)
        self.appliances = {}
        self.faults = []
        self.log = []
        self.log_lock = threading.Lock()
        self.log_file = None
        self.started = time.time()

    def add(self, appliance):
        self.appliances[appliance.name] = appliance

    # -- faults ---------------------------------------------------------------------------
    def add_fault(self, spec):
        fault = Fault(spec, random.Random("%s-fault-%d" % (self.seed, len(self.faults))))
        with self.log_lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, appliance, req):
        with self.log_lock:
            for fault in self.faults:
                if fault.matches(appliance, req):
                    return fault
        return None

    # -- the log ------------------------------------------------------------------------------
    def record(self, appliance, req, status, started, fault=None):
        if fault and getattr(req, "handled", False):
            fault += " after handling"
        entry = {
            "seq": 0, "time": round(time.time(), 3), "appliance": appliance, "method": req.method,
            "path": req.path, "query": req.raw_query, "status": status,
            "ms": round((time.monotonic() - started) * 1000, 1), "fault": fault,
            "admitted": req.admitted, "appliance_status": req.appliance_status,
            "client": "%s:%s" % (req.client, req.port),
        }
        with self.log_lock:
            entry["seq"] = len(self.log) + 1
            self.log.append(entry)
            if self.log_file is not None:
                self.log_file.write("%s %-16s %-6s %s%s -> %s%s (%.1f ms)\n" % (
                    time.strftime("%H:%M:%S", time.localtime(entry["time"])), appliance,
                    req.method, req.path, "?" + req.raw_query if req.raw_query else "",
                    status if status is not None else "no answer",
                    " [fault %s]" % fault if fault else "", entry["ms"]))
                self.log_file.flush()

    def entries(self, appliance=None, method=None, path=None, since=0):
        pattern = re.compile(path) if path else None
        with self.log_lock:
            rows = list(self.log[since:])
        return [e for e in rows
                if (appliance is None or e["appliance"] == appliance)
                and (method is None or e["method"] == method.upper())
                and (pattern is None or pattern.search(e["path"]))]

    def reset(self):
        with self.log_lock:
            self.faults = []
        for appliance in self.appliances.values():
            with appliance.lock:
                appliance.reset()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after this long
    # Headers and body leave in one write, as real servers send them: two small writes would
    # meet Nagle's algorithm and the client's delayed ACK and stall every answer by ~40 ms.
    wbufsize = -1

    def log_message(self, *args):  # the simulator keeps its own log
        pass

    def _serve(self):
        started = time.monotonic()
        server = self.server
        appliance = server.appliance
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        peer = None
        if isinstance(self.connection, ssl.SSLSocket):
            peer = self.connection.getpeercert() or None
        req = Request(self.command, self.path, self.headers, body, peer, self.client_address[0],
                      self.client_address[1])
        sim = server.sim
        fault = sim.take_fault(appliance.name, req)
        if fault is not None and fault.after and fault.kind not in ("latency", "expire_session", "timeout"):
            appliance.handle(req)  # taken by the appliance; the answer is lost to the fault
            req.handled = True
            return self._fault(fault, req, started)
        if fault is not None:
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "expire_session":
                with appliance.lock:
                    appliance.expire_sessions()
            else:
                return self._fault(fault, req, started)
        reply = appliance.handle(req)
        headers = appliance.response_headers(req)
        headers.update(reply.headers)
        try:
            self._send(reply.status, reply.encode(), reply.content_type, headers)
        finally:  # handled is handled, even if the client has gone away meanwhile
            sim.record(appliance.name, req, reply.status, started, fault.kind if fault else None)

    def _fault(self, fault, req, started):
        sim, appliance = self.server.sim, self.server.appliance
        kind = fault.kind
        status = fault.status
        if kind in ("reset", "drop"):
            if kind == "reset":
                raw = self.connection
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            try:
                self.connection.close()
            except OSError:
                pass
            sim.record(appliance.name, req, None, started, kind)
            return
        if kind == "timeout":
            if fault.after:  # handled at once; the answer comes too late for the client
                reply = appliance.handle(req)
                req.handled = True
                time.sleep(fault.seconds or 5)
            else:
                time.sleep(fault.seconds or 5)
                reply = appliance.handle(req)
            try:
                self._send(reply.status, reply.encode(), reply.content_type, reply.headers)
            finally:  # the client has usually given up by now: the request still counts
                sim.record(appliance.name, req, reply.status, started, kind)
            return
        headers = {}
        if kind == "status":
            status = status or 503
            reply = appliance.error_reply(status, "Injected fault: HTTP %d" % status)
            payload, ctype = reply.encode(), reply.content_type
            headers.update(reply.headers)
        elif kind == "html":
            status = status or 502
            payload = (HTML_PAGE % {"status": status, "reason": self.responses.get(status, ("Error",))[0]}).encode()
            ctype = "text/html"
        elif kind == "malformed_json":
            status = status or 200
            payload, ctype = b'{"state": "in_progress", "details": [{"sub_sys', "application/json"
        else:  # empty
            status = status or 200
            payload, ctype = b"", "application/json"
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.retry_after_date is not None:
            headers["Retry-After"] = formatdate(time.time() + float(fault.retry_after_date), usegmt=True)
        base = appliance.response_headers(req)
        base.update(headers)
        self._send(status, payload, ctype, base)
        sim.record(appliance.name, req, status, started, kind)

    def _send(self, status, payload, ctype, headers):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, sim, appliance, context):
        self.sim = sim
        self.appliance = appliance
        self.context = context
        super().__init__(address, _Handler)

    def get_request(self):
        conn, addr = super().get_request()
        # As production servers do: small TLS records (session tickets, then the answer) must not
        # wait for the client's delayed ACK.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is not None:
            # The TLS handshake happens in the handler's thread, not in the accept loop.
            conn = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address):
        pass  # clients that vanish mid-request (faults, timeouts) are normal here


def serve(sim, appliance, host, port, context):
    server = _Server((host, port), sim, appliance, context)
    thread = threading.Thread(target=server.serve_forever, name="sim-%s" % appliance.name, daemon=True)
    thread.start()
    return server
