# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to VMware Cloud Director Availability (vCDA): the ``POST /sessions`` login whose
token comes back in the ``X-VCAV-Auth`` header (and the ``DELETE /sessions`` logout), the
vendor media type, the vCDA error body (``code``, ``msg``, ``args``, ``stacktrace``), the
long-running task pattern (``GET /tasks/{id}``: RUNNING with progress, then SUCCEEDED, FAILED
or CANCELED), and the site URLs and SHA-256 thumbprints used when pairing sites.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import re
import threading
import uuid
from contextlib import contextmanager

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover
    from urllib import quote
    from urlparse import urlsplit

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec, require_credentials, validate_connection,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, base_url, vendor_text,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, HybridCloudError, InputError,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import Status, wait_until

VENDOR = "vCDA"
MEDIA_TYPE = "application/vnd.vmware.h4-v4.7+json;charset=UTF-8"
AUTH_HEADER = "X-VCAV-Auth"
# vCDA correlates its logs across services by this request header; we send one per module run.
OPERATION_HEADER = "operationID"
SESSIONS = "/sessions"
SITES = "/sites"
REMOTE_CERTIFICATE = "/config/remote-certificate"

# auth_type -> the /sessions body fields that carry the user name and the password.
AUTH_FIELDS = {
    "localUser": ("localUser", "localPassword"),
    "vcdCredentials": ("vcdUser", "vcdPassword"),
    "ssoCredentials": ("username", "password"),
}

TASK_SUCCEEDED = "SUCCEEDED"
TASK_FAILED_STATES = frozenset(("FAILED", "CANCELED"))

THUMBPRINT_FORM = re.compile(r"^SHA-256:[0-9A-F]{2}(:[0-9A-F]{2}){31}$")
THUMBPRINT_EXAMPLE = "SHA-256:F4:D6:17:...:4F:74 (32 colon-separated hex pairs)"
DEFAULT_PORTS = {"https": 443, "http": 80}


def argument_spec():
    spec = connection_spec("VCDA_")
    spec["auth_type"] = dict(type="str", default="localUser", choices=sorted(AUTH_FIELDS))
    return spec


# -- errors and stack traces ---------------------------------------------------------------
def parse_error(body):
    """(code, message, correlation id) of a vCDA ApiError body; its stack trace is never used."""
    if not isinstance(body, dict):
        return None, None, None
    message = body.get("msg") if isinstance(body.get("msg"), str) and body.get("msg") else None
    args = body.get("args")
    if not message and isinstance(args, list) and args:
        message = ", ".join(vendor_text(a) or "" for a in args) or None
    return vendor_text(body.get("code")), message, None


def without_stacktraces(obj):
    """A copy of a vCDA body with every ``stacktrace`` removed (errors nest inside tasks/sites)."""
    if isinstance(obj, dict):
        return dict((k, without_stacktraces(v)) for k, v in obj.items() if k != "stacktrace")
    if isinstance(obj, list):
        return [without_stacktraces(v) for v in obj]
    return obj


def describe_task_error(task):
    error = task.get("error") if isinstance(task, dict) else None
    if not isinstance(error, dict):
        return "no error detail given"
    code, message = parse_error(error)[:2]
    return "%s%s" % ("vCDA error %s: " % code if code else "", message or "(no message)")


class VcdaClient(ApiClient):
    """An ``ApiClient`` whose errors never carry vCDA's Java stack trace unless asked.

    The stack trace is an internal debugging aid for VMware support: it is kept out of ``msg``
    and ``error`` always, and returned under ``vendor_stacktrace`` only when ``keep_stacktrace``
    is set (the module sets it at -vvv).
    """

    keep_stacktrace = False

    def request(self, method, path, **kwargs):
        try:
            return super().request(method, path, **kwargs)
        except ApiError as exc:
            self.scrub(exc, exc.error)
            raise

    def scrub(self, exc, raw):
        """Take stack traces out of ``exc``'s ``error`` (or raw body); keep one if asked."""
        trace = raw.get("stacktrace") if isinstance(raw, dict) else None
        if isinstance(exc, ApiError) and exc.error is not None:
            exc.error = without_stacktraces(exc.error)
        if exc.context.get("error") is not None:
            exc.context["error"] = without_stacktraces(exc.context["error"])
        if trace and self.keep_stacktrace:
            exc.context["vendor_stacktrace"] = trace
        return exc


