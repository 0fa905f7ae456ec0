"""NetApp ONTAP: the Vscan server connection status of a cluster, at any size.

Faithful to ``GET /api/protocols/vscan/server-status`` (api-docs/ontap_vscan_server_status.txt,
api-specs/ontap_vscan_server_status_DERIVED.swagger.json; ``interface.*`` and
``privileged_user`` as ONTAP 9.10+ returns them) and to ONTAP's collection conventions:

- ONTAP query syntax on every field: ``value``, ``!value``, ``va*ue`` (wildcard), ``a|b``
  (alternatives), ``<``/``>``/``<=``/``>=`` and ``lo..hi`` (numbers, times, text), ``null`` and
  ``!null``. An unset field never matches (not even ``!value``). Unknown fields are
  ``262179 Unexpected argument``; an impossible enum value is ``262196``.
- ``fields`` (key fields ``svm``, ``node`` and ``ip`` only, unless asked; ``*``/``**`` = all),
  ``order_by`` (``field [asc|desc]``, csv), ``max_records`` pages whose ``_links.next.href``
  carries the request's query unchanged plus an opaque ``start.index`` cursor,
  ``return_records=false`` (only ``num_records``), ``return_timeout`` (0-120).
- ``Accept: application/json`` drops every HAL link except ``next``, as ONTAP does.
- An exact ``svm.name``/``svm.uuid`` that names no SVM is error ``4`` ("entry doesn't exist").
- Basic auth (401 in ONTAP's error shape) or a client certificate signed by the simulator CA.
- ``GET /api/cluster`` with ``name``, ``uuid`` and ``version {full, generation, major, minor}``.

The data set is computed from the index of a server, not stored: ``ontap.servers`` (default
2,500; 100,000 is fine), ``ontap.svms`` (default one per 25 servers, at most 1,000) and
``ontap.nodes`` (default 4) shape it, deterministically from the seed. Every SVM has one
scanner IP per node and per scanner; every 10th SVM (``svm007``, ``svm017``...) has some
scanners disconnected for varied reasons, every 50th (``svm049``...) has Vscan disabled. Only
scheduled connection changes are kept, so memory stays flat and every page is built on demand.

Control commands (``POST /appliances/ontap/<command>``): ``disconnect`` (svm/node/ip patterns in
ONTAP syntax, count, reason, after, reconnect_after, start: now|next_read), ``connect``,
``set_behaviour`` (short_pages as when return_timeout runs out, absolute_links, repeat_next for a
broken cursor), ``counts`` and ``restore`` (this appliance back to its starting data set).
"""

import base64
import bisect
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import time
import uuid
from array import array
from datetime import datetime
from urllib.parse import unquote_plus

from simulator.core import Appliance, Reply, command, route

COLLECTION = "/api/protocols/vscan/server-status"
REASONS = ("unknown", "vscan_disabled", "no_data_lif", "session_uninitialized", "remote_closed",
           "invalid_protocol_msg", "invalid_session_id", "inactive_connection", "invalid_user",
           "server_removed")
# Reasons a scanner in a healthy SVM may show (vscan_disabled/no_data_lif belong to the SVM).
FLAKY_REASONS = ("remote_closed", "inactive_connection", "session_uninitialized", "invalid_user",
                 "server_removed", "unknown", "invalid_session_id", "invalid_protocol_msg")
ENUMS = {"state": ("connected", "disconnected"), "type": ("primary", "backup"),
         "disconnected_reason": REASONS}
# Every field of vscan_server_status, flattened, in schema order.
FIELDS = ("svm.uuid", "svm.name", "node.uuid", "node.name", "interface.name", "interface.uuid",
          "interface.ip.address", "ip", "privileged_user", "state", "disconnected_reason", "type",
          "update_time", "vendor", "version")
KEY_FIELDS = ("svm.uuid", "svm.name", "node.uuid", "node.name", "ip")
OBJECTS = ("svm", "node", "interface", "interface.ip")
SCANNERS = (("Trend Micro Inc.", "6.0.1171"), ("McAfee", "2.3.0.165"),
            ("Symantec Protection Engine", "9.0.0.31"))
