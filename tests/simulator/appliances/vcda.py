"""VMware Cloud Director Availability: two sites, ``vcda_a`` and ``vcda_b``, that pair with each other.

Faithful to api-docs/vcda_pair_sites.txt and api-specs/vcda_sessions_sites_tasks_DERIVED.swagger.json:
``POST /sessions`` (localUser / vcdCredentials / ssoCredentials bodies) answers with the token
in the ``X-VCAV-Auth`` header; every other call needs it (401 ``NotAuthenticated`` otherwise).
``POST /sites`` and ``DELETE /sites/{id or site name}`` answer 202 with an ``ApiTask`` that is
RUNNING with a growing ``progress`` for ``vcda.task_seconds`` (default 2), then SUCCEEDED (the
peer record as ``result``), FAILED or CANCELED (``error`` with ``code``, ``msg``, ``args``,
``stacktrace``). Errors use the vCDA ApiError shape, Java stack trace included.
``PUT /sites/{id or site name}`` re-pairs (``UpdateSiteRequest``: apiUrl, apiThumbprint,
description) through a ``repairSite`` task. ``rotate_certificate`` replaces a site's certificate
while the simulator runs: its peers' stored thumbprints go stale and their records show a
``CertificateThumbprintMismatch`` in ``state.outgoingCommError`` (``restore`` puts the first
certificate back); ``set_comm_error`` sets any communication error on one record;
``pair_directly(cloud_director=True)`` makes the record of a Cloud Director site, which has no
``id`` and is addressed by its site name.

Each site serves its own certificate, so thumbprints are real and differ.
``GET /config/remote-certificate?url=`` really connects to the URL (as the appliance would) and
returns ``{"certificate": {"thumbPrint", ...}, "encoded": <base64 DER>}``; a pairing task really
fetches the peer's certificate and FAILS when the thumbprint it was given does not match.
A pairing made on A is listed on A at once; until B pairs with A too, A's record of B carries an
``outgoingCommError`` in its ``state``; once both sides paired, both list each other with an
empty ``state``.

Guesses (not in the vendor material we have): the remote-certificate reply beyond ``thumbPrint``
and ``encoded``; the error codes other than NotAuthenticated, Forbidden and
GeneralServerFailure (BadRequest, EntityNotFound, SiteAlreadyPaired, TaskAlreadyRunning,
RemoteCertificateRetrievalFailed, CertificateThumbprintMismatch, SiteNameMismatch,
RemoteSiteUnreachable, SiteNotPaired); what a pairing is called while only one side made it.
"""

import base64
import hashlib
import secrets
import socket
import ssl
import time
from urllib.parse import urlsplit

from simulator.core import Appliance, Reply, command, route
from simulator.tls import sha256_thumbprint

MEDIA_TYPE = "application/vnd.vmware.h4-v4.7+json;charset=UTF-8"
AUTH_HEADER = "X-VCAV-Auth"
AUTH_FIELDS = {
    "localUser": ("localUser", "localPassword"),
    "vcdCredentials": ("vcdUser", "vcdPassword"),
    "ssoCredentials": ("username", "password"),
}
STATUS_CODES = {400: "BadRequest", 401: "NotAuthenticated", 403: "Forbidden", 404: "EntityNotFound",
                405: "MethodNotAllowed", 406: "NotAcceptable", 429: "TooManyRequests",
                500: "GeneralServerFailure", 502: "GeneralServerFailure", 503: "ServiceUnavailable",
                504: "GeneralServerFailure"}
EXCEPTIONS = "com.vmware.h4.api.error.exceptions."


def vcda_error(code, msg, args=()):
    """The vCDA ApiError body, Java stack trace included (the module must never show it)."""
    trace = ("%s%sException: %s\n\tat com.vmware.h4.manager.rest.SitesController.invoke(SitesController.java:214)"
             "\n\tat com.vmware.h4.common.rest.ApiExceptionHandler.handle(ApiExceptionHandler.java:88)"
             % (EXCEPTIONS, code, msg))
    return {"args": [str(a) for a in args], "code": code, "msg": msg, "stacktrace": trace}


def normalise(url):
    parts = urlsplit((url or "").strip())
    try:
        port = parts.port
    except ValueError:
        return (url or "").strip().lower()
    port = port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    host = (parts.hostname or "").lower()
    return "%s://%s:%s%s" % (parts.scheme.lower(), host, port, parts.path.rstrip("/"))