# -- sessions --------------------------------------------------------------------------------
class Session:
    """The vCDA login of one module run: token in ``X-VCAV-Auth``, renewed when it expires."""

    def __init__(self, client, auth_type, username, password, no_log_values):
        self.client = client
        self.auth_type = auth_type
        self.username = username
        self.password = password
        self.no_log_values = no_log_values
        self.token = None
        self._lock = threading.RLock()

    def body(self):
        user_field, password_field = AUTH_FIELDS[self.auth_type]
        return {"type": self.auth_type, user_field: self.username, password_field: self.password}

    def login(self):
        self.client.session.headers.pop(AUTH_HEADER, None)
        try:
            # A duplicate login is harmless (an unused session expires), so /sessions may be retried.
            reply = self.client.post(SESSIONS, json=self.body(), idempotent=True)
        except ApiError as exc:
            if exc.status_code in (401, 403):
                exc.msg = ("vCDA refused the login of %s with auth_type %s: %s Check the username, "
                           "the password, and that auth_type is the kind of account they belong to."
                           % (self.username, self.auth_type, exc.msg))
            raise
        token = reply.headers.get(AUTH_HEADER)
        if not token:
            raise ApiError("POST %s: HTTP %d but no %s header with the session token"
                           % (SESSIONS, reply.status, AUTH_HEADER), method="POST", path=SESSIONS,
                           status_code=reply.status)
        self.no_log_values.add(token)  # before anything could print it
        self.token = token
        self.client.session.headers[AUTH_HEADER] = token
        return reply.body

    def renew(self, exc, generation):
        """The client's ``renew_login`` hook: log in again when the token was refused (401) -
        once per expired token, also when several requests found it expired at once."""
        if exc.status_code != 401 or exc.path == SESSIONS or self.token is None:
            return False
        with self._lock:
            if self.client.login_generation != generation:
                return True  # renewed since this request went out: send it with the new token
            self.login()
            self.client.login_generation += 1
            return True

    def logout(self):
        """Close the session; returns a problem to report, or None. Never raises."""
        if self.token is None:
            return None
        try:
            self.client.delete(SESSIONS, idempotent=False, expect_json=False)
        except HybridCloudError as exc:
            return "could not log out of vCDA: %s" % exc.msg
        finally:
            self.token = None
            self.client.session.headers.pop(AUTH_HEADER, None)
        return None


def validate_credentials(params):
    require_credentials(params)
    if params.get("auth_type") == "vcdCredentials" and "@" not in params["username"]:
        raise InputError("username", "with auth_type vcdCredentials must be user@organization, for "
                                     "example administrator@System, got %r" % params["username"])


@contextmanager
def connect(module):
    """A logged-in ``VcdaClient``; the session is closed when the block ends, also on failure."""
    params = module.params
    validate_connection(params)
    validate_credentials(params)
    base = base_url(params["host"])
    operation_id = str(uuid.uuid4())
    client = VcdaClient.from_params(
        params, module._name, base,
        headers={"Accept": MEDIA_TYPE, OPERATION_HEADER: operation_id},
        vendor=VENDOR, parse_error=lambda body: parse_error(body)[:2] + (operation_id,),
        correlation_header=OPERATION_HEADER, pool_size=1)
    client.keep_stacktrace = getattr(module, "_verbosity", 0) >= 3
    session = Session(client, params["auth_type"], params["username"], params["password"],
                      module.no_log_values)
    client.renew_login = session.renew
    try:
        session.login()
        yield client
    finally:
        problem = session.logout()
        client.close()
        if problem:
            module.warn(problem)