VERSION = {"full": "NetApp Release 9.14.1P3: Thu Apr 18 13:51:47 UTC 2024", "generation": 9,
           "major": 14, "minor": 1}
ERR_NOT_FOUND = "4"
ERR_UNEXPECTED_ARGUMENT = "262179"
ERR_INVALID_ENUM = "262196"
ERR_INVALID_VALUE = "262197"
ERR_NOT_AUTHORIZED = "6691623"


class QueryError(Exception):
    def __init__(self, message, code, target):
        super().__init__(message)
        self.message, self.code, self.target = message, code, target


def _mix(*numbers):
    """A cheap, well-spread 32-bit hash of some integers (deterministic, unlike hash())."""
    h = 2166136261
    for n in numbers:
        h = ((h ^ (n & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
        h ^= h >> 13
        h = (h * 2246822519) & 0xFFFFFFFF
    return h ^ (h >> 16)


def _uuid(seed, *parts):
    digest = hashlib.md5(("%s/%s" % (seed, "/".join(map(str, parts)))).encode()).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


def _comparable(a, b):
    """The pair as numbers, IP addresses or times, else as text: how ONTAP orders a range."""
    try:
        return float(a), float(b)
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        pass
    try:
        return (datetime.fromisoformat(a.replace("Z", "+00:00")),
                datetime.fromisoformat(b.replace("Z", "+00:00")))
    except ValueError:
        return a, b


def _term_test(term):
    """A predicate for one alternative of an ONTAP query value (without its leading '!')."""
    if term == "null":
        return lambda v: v is None
    for op in ("<=", ">=", "<", ">"):
        if term.startswith(op):
            bound = term[len(op):]
            cmp = {"<=": lambda x, y: x <= y, ">=": lambda x, y: x >= y,
                   "<": lambda x, y: x < y, ">": lambda x, y: x > y}[op]

            def compare(v, bound=bound, cmp=cmp):
                if v is None:
                    return False
                try:
                    return cmp(*_comparable(v, bound))
                except TypeError:
                    return False
            return compare
    if ".." in term:
        low, high = term.split("..", 1)

        def within(v):
            if v is None:
                return False
            try:
                a, lo = _comparable(v, low)
                b, hi = _comparable(v, high)
                return lo <= a and b <= hi
            except TypeError:
                return False
        return within
    if "*" in term:
        pattern = re.compile(".*".join(re.escape(p) for p in term.split("*")) + r"\Z", re.S)
        return lambda v: v is not None and pattern.match(v) is not None
    return lambda v: v == term


def compile_query(field, text):
    """Predicate of ``field=<text>`` in ONTAP query syntax; an unset field never matches."""
    tests = []
    for term in text.split("|"):
        negate = term.startswith("!")
        body = term[1:] if negate else term
        if field in ENUMS and body and not any(c in body for c in "*<>") and ".." not in body \
                and body != "null" and body not in ENUMS[field]:
            raise QueryError("\"%s\" is an invalid value for field \"%s\" (<%s>)"
                             % (body, field, "|".join(ENUMS[field])), ERR_INVALID_ENUM, field)
        test = _term_test(body)
        if negate and body == "null":
            tests.append(lambda v: v is not None)
        elif negate:
            tests.append(lambda v, t=test: v is not None and not t(v))
        else:
            tests.append(test)
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def wanted_fields(text):
    """The flat fields a ``fields`` value asks for (key fields are always returned)."""
    if text is None:
        return set(KEY_FIELDS)
    want = set(KEY_FIELDS)
    for item in [p.strip() for p in text.split(",") if p.strip()]:
        if item in ("*", "**"):
            return set(FIELDS)
        name = item[:-2] if item.endswith(".*") else item
        if name in FIELDS:
            want.add(name)
        elif name in OBJECTS:
            want.update(f for f in FIELDS if f.startswith(name + "."))
        else:
            raise QueryError("The value \"%s\" is invalid for field \"fields\"." % item,
                             ERR_INVALID_VALUE, "fields")
    return want


def parse_order(text):
    order = []
    for item in [p.strip() for p in (text or "").split(",") if p.strip()]:
        parts = item.split()
        name = parts[0]
        direction = parts[1].lower() if len(parts) > 1 else "asc"
        if name not in FIELDS or direction not in ("asc", "desc") or len(parts) > 2:
            raise QueryError("Invalid order_by value \"%s\": expected a field of "
                             "vscan_server_status and an optional asc or desc." % item,
                             ERR_INVALID_VALUE, "order_by")
        order.append((name, direction == "desc"))
    return tuple(order)


class OntapCluster(Appliance):
    name = "ontap"
    client_auth = True

    def __init__(self, sim):
        self.username = "admin"
        self.password = "Ontap-%s!" % secrets.token_hex(8)
        options = getattr(sim, "options", {}) or {}
        self.total = max(0, int(options.get("ontap.servers", 2500)))
        nodes = int(options.get("ontap.nodes", 4))
        svms = int(options.get("ontap.svms", min(1000, max(1, self.total // 25))))
        self.nodes = max(1, nodes)
        self.svms = max(1, min(svms, self.total or 1))
        self.per_svm = max(1, math.ceil(self.total / self.svms))
        self.scanners_per_svm = math.ceil(self.per_svm / self.nodes)
        self.cluster_name = "cluster1"
        super().__init__(sim)
        seed = sim.seed
        self.seed = seed
        self.cluster_uuid = _uuid(seed, "cluster")
        width = max(3, len(str(self.svms - 1)))
        self.svm_names = ["svm%0*d" % (width, v) for v in range(self.svms)]
        self.svm_uuids = [_uuid(seed, "svm", v) for v in range(self.svms)]
        self.svm_index = dict((n, v) for v, n in enumerate(self.svm_names))
        self.svm_index.update((u, v) for v, u in enumerate(self.svm_uuids))
        self.node_names = ["%s-%02d" % (self.cluster_name, n + 1) for n in range(self.nodes)]
        self.node_uuids = [_uuid(seed, "node", n) for n in range(self.nodes)]
        self.lif_uuids = {}
        self.principal = "ontap-automation"
        self.client_cert, self.client_key = sim.authority.client_certificate(self.name, self.principal)
        self.getters = {
            "svm.uuid": lambda i: self.svm_uuids[i // self.per_svm],
            "svm.name": lambda i: self.svm_names[i // self.per_svm],
            "node.uuid": lambda i: self.node_uuids[(i % self.per_svm) % self.nodes],
            "node.name": lambda i: self.node_names[(i % self.per_svm) % self.nodes],
            "interface.name": self._lif_name,
            "interface.uuid": self._lif_uuid,
            "interface.ip.address": self._lif_ip,
            "ip": self._ip,
            "privileged_user": self._privileged_user,
            "state": lambda i: self.status(i)[0],
            "disconnected_reason": lambda i: self.status(i)[1],
            "type": lambda i: "backup" if ((i % self.per_svm) // self.nodes) % 4 == 3 else "primary",
            "update_time": lambda i: _iso(self.status(i)[2]),
            "vendor": lambda i: self._scanner(i, 0),
            "version": lambda i: self._scanner(i, 1),
        }

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.started_wall = time.time()
        self.started_mono = self.now()
        self.generation = getattr(self, "generation", 0) + 1
        self.changes = {}        # server index -> [(monotonic time, state, reason)], sorted
        self.change_times = []   # every scheduled change time, sorted (cache validity)
        self.sorted_cache = {}
        self.pending = []        # reconnects whose clock starts at the next read
        self.short_pages = None
        self.absolute_links = False
        self.repeat_next = False

    def base_status(self, i):
        v = i // self.per_svm
        if v % 50 == 49:
            return "disconnected", "vscan_disabled"
        if v % 10 == 7:
            h = _mix(self.seed, i)
            if h % 5 == 0:
                return "disconnected", FLAKY_REASONS[(h // 5) % len(FLAKY_REASONS)]
        return "connected", None

    def status(self, i):
        """(state, disconnected_reason, epoch of the last change) of server ``i`` now."""
        events = self.changes.get(i)
        if events:
            now = self.now()
            last = None
            for event in events:
                if event[0] > now:
                    break
                last = event
            if last is not None:
                return last[1], last[2], self.started_wall + (last[0] - self.started_mono)
        state, reason = self.base_status(i)
        return state, reason, self.started_wall - 3600 - _mix(self.seed, i, 7) % 86400

    def version_now(self):
        return self.generation, bisect.bisect_right(self.change_times, self.now())

    # -- computed fields ----------------------------------------------------------------------
    def _where(self, i):
        v, j = divmod(i, self.per_svm)
        return v, j % self.nodes, j // self.nodes

    def _ip(self, i):
        v, scanner = self._where(i)[0::2]
        g = v * self.scanners_per_svm + scanner
        return "10.%d.%d.%d" % (16 + g // 64516, (g // 254) % 254, g % 254 + 1)

    def _lif_key(self, i):
        return self._where(i)[:2]

    def _has_lif(self, i):
        return self.status(i)[1] != "no_data_lif"

    def _lif_name(self, i):
        if not self._has_lif(i):
            return None
        v, n = self._lif_key(i)
        return "lif_%s_%s" % (self.svm_names[v], self.node_names[n].rsplit("-", 1)[-1])

    def _lif_uuid(self, i):
        if not self._has_lif(i):
            return None
        key = self._lif_key(i)
        found = self.lif_uuids.get(key)
        if found is None:
            found = self.lif_uuids[key] = _uuid(self.seed, "lif", *key)
        return found

    def _lif_ip(self, i):
        if not self._has_lif(i):
            return None
        v, n = self._lif_key(i)
        k = v * self.nodes + n
        return "172.%d.%d.%d" % (16 + k // 64516, (k // 254) % 254, k % 254 + 1)

    def _privileged_user(self, i):
        if self.status(i)[0] != "connected":
            return None
        return "CORP\\svc-vscan%02d" % (i // self.per_svm % 8)

    def _scanner(self, i, part):
        if self.status(i)[0] != "connected":
            return None
        return SCANNERS[(i // self.per_svm) % len(SCANNERS)][part]

    def record(self, i, want, hal):
        """One vscan_server_status record with the wanted fields, in ONTAP's nesting."""
        v, j = divmod(i, self.per_svm)
        n = j % self.nodes
        state, reason, since = self.status(i)
        connected = state == "connected"
        rec = {}
        if "svm.uuid" in want or "svm.name" in want:
            svm = rec["svm"] = {}
            if "svm.uuid" in want:
                svm["uuid"] = self.svm_uuids[v]
            if "svm.name" in want:
                svm["name"] = self.svm_names[v]
            if hal:
                svm["_links"] = {"self": {"href": "/api/svm/svms/%s" % self.svm_uuids[v]}}
        if "node.uuid" in want or "node.name" in want:
            node = rec["node"] = {}
            if "node.uuid" in want:
                node["uuid"] = self.node_uuids[n]
            if "node.name" in want:
                node["name"] = self.node_names[n]
            if hal:
                node["_links"] = {"self": {"href": "/api/cluster/nodes/%s" % self.node_uuids[n]}}
        if reason != "no_data_lif" and ("interface.name" in want or "interface.uuid" in want
                                        or "interface.ip.address" in want):
            lif = rec["interface"] = {}
            if "interface.name" in want:
                lif["name"] = "lif_%s_%s" % (self.svm_names[v], self.node_names[n].rsplit("-", 1)[-1])
            if "interface.uuid" in want or hal:
                lif["uuid"] = self.lif_uuids.get((v, n)) or self._lif_uuid(i)
            if "interface.ip.address" in want:
                k = v * self.nodes + n
                lif["ip"] = {"address": "172.%d.%d.%d" % (16 + k // 64516, (k // 254) % 254, k % 254 + 1)}
            if hal:
                lif["_links"] = {"self": {"href": "/api/network/ip/interfaces/%s" % lif["uuid"]}}
                if "interface.uuid" not in want:
                    del lif["uuid"]
        if "ip" in want:
            g = v * self.scanners_per_svm + j // self.nodes
            rec["ip"] = "10.%d.%d.%d" % (16 + g // 64516, (g // 254) % 254, g % 254 + 1)
        if connected and "privileged_user" in want:
            rec["privileged_user"] = "CORP\\svc-vscan%02d" % (v % 8)
        if "state" in want:
            rec["state"] = state
        if reason is not None and "disconnected_reason" in want:
            rec["disconnected_reason"] = reason
        if "type" in want:
            rec["type"] = "backup" if (j // self.nodes) % 4 == 3 else "primary"
        if "update_time" in want:
            rec["update_time"] = _iso(since)
        if connected and ("vendor" in want or "version" in want):
            vendor, version = SCANNERS[v % len(SCANNERS)]
            if "vendor" in want:
                rec["vendor"] = vendor
            if "version" in want:
                rec["version"] = version
        return rec

    # -- vendor shapes -----------------------------------------------------------------------
    def error_reply(self, status, message, code=None, target=None):
        error = {"message": message, "code": str(code if code is not None else status)}
        if target:
            error["target"] = target
        return Reply(status, {"error": error})

    def authenticate(self, req):
        if req.peer_cert:  # verified against our CA during the handshake
            return None
        header = req.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                user, password = (base64.b64decode(header[6:]).decode().split(":", 1) + [""])[:2]
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if hmac.compare_digest(user, self.username) and hmac.compare_digest(password, self.password):
                return None
        reply = self.error_reply(401, "User is not authorized.", ERR_NOT_AUTHORIZED)
        reply.headers["WWW-Authenticate"] = 'Basic realm="ONTAP"'
        return reply

    @staticmethod
    def wants_hal(req):
        return (req.headers.get("Accept") or "").split(";")[0].strip().lower() != "application/json"

    def _reply(self, req, body):
        ctype = "application/hal+json" if self.wants_hal(req) else "application/json"
        return Reply(200, body, content_type=ctype)

    # -- the collection ------------------------------------------------------------------------
    CONTROL = ("fields", "max_records", "return_records", "return_timeout", "order_by", "start.index")

    def _parse(self, req):
        q = req.query
        tests = []
        for name, value in q.items():
            if name in self.CONTROL:
                continue
            if name not in FIELDS:
                raise QueryError("Unexpected argument \"%s\"." % name, ERR_UNEXPECTED_ARGUMENT, name)
            tests.append((self.getters[name], compile_query(name, value)))
        for name in ("svm.name", "svm.uuid"):
            value = q.get(name)
            if value is not None and not any(c in value for c in "!*|<>") and ".." not in value \
                    and value != "null" and value not in self.svm_index:
                raise QueryError("entry doesn't exist", ERR_NOT_FOUND, name)
        want = wanted_fields(q.get("fields"))
        order = parse_order(q.get("order_by"))
        limit = None
        if "max_records" in q:
            if not q["max_records"].isdigit():
                raise QueryError("The value \"%s\" is invalid for field \"max_records\"."
                                 % q["max_records"], ERR_INVALID_VALUE, "max_records")
            limit = int(q["max_records"])
        if "return_timeout" in q:
            value = q["return_timeout"]
            if not value.isdigit() or int(value) > 120:
                raise QueryError("The value \"%s\" is out of range for \"return_timeout\". Range is "
                                 "[0..120]." % value, ERR_INVALID_VALUE, "return_timeout")
        start = q.get("start.index", "0")
        if not start.isdigit():
            raise QueryError("Invalid start.index \"%s\"." % start, ERR_INVALID_VALUE, "start.index")
        records = q.get("return_records", "true").lower() != "false"
        return tests, want, order, limit, int(start), records

    def _ordering(self, order):
        """Positions -> server index for an order_by (None = key order), cached until a change."""
        if not order:
            return None
        key = (order, self.version_now())
        found = self.sorted_cache.get(key)
        if found is None:
            indexes = list(range(self.total))
            for field, desc in reversed(order):  # stable sorts, last key first
                get = self.getters[field]
                indexes.sort(key=lambda i: (get(i) is None, get(i) or ""), reverse=desc)
            self.sorted_cache = {key: array("l", indexes)}
            found = self.sorted_cache[key]
        return found

    def _matches(self, tests, i):
        for get, test in tests:
            if not test(get(i)):
                return False
        return True

    def _link(self, href):
        return (self.url + href) if self.absolute_links else href

    @route("GET", COLLECTION)
    def server_status(self, req):
        while self.pending:
            chosen, delay = self.pending.pop()
            self._schedule(chosen, self.now() + delay, "connected", None)
        try:
            tests, want, order, limit, start, return_records = self._parse(req)
        except QueryError as exc:
            status = 404 if exc.code == ERR_NOT_FOUND else 400
            return self.error_reply(status, exc.message, exc.code, exc.target)
        ordering = self._ordering(order)
        hal = self.wants_hal(req)
        kept = [p for p in req.raw_query.split("&")
                if p and unquote_plus(p.partition("=")[0]) != "start.index"]
        links = {}
        if hal:
            links["self"] = {"href": COLLECTION + ("?" + req.raw_query if req.raw_query else "")}
        if not return_records:
            count = sum(1 for p in range(start, self.total)
                        if self._matches(tests, ordering[p] if ordering else p))
            body = {"num_records": count}
            if links:
                body["_links"] = links
            return self._reply(req, body)
        page = limit if limit is not None else self.total
        if self.short_pages:
            page = min(page, int(self.short_pages))  # as if return_timeout ran out
        records = []
        position = start
        next_position = None
        while position < self.total:
            i = ordering[position] if ordering else position
            if self._matches(tests, i):
                if len(records) >= page:
                    next_position = position
                    break
                records.append(self.record(i, want, hal))
            position += 1
        if next_position is not None and page == 0 and limit == 0:
            next_position = None  # max_records=0 asks for nothing, not for an endless walk
        if next_position is not None:
            if self.repeat_next and "start.index" in req.query:
                next_position = start  # a broken cursor: the same link again
            links["next"] = {"href": self._link("%s?%s" % (COLLECTION, "&".join(
                kept + ["start.index=%d" % next_position])))}
        body = {"records": records, "num_records": len(records)}
        if links:
            body["_links"] = links
        return self._reply(req, body)

    @route("GET", r"/api/cluster")
    def cluster(self, req):
        body = {
            "name": self.cluster_name, "uuid": self.cluster_uuid, "version": dict(VERSION),
            "location": "Simulated data center", "contact": "storage-team@example.com",
            "dns_domains": ["example.com"], "name_servers": ["10.0.0.53"],
            "ntp_servers": ["time.example.com"], "timezone": {"name": "Etc/UTC"},
            "management_interfaces": [{
                "name": "cluster_mgmt", "uuid": _uuid(self.seed, "cluster_mgmt"),
                "ip": {"address": "127.0.0.1"}}],
        }
        fields = req.query.get("fields")
        if fields and "*" not in fields:
            names = set(f.strip().split(".")[0] for f in fields.split(","))
            unknown = names - set(body)
            if unknown:
                return self.error_reply(400, "The value \"%s\" is invalid for field \"fields\"."
                                        % sorted(unknown)[0], ERR_INVALID_VALUE, "fields")
            body = dict((k, v) for k, v in body.items() if k in names or k in ("name", "uuid"))
        if self.wants_hal(req):
            body["_links"] = {"self": {"href": "/api/cluster"}}
        return self._reply(req, body)

    # -- control commands (tests, demo, benchmark) ------------------------------------------
    def _select(self, svm=None, node=None, ip=None, count=None):
        """Server indexes matching ONTAP-syntax patterns on svm.name, node.name and ip."""
        svm_test = compile_query("svm.name", svm) if svm else None
        node_test = compile_query("node.name", node) if node else None
        ip_test = compile_query("ip", ip) if ip else None
        chosen = []
        for v, name in enumerate(self.svm_names):
            if svm_test is not None and not svm_test(name):
                continue
            for i in range(v * self.per_svm, min(self.total, (v + 1) * self.per_svm)):
                if node_test is not None and not node_test(self.getters["node.name"](i)):
                    continue
                if ip_test is not None and not ip_test(self._ip(i)):
                    continue
                chosen.append(i)
                if count is not None and len(chosen) >= int(count):
                    return chosen
        return chosen

    def _schedule(self, indexes, when, state, reason):
        for i in indexes:
            events = self.changes.setdefault(i, [])
            events.append((when, state, reason))
            events.sort(key=lambda e: e[0])
            bisect.insort(self.change_times, when)

    def _described(self, indexes, limit=50):
        return [{"svm": self.getters["svm.name"](i), "node": self.getters["node.name"](i),
                 "ip": self._ip(i)} for i in indexes[:limit]]

    @command
    def disconnect(self, svm=None, node=None, ip=None, count=None, reason="remote_closed",
                   after=0.0, reconnect_after=None, start="now"):
        """Disconnect the matching servers ``after`` s from now; reconnect them
        ``reconnect_after`` s later (never, when not given). With ``start: next_read`` the
        servers are disconnected at once and the reconnect clock starts at the next read of
        the collection, so a scenario does not depend on how fast a client starts."""
        if reason not in REASONS:
            raise ValueError("reason must be one of %s" % ", ".join(REASONS))
        if start not in ("now", "next_read"):
            raise ValueError("start must be now or next_read")
        chosen = self._select(svm, node, ip, count)
        at = self.now() + float(after)
        self._schedule(chosen, at, "disconnected", reason)
        result = {"count": len(chosen), "servers": self._described(chosen),
                  "disconnect_at": time.time() + float(after)}
        if reconnect_after is not None and start == "next_read":
            self.pending.append((chosen, float(reconnect_after)))
        elif reconnect_after is not None:
            self._schedule(chosen, at + float(reconnect_after), "connected", None)
            result["reconnect_at"] = result["disconnect_at"] + float(reconnect_after)
        return result

    @command
    def connect(self, svm=None, node=None, ip=None, count=None, after=0.0):
        """Connect the matching servers ``after`` s from now."""
        chosen = self._select(svm, node, ip, count)
        self._schedule(chosen, self.now() + float(after), "connected", None)
        return {"count": len(chosen), "servers": self._described(chosen),
                "connect_at": time.time() + float(after)}

    @command
    def set_behaviour(self, short_pages=None, absolute_links=False, repeat_next=False):
        """short_pages: at most this many records per answer (as when return_timeout runs out);
        absolute_links: next links as full URLs; repeat_next: a broken cursor."""
        self.short_pages = int(short_pages) if short_pages else None
        self.absolute_links = bool(absolute_links)
        self.repeat_next = bool(repeat_next)
        return {"short_pages": self.short_pages, "absolute_links": self.absolute_links,
                "repeat_next": self.repeat_next}

    @command
    def restore(self):
        """Back to the starting data set (ONTAP only; other appliances keep their state)."""
        self.reset()
        return {"servers": self.total}

    @command
    def counts(self, svm=None):
        """How many servers (of an svm.name pattern) are connected and disconnected now."""
        chosen = self._select(svm) if svm else range(self.total)
        connected = sum(1 for i in chosen if self.status(i)[0] == "connected")
        return {"servers": len(chosen), "connected": connected,
                "disconnected": len(chosen) - connected}

    def describe(self):
        samples = {"healthy_svm": self.svm_names[0]}
        if self.svms > 7:
            samples["degraded_svm"] = self.svm_names[7]
        if self.svms > 49:
            samples["vscan_disabled_svm"] = self.svm_names[49]
        return {
            "username": self.username, "password": self.password,
            "client_cert": self.client_cert, "client_key": self.client_key,
            "servers": self.total, "svms": self.svms, "nodes": self.nodes,
            "servers_per_svm": self.per_svm, "cluster_name": self.cluster_name,
            "version": VERSION["full"], "samples": samples,
        }


def build(sim):
    return [OntapCluster(sim)]