def thumbprint_of(der):
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA-256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def fetch_certificate(url, timeout=5.0):
    """The DER certificate the server at ``url`` presents (unverified, as an appliance fetches it)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise OSError("%s is not an https URL" % url)
    pem = ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=timeout)
    return ssl.PEM_cert_to_DER_cert(pem)


def certificate_info(der):
    info = {"thumbPrint": thumbprint_of(der)}
    try:
        from cryptography import x509
        cert = x509.load_der_x509_certificate(der)
        before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
        after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
        info.update(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                    notBefore=int(before.timestamp() * 1000), notAfter=int(after.timestamp() * 1000),
                    serialNumber=format(cert.serial_number, "X"))
    except Exception:  # pragma: no cover - cryptography comes with trustme
        pass
    return info


def millis():
    return int(time.time() * 1000)


class Task:
    """One long-running vCDA task: RUNNING with progress, then its end (decided when it starts)."""

    def __init__(self, task_id, user, kind, seconds, started, on_success, failure, site, resource):
        self.started = started
        self.seconds = float(seconds)
        self.on_success = on_success      # callable() -> result, run when the task succeeds
        self.failure = failure            # None, or (state, code, msg, args)
        self.body = {
            "id": task_id, "user": user, "state": "RUNNING", "progress": 0,
            "startTime": millis(), "lastUpdated": millis(), "endTime": -1,
            "resultType": None, "result": None, "error": None, "warnings": [],
            "workflowInfo": {"type": kind, "resourceId": resource}, "site": site,
        }

    def advance(self, now):
        body = self.body
        if body["state"] != "RUNNING":
            return
        t = now - self.started
        if t < self.seconds:
            progress = int(100 * t / self.seconds) if self.seconds else 0
            if progress != body["progress"]:
                body["progress"], body["lastUpdated"] = progress, millis()
            return
        body["endTime"] = body["lastUpdated"] = millis()
        if self.failure is not None:
            state, code, msg, args = self.failure
            body.update(state=state, error=vcda_error(code, msg, args))
            return
        body.update(state="SUCCEEDED", progress=100, result=self.on_success())
        body["resultType"] = "ManagerPeerInfo" if isinstance(body["result"], dict) else "Void"


class VcdaSite(Appliance):
    def __init__(self, sim, name, site_name, description):
        self.site_name = site_name
        self.site_description = description
        self.credentials = {
            "localUser": ("root", "Vcda-%s!" % secrets.token_hex(6)),
            "vcdCredentials": ("administrator@System", "Vcd-%s!" % secrets.token_hex(6)),
            "ssoCredentials": ("administrator@vsphere.local", "Sso-%s!" % secrets.token_hex(6)),
        }
        self._first_certificate = None  # (server contexts, PEM) before the first rotation
        super().__init__(sim, name)
        self.site_id = self.new_id()
        self.der = None

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.tokens = {}          # token -> user
        self.issued = []          # every token handed out (tests check none leaks)
        self.peers = {}           # normalised peer URL -> pairing record
        self.tasks = {}
        self.scenario = []        # forced ends of the next tasks: (state, code, msg)
        self.comm_errors = {}     # normalised peer URL -> {"incomingCommError"/"outgoingCommError": error}
        self.task_seconds = float(self.sim.options.get("vcda.task_seconds", 2.0))

    def started(self):
        with open(self.cert_path) as handle:
            self.der = ssl.PEM_cert_to_DER_cert(handle.read())

    def api_url(self):
        return self.url + "/"

    def thumbprint(self):
        return "SHA-256:" + sha256_thumbprint(self.cert_path)

    def sites_at(self, url):
        wanted = normalise(url)
        return [a for a in self.sim.appliances.values()
                if isinstance(a, VcdaSite) and a.url and normalise(a.url) == wanted]

    def knows(self, other):
        return normalise(other.url) in self.peers

    def _advance(self):
        now = self.now()
        for task in list(self.tasks.values()):
            task.advance(now)

    # -- vendor shapes -------------------------------------------------------------------------
    def error_reply(self, status, message, code=None, args=()):
        return Reply(status, vcda_error(code or STATUS_CODES.get(status, "GeneralServerFailure"),
                                        message, args), content_type=MEDIA_TYPE)

    def reply(self, status, body):
        return Reply(status, body, content_type=MEDIA_TYPE)

    def authenticate(self, req):
        accept = req.headers.get("Accept") or "*/*"
        if "json" not in accept and "*/*" not in accept:
            return self.error_reply(406, "Not acceptable: %s" % accept)
        if req.method == "POST" and req.path == "/sessions":
            return None
        token = req.headers.get(AUTH_HEADER)
        with self.lock:
            if token and token in self.tokens:
                return None
        return self.error_reply(401, "Authentication required.")

    def expire_sessions(self):
        self.tokens.clear()

    def user_of(self, req):
        return self.tokens.get(req.headers.get(AUTH_HEADER), "?")

    def local_record(self):
        return {"id": self.site_id, "site": self.site_name, "description": self.site_description,
                "apiUrl": self.api_url(), "apiPublicUrl": self.api_url(),
                "apiThumbprint": self.thumbprint(), "isLocal": True, "state": {},
                "apiVersion": "4.7", "buildVersion": "4.7.0.22468910", "isProviderDeployment": True}

    def peer_view(self, record):
        view = dict(record)
        peer = next(iter(self.sites_at(record["apiPublicUrl"])), None)
        state = {}
        if peer is None or not peer.knows(self):
            state["outgoingCommError"] = vcda_error(
                "SiteNotPaired", "Site %s has not paired with site %s yet." % (record["site"], self.site_name),
                [record["site"], self.site_name])
        elif peer.der is not None and record["apiThumbprint"].upper() != peer.thumbprint().upper():
            # The peer's certificate was replaced: the pinned thumbprint no longer matches.
            state["outgoingCommError"] = vcda_error(
                "CertificateThumbprintMismatch",
                "The certificate of site %s has thumbprint %s, but the pairing expects %s." % (
                    record["site"], peer.thumbprint(), record["apiThumbprint"]),
                [record["site"], peer.thumbprint(), record["apiThumbprint"]])
        state.update(self.comm_errors.get(normalise(record["apiPublicUrl"]), {}))
        view["state"] = state
        return view

    def site_list(self):
        self._advance()
        return [self.local_record()] + [self.peer_view(r) for _url, r in sorted(self.peers.items())]

    # -- API -----------------------------------------------------------------------------------
    @route("POST", r"/sessions")
    def login(self, req):
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.")
        kind = body.get("type")
        if kind not in AUTH_FIELDS:
            return self.error_reply(400, "Unsupported authentication type: %s" % kind, args=[kind])
        user_field, password_field = AUTH_FIELDS[kind]
        user, password = self.credentials[kind]
        if body.get(user_field) != user or body.get(password_field) != password:
            return self.error_reply(401, "Invalid credentials.")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        self.issued.append(token)
        return Reply(200, {"user": user, "roles": ["ADMINISTRATORS"],
                           "authenticatedSites": [{"site": self.site_name, "org": "System"}]},
                     headers={AUTH_HEADER: token}, content_type=MEDIA_TYPE)

    @route("DELETE", r"/sessions")
    def logout(self, req):
        self.tokens.pop(req.headers.get(AUTH_HEADER), None)
        return Reply(204, None, content_type=MEDIA_TYPE)

    @route("GET", r"/sites")
    def get_sites(self, req):
        return self.reply(200, self.site_list())

    @route("POST", r"/sites")
    def pair_site(self, req):
        self._advance()
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.")
        url, given = body.get("apiUrl"), (body.get("apiThumbprint") or "").strip().upper()
        if not isinstance(url, str) or not url.strip():
            return self.error_reply(400, "apiUrl is required.")
        if not given:
            return self.error_reply(400, "apiThumbprint is required.")
        key = normalise(url)
        if key == normalise(self.url):
            return self.error_reply(400, "A site cannot be paired with itself.")
        if key in self.peers:
            return self.error_reply(400, "Site %s is already paired." % url, "SiteAlreadyPaired", [url])
        if any(t.body["state"] == "RUNNING" and t.body["workflowInfo"].get("resourceId") == key
               for t in self.tasks.values()):
            return self.error_reply(400, "A pairing task for %s is already running." % url,
                                    "TaskAlreadyRunning", [url])
        failure, peer, der = None, None, None
        try:
            der = fetch_certificate(url)
        except (OSError, ValueError, socket.timeout) as exc:
            failure = ("FAILED", "RemoteSiteUnreachable", "Unable to connect to %s: %s" % (url, exc), [url])
        if der is not None:
            found = self.sites_at(url)
            peer = found[0] if found else None
            actual = thumbprint_of(der)
            if actual != given:
                failure = ("FAILED", "CertificateThumbprintMismatch",
                           "The certificate of %s has thumbprint %s, not the expected %s." % (url, actual, given),
                           [url, actual, given])
            elif peer is None:
                failure = ("FAILED", "RemoteSiteUnreachable",
                           "%s is not a Cloud Director Availability API endpoint." % url, [url])
            elif body.get("site") and body["site"] != peer.site_name:
                failure = ("FAILED", "SiteNameMismatch", "The site at %s is %s, not %s."
                           % (url, peer.site_name, body["site"]), [url, peer.site_name, body["site"]])
        if self.scenario:
            failure = self.scenario.pop(0)

        def paired():
            record = {"id": peer.site_id, "site": peer.site_name,
                      "description": body.get("description") or "", "apiUrl": url,
                      "apiPublicUrl": peer.api_url(), "apiThumbprint": given, "isLocal": False,
                      "apiVersion": "4.7", "buildVersion": "4.7.0.22468910",
                      "isProviderDeployment": True,
                      "peerTunnelCert": base64.b64encode(peer.der).decode()}
            self.peers[key] = record
            return self.peer_view(record)

        task = self.new_task(req, "pairSite", paired, failure, key)
        return self.reply(202, task.body)

    @route("PUT", r"/sites/(?P<site>[^/]+)")
    def repair_site(self, req, site):
        """Re-pair ("Repair Sites"): the UpdateSiteRequest body (apiUrl, apiThumbprint,
        description); the new thumbprint is checked against the peer's real certificate."""
        self._advance()
        key = self.peer_key(site)
        if key is None:
            return self.error_reply(404, "Site %s not found." % site, args=[site])
        try:
            body = req.json() or {}
        except ValueError:
            return self.error_reply(400, "The request body is not valid JSON.")
        url, given = body.get("apiUrl"), (body.get("apiThumbprint") or "").strip().upper()
        if not isinstance(url, str) or not url.strip():
            return self.error_reply(400, "apiUrl is required.")
        if not given:
            return self.error_reply(400, "apiThumbprint is required.")
        if any(t.body["state"] == "RUNNING" and t.body["workflowInfo"].get("resourceId") == key
               for t in self.tasks.values()):
            return self.error_reply(400, "A task for %s is already running." % url, "TaskAlreadyRunning", [url])
        failure = None
        try:
            actual = thumbprint_of(fetch_certificate(url))
            if actual != given:
                failure = ("FAILED", "CertificateThumbprintMismatch",
                           "The certificate of %s has thumbprint %s, not the expected %s." % (url, actual, given),
                           [url, actual, given])
        except (OSError, ValueError, socket.timeout) as exc:
            failure = ("FAILED", "RemoteSiteUnreachable", "Unable to connect to %s: %s" % (url, exc), [url])
        if self.scenario:
            failure = self.scenario.pop(0)

        def repaired():
            record = self.peers.pop(key)
            record.update(apiUrl=url, apiThumbprint=given)
            if body.get("description") is not None:
                record["description"] = body["description"]
            self.peers[normalise(url)] = record  # keyed by its (possibly new) apiUrl
            return self.peer_view(record)

        task = self.new_task(req, "repairSite", repaired, failure, key)
        return self.reply(202, task.body)

    @route("DELETE", r"/sites/(?P<site>[^/]+)")
    def unpair_site(self, req, site):
        self._advance()
        key = self.peer_key(site)
        if key is None:
            return self.error_reply(404, "Site %s not found." % site, args=[site])

        def unpaired():
            self.peers.pop(key, None)
            return None

        failure = self.scenario.pop(0) if self.scenario else None
        task = self.new_task(req, "unpairSite", unpaired, failure, key)
        return self.reply(202, task.body)

    @route("GET", r"/tasks/(?P<task_id>[^/]+)")
    def get_task(self, req, task_id):
        self._advance()
        task = self.tasks.get(task_id)
        if task is None:
            return self.error_reply(404, "Task %s not found." % task_id, args=[task_id])
        return self.reply(200, task.body)

    @route("GET", r"/config/remote-certificate")
    def remote_certificate(self, req):
        url = req.query.get("url")
        if not url:
            return self.error_reply(400, "The url query parameter is required.")
        try:
            der = fetch_certificate(url)
        except (OSError, ValueError, socket.timeout) as exc:
            return self.error_reply(400, "Unable to retrieve the certificate of %s: %s" % (url, exc),
                                    "RemoteCertificateRetrievalFailed", [url])
        return self.reply(200, {"certificate": certificate_info(der),
                                "encoded": base64.b64encode(der).decode()})

    def peer_key(self, site):
        """The pairing that ``/sites/{site}`` names: vCenter-manager sites by ``id``, Cloud
        Director sites (whose records have no ``id``) by site name."""
        return next((k for k, r in self.peers.items() if site in (r.get("id"), r["site"])), None)

    def new_task(self, req, kind, on_success, failure, resource):
        task = Task(self.new_id(), self.user_of(req), kind, self.task_seconds, self.now(), on_success,
                    failure, self.site_name, resource)
        self.tasks[task.body["id"]] = task
        return task

    # -- control commands (tests, demo) ------------------------------------------------------
    @command
    def restore(self):
        """Back to the start: no pairings, no tasks, no sessions, default task duration, and the
        certificate the site started with (a rotation is undone)."""
        self.reset()
        if self._first_certificate is not None:
            contexts, pem = self._first_certificate
            for server, context in zip(getattr(self, "servers", []), contexts):
                server.context = context
            with open(self.cert_path, "w") as handle:
                handle.write(pem)
            self._first_certificate = None
            self.started()
        return {"site": self.site_name, "thumbprint": self.thumbprint() if self.der else None}

    @command
    def set_task_seconds(self, seconds):
        self.task_seconds = float(seconds)
        return {"task_seconds": self.task_seconds}

    @command
    def fail_next_task(self, state="FAILED", code="GeneralServerFailure",
                       msg="The pairing could not be completed.", args=()):
        """Make the next pairing/unpairing task end in ``state`` (FAILED or CANCELED) with ``code``."""
        if state not in ("FAILED", "CANCELED"):
            raise ValueError("state must be FAILED or CANCELED")
        self.scenario.append((state, code, msg, list(args)))
        return {"queued": len(self.scenario)}

    @command
    def pair_directly(self, peer, thumbprint=None, description="", cloud_director=False):
        """A finished pairing with appliance ``peer``, made now (optionally with a stale thumbprint).
        ``cloud_director``: the record of a Cloud Director site, which has no ``id`` and is
        addressed by its site name in ``/sites/{site}``."""
        other = self.sim.appliances[peer]
        record = {
            "id": other.site_id, "site": other.site_name, "description": description,
            "apiUrl": other.api_url(), "apiPublicUrl": other.api_url(),
            "apiThumbprint": thumbprint or other.thumbprint(), "isLocal": False,
            "apiVersion": "4.7", "buildVersion": "4.7.0.22468910", "isProviderDeployment": True}
        if cloud_director:
            del record["id"]
        self.peers[normalise(other.url)] = record
        return {"sites": self.site_list()}

    @command
    def rotate_certificate(self):
        """Replace this site's certificate now (a renewal): it serves the new one at once, and
        every peer's stored thumbprint of it goes stale (its record shows the error)."""
        from simulator.tls import LOOPBACK_NAMES
        old = self.thumbprint()
        if self._first_certificate is None:  # what restore puts back
            with open(self.cert_path) as handle:
                self._first_certificate = ([server.context for server in getattr(self, "servers", [])],
                                           handle.read())
        context, self.cert_path = self.sim.authority.server_context(self.name, identities=LOOPBACK_NAMES)
        for server in getattr(self, "servers", []):
            if server.context is not None:
                server.context = context
        self.started()
        return {"old_thumbprint": old, "thumbprint": self.thumbprint()}

    @command
    def set_comm_error(self, peer, direction="incoming", code="SiteUnreachable",
                       msg="Cannot connect to the remote site.", args=()):
        """A communication error on this appliance's record of ``peer`` (an appliance name), in
        ``state.incomingCommError`` or ``state.outgoingCommError``; ``code: null`` clears it."""
        key = normalise(self.sim.appliances[peer].url)
        field = {"incoming": "incomingCommError", "outgoing": "outgoingCommError"}[direction]
        errors = self.comm_errors.setdefault(key, {})
        if code is None:
            errors.pop(field, None)
        else:
            errors[field] = vcda_error(code, msg, list(args))
        return {"sites": self.site_list()}

    @command
    def sites(self):
        """What GET /sites would list now (without a session)."""
        return {"sites": self.site_list()}

    @command
    def tokens(self):
        """Every session token handed out, and the ones still valid."""
        return {"issued": list(self.issued), "active": sorted(self.tokens)}

    def describe(self):
        local_user, local_password = self.credentials["localUser"]
        return {
            "username": local_user, "password": local_password,
            "credentials": dict((kind, {"username": u, "password": p})
                                for kind, (u, p) in self.credentials.items()),
            "site": self.site_name, "site_id": self.site_id, "api_url": self.url,
            "thumbprint": self.thumbprint() if self.der else None,
            "task_seconds": self.task_seconds,
        }


def build(sim):
    return [VcdaSite(sim, "vcda_a", "site-a", "Production site A"),
            VcdaSite(sim, "vcda_b", "site-b", "Disaster recovery site B")]