# -- URLs and thumbprints --------------------------------------------------------------------
def check_api_url(value, option):
    """An https:// URL of a vCDA API endpoint; returns it stripped, or raises ``InputError``."""
    text = (value or "").strip()
    expected = "an https:// URL such as https://vcda-b.example.com:443"
    if "://" not in text:
        raise InputError(option, "must be %s, got %r" % (expected, value))
    if urlsplit(text).scheme.lower() != "https":
        raise InputError(option, "must be %s (vCDA serves its API over https only), got %r"
                         % (expected, value))
    base_url(text, option=option)  # host, port, no credentials, no query
    return text


def normalise_url(url):
    """The form two vCDA API URLs are compared in: scheme and host lower case, the port always
    explicit (443 for https), no trailing slash. Unparsable text is compared as it is."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.lower()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return text.lower().rstrip("/")
    if ":" in host:
        host = "[%s]" % host
    port = port or DEFAULT_PORTS.get(scheme)
    return "%s://%s%s%s" % (scheme, host, ":%d" % port if port else "", parts.path.rstrip("/"))


def normalise_thumbprint(value, option="peer_api_thumbprint"):
    """``SHA-256:AA:BB:...`` in upper case; lower case is accepted. Raises ``InputError``."""
    text = (value or "").strip()
    upper = text.upper()
    if not THUMBPRINT_FORM.match(upper):
        raise InputError(option, "must be a SHA-256 thumbprint in the form %s, got %r"
                         % (THUMBPRINT_EXAMPLE, value))
    return upper


def same_thumbprint(stored, wanted):
    """Whether two thumbprints name the same SHA-256 digest, however each is written (case,
    ``SHA-256:`` prefix or not, colons or not). A stored value that is not a SHA-256 thumbprint
    at all is never the same as one that is."""
    return _digest_hex(stored) is not None and _digest_hex(stored) == _digest_hex(wanted)


def _digest_hex(value):
    text = re.sub(r"[\s:]", "", str(value or "")).upper()
    for prefix in ("SHA-256", "SHA256"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text if re.match(r"^[0-9A-F]{64}$", text) else None


def thumbprint_of(der):
    """The vCDA form of the SHA-256 thumbprint of a DER certificate."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA-256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def certificate_der(encoded):
    """DER bytes from the ``encoded`` certificate vCDA returns (base64 DER, or PEM)."""
    text = (encoded or "").strip()
    if "-----BEGIN" in text:
        text = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def peer_thumbprint(client, peer_url):
    """Ask the LOCAL appliance for the peer's certificate and compute its SHA-256 thumbprint.

    ``GET /config/remote-certificate?url=`` answers ``{"certificate": {"thumbPrint": ...},
    "encoded": "<base64 DER>"}``. The thumbprint is computed here from ``encoded``; the one
    vCDA states is only a cross-check (and the fallback when ``encoded`` is missing).
    """
    body = client.get(REMOTE_CERTIFICATE, params={"url": peer_url}).body
    body = body if isinstance(body, dict) else {}
    stated = (body.get("certificate") or {}).get("thumbPrint") if isinstance(
        body.get("certificate"), dict) else None
    stated = stated.strip().upper() if isinstance(stated, str) else None
    der = certificate_der(body.get("encoded")) if isinstance(body.get("encoded"), str) else None
    if der:
        computed = thumbprint_of(der)
        if stated and stated.startswith("SHA-256:") and stated != computed:
            raise ApiError("GET %s: the certificate of %s hashes to %s, but vCDA states its "
                           "thumbprint is %s; set peer_api_thumbprint after checking it"
                           % (REMOTE_CERTIFICATE, peer_url, computed, stated),
                           method="GET", path=REMOTE_CERTIFICATE)
        return computed
    if stated and THUMBPRINT_FORM.match(stated):
        return stated
    raise ApiError("GET %s: no certificate of %s in the reply (expected 'encoded' or "
                   "'certificate.thumbPrint'); set peer_api_thumbprint" % (REMOTE_CERTIFICATE, peer_url),
                   method="GET", path=REMOTE_CERTIFICATE)


# -- sites -----------------------------------------------------------------------------------
def list_sites(client):
    body = client.get(SITES).body
    if not isinstance(body, list):
        raise ApiError("GET %s: expected a list of sites, got %s" % (SITES, type(body).__name__),
                       method="GET", path=SITES)
    return [without_stacktraces(s) for s in body if isinstance(s, dict)]


def site_urls(site):
    return set(normalise_url(site[k]) for k in ("apiUrl", "apiPublicUrl") if isinstance(site.get(k), str))


def local_site(sites):
    return next((s for s in sites if s.get("isLocal")), None)


def find_peer(sites, wanted_url):
    """The paired (not local) site whose ``apiUrl`` or ``apiPublicUrl`` is ``wanted_url``."""
    wanted = normalise_url(wanted_url)
    return next((s for s in sites if not s.get("isLocal") and wanted in site_urls(s)), None)


COMM_ERRORS = (("incoming", "incomingCommError"), ("outgoing", "outgoingCommError"))


def site_health(site):
    """``(healthy, problems)`` of a paired site: healthy when both ``state.incomingCommError`` and
    ``state.outgoingCommError`` are empty; one readable line per error (direction, code, message)."""
    state = site.get("state") if isinstance(site.get("state"), dict) else {}
    problems = []
    for direction, field in COMM_ERRORS:
        error = state.get(field)
        if not error:
            continue
        if isinstance(error, dict):
            code, message = parse_error(error)[:2]
            problems.append("%s: %s: %s" % (direction, code or "(no code)", message or "(no message)"))
        else:
            problems.append("%s: %s" % (direction, vendor_text(error)))
    return not problems, problems


def site_path(site):
    """``/sites/{site}``: vCenter-manager sites by ``id``, Cloud Director sites by name."""
    key = site.get("id") or site.get("site")
    if not key:
        raise ApiError("the site record has neither 'id' nor 'site', so it cannot be addressed: %s"
                       % site)
    return "%s/%s" % (SITES, quote(str(key), safe=""))


# -- tasks -------------------------------------------------------------------------------------
def task_path(task_id):
    return "/tasks/%s" % quote(str(task_id), safe="")


def task_status(task, label):
    """What one look at a vCDA task means for the wait."""
    state = task.get("state") if isinstance(task.get("state"), str) else "UNKNOWN"
    progress = task.get("progress")
    detail = "progress %s%%" % progress if progress is not None else None
    if state == TASK_SUCCEEDED:
        return Status(state, obj=task, done=True)
    if state in TASK_FAILED_STATES:
        return Status(state, obj=task, failure="%s %s: %s" % (label, state, describe_task_error(task)))
    # RUNNING, and anything vCDA may add later, is still under way.
    return Status(state, obj=task, detail=detail)


def task_of_reply(reply, method, path):
    """The task body of a 2xx reply (202 is documented; any 2xx with a task is accepted)."""
    task = reply.body
    if not isinstance(task, dict) or not task.get("id"):
        raise ApiError("%s %s: HTTP %d but the reply is not a task (no 'id'): %s"
                       % (method, path, reply.status, str(task)[:200]), method=method, path=path,
                       status_code=reply.status)
    return task


def follow_task(client, task, label, timeout, sleep_cap, **clock):
    """Poll ``GET /tasks/{id}`` from a task body until it ends; return the ``WaitResult``.

    ``FAILED``/``CANCELED`` raise ``WaitFailed`` with vCDA's ``error.code``/``error.msg``
    (``vendor_stacktrace`` added only when the client keeps stack traces).
    """
    # A reply that already shows the end needs no status request; otherwise poll at once.
    ended = task_status(without_stacktraces(task), label)
    first = {"task": task if ended.done or ended.failure else None}
    last = {"task": task}

    def poll():
        body = first.pop("task", None)
        if body is None:
            path = task_path(task["id"])
            body = client.get(path).body
            if not isinstance(body, dict):
                raise ApiError("GET %s: expected a task, got %s" % (path, str(body)[:200]),
                               method="GET", path=path)
        last["task"] = body
        return task_status(without_stacktraces(body), label)

    try:
        return wait_until(poll, label + " to succeed", timeout, sleep_cap, result_key="task",
                          client=client, **clock)
    except HybridCloudError as exc:
        error = last["task"].get("error") if isinstance(last["task"], dict) else None
        client.scrub(exc, error if isinstance(error, dict) else None)
        raise
