# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP client every module uses: one ``requests.Session`` per module run.

It owns the base URL, TLS settings (passed on every request, so ``REQUESTS_CA_BUNDLE`` cannot
override ``ca_path``), the per-request timeout, the ``User-Agent``, and the retries of transient
failures with capped, jittered backoff that honours ``Retry-After``. A POST is re-sent only when
it surely never reached the server. Vendor error bodies are turned into ``ApiError`` by a parser
the platform file supplies; the client itself knows no vendor.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json as jsonlib
import random
import re
import time

try:
    import requests
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    import traceback
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

try:
    from urllib.parse import urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, keeps pylint quiet
    from urlparse import urlsplit, urlunsplit

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    require_credentials, validate_connection,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, InputError, TransportError,
)

# The one source of the version is galaxy.yml: the build (.ci/collection-tree) writes it here in
# the copy it packs; a source checkout used as is says "source".
COLLECTION_VERSION = "source"
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# Without a deadline, a Retry-After longer than this is not worth holding a task for.
RETRY_AFTER_LIMIT = 60.0
_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


def user_agent(module_name):
    return "hybridcloud.ops/%s (%s)" % (COLLECTION_VERSION, module_name)


def base_url(host, default_scheme="https", default_port=None, api_root=None, option="host"):
    """Turn the ``host`` option into ``scheme://host[:port][/prefix]`` (SPEC 1.1).

    ``host`` may be a name, ``name:port``, an IP address (IPv6 in brackets when a port follows)
    or a URL with a scheme. A path is kept as a reverse-proxy prefix, except the API root the
    module adds itself, which is a mistake worth naming.
    """
    text = (host or "").strip()
    if not text:
        raise InputError(option, "a hostname, host:port or https:// URL is required")
    if any(c.isspace() for c in text):
        raise InputError(option, "must not contain spaces, got %r" % text)
    if "://" not in text:
        if text.count(":") > 1 and not text.startswith("["):
            text = "[%s]" % text  # a bare IPv6 address
        text = "%s://%s" % (default_scheme, text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InputError(option, "scheme must be http or https, got %r" % parts.scheme)
    if parts.username or parts.password:
        raise InputError(option, "must not contain credentials; use the username and password options")
    if parts.query or parts.fragment:
        raise InputError(option, "must not contain a query or fragment, got %r" % host)
    try:
        port = parts.port
    except ValueError:
        raise InputError(option, "port must be a number from 1 to 65535, got %r" % host)
    name = parts.hostname or ""
    if ":" not in name and not _HOSTNAME.match(name):
        raise InputError(option, "%r is not a valid hostname or IP address" % name)
    if port is not None and not 0 < port < 65536:
        raise InputError(option, "port must be a number from 1 to 65535, got %r" % port)
    if port is None and default_port and "://" not in (host or ""):
        port = default_port
    prefix = parts.path.rstrip("/")
    if api_root and prefix.endswith(api_root.rstrip("/")):
        raise InputError(option, "must not include the API path %s (the module adds it); use %s://%s"
                         % (api_root, scheme, parts.netloc))
    netloc = "[%s]" % name if ":" in name else name
    if port is not None:
        netloc = "%s:%d" % (netloc, port)
    return urlunsplit((scheme, netloc, prefix, "", ""))


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    # Imported here: only an HTTP-date Retry-After needs it, and a module run should not pay for it.
    import email.utils  # pylint: disable=import-outside-toplevel
    try:
        when = email.utils.parsedate_tz(value)
        if when is None:
            return None
        stamp = email.utils.mktime_tz(when)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


def describe_text(text, limit=200):
    """A short, readable start of a non-JSON body (HTML tags dropped)."""
    if not text or not text.strip():
        return "(empty body)"
    flat = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    flat = re.sub(r"<[^>]+>", " ", flat)
    flat = " ".join(flat.split())
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    return repr(flat)


def vendor_text(value):
    """A vendor error field as text for a message: None when absent or empty, else a str.

    Vendors sometimes send numbers, lists or objects where their docs say string; a parser
    must never crash on that nor put a non-string in a message.
    """
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return str(value)
    try:
        return jsonlib.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


class Reply:
    """What the client hands back for a successful request."""

    __slots__ = ("status", "headers", "body", "text")

    def __init__(self, status, headers, body, text=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = text


class ApiClient:
    """One module run's connection to one appliance."""

    def __init__(self, base, module_name, validate_certs=True, ca_path=None, client_cert=None,
                 client_key=None, timeout=30, retries=3, auth=None, headers=None, vendor="API",
                 parse_error=None, correlation_header=None, pool_size=10,
                 clock=time.monotonic, sleep=time.sleep, rng=random.random, correlation_label=None):
        self.base = base.rstrip("/")
        self._origin = urlsplit(self.base)[:2]
        self.timeout = timeout
        self.retries = retries
        self.vendor = vendor
        self.parse_error = parse_error
        self.correlation_header = correlation_header
        # How messages name the correlation id when it comes from the error body (e.g. "traceId").
        self.correlation_label = correlation_label
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        # A monotonic deadline set by whoever waits: no retry pause and no request may pass it.
        self.deadline = None
        # Optional hook: callable(ApiError, generation) -> True when the request may be sent again
        # because the login it went out with (``login_generation`` when it was sent) has expired
        # and was renewed - by this call, or by another thread in the meantime. The hook adds 1
        # to ``login_generation`` each time it logs in again.
        self.renew_login = None
        self.login_generation = 0
        # Optional hook: callable(ApiError) that adjusts an error in the platform's terms (for
        # instance whether a 503 carrying a vendor error body is worth retrying).
        self.refine_error = None
        self.verify = ca_path if ca_path else bool(validate_certs)
        self.cert = (client_cert, client_key) if client_cert else None
        self.requests_sent = 0
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.auth = auth
        self.session.headers["User-Agent"] = user_agent(module_name)
        self.session.headers["Accept"] = "application/json"
        if headers:
            self.session.headers.update(headers)
        if not validate_certs and not ca_path:
            try:
                requests.packages.urllib3.disable_warnings()
            except AttributeError:  # pragma: no cover - very old requests
                pass

    @classmethod
    def from_params(cls, params, module_name, base, **kwargs):
        """A client with the connection options every module has (SPEC 1.1) taken from the
        module's ``params``; ``kwargs`` adds what the platform knows (auth, vendor, parser)."""
        options = dict(validate_certs=params["validate_certs"], ca_path=params.get("ca_path"),
                       client_cert=params.get("client_cert"), client_key=params.get("client_key"),
                       timeout=params["timeout"], retries=params["retries"])
        options.update(kwargs)
        return cls(base, module_name.split(".")[-1], **options)

    @classmethod
    def basic_or_certificate(cls, params, module_name, api_root, **kwargs):
        """``from_params`` for an API that takes HTTP basic auth or a client certificate on every
        request (NSX, ONTAP), once the connection options and credentials are checked."""
        validate_connection(params)
        require_credentials(params, alternative="client_cert")
        auth = None if params.get("client_cert") else (params["username"], params["password"])
        return cls.from_params(params, module_name, base_url(params["host"], api_root=api_root),
                               auth=auth, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- URLs ------------------------------------------------------------------------------
    def url(self, path):
        """Join ``path`` to the base URL; an absolute URL must stay on the same origin."""
        if "://" in path:
            if urlsplit(path)[:2] != self._origin:
                raise ApiError("refusing to follow %s: it leaves %s" % (path, self.base))
            return path
        return self.base + "/" + path.lstrip("/")

    @staticmethod
    def _path_of(path):
        return urlsplit(path).path if "://" in path else path.split("?", 1)[0]

    # -- requests ----------------------------------------------------------------------------
    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def request(self, method, path, params=None, json=None, headers=None, ok=None,
                idempotent=None, expect_json=True):
        """Send one request, retrying what is safe to retry; return a ``Reply`` or raise.

        ``ok`` is the set of statuses that count as success (default: any 2xx). ``idempotent``
        defaults from the method; a non-idempotent request is re-sent only after a connection
        that was refused (it never reached the server) or a 429 (the server did not process it).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.url(path)
        shown = self._path_of(path)
        renewed = False
        attempt = 0
        while True:
            generation = self.login_generation
            try:
                reply = self._send_once(method, url, shown, params, json, headers, ok, expect_json)
                return reply
            except (ApiError, TransportError) as exc:
                # An expired login: the appliance turned the request away unprocessed, so it is
                # sent again (once) with the new login.
                if (not renewed and isinstance(exc, ApiError) and self.renew_login is not None
                        and self.renew_login(exc, generation)):
                    renewed = True
                    continue
                # A write is sent again only when it surely had no effect: the connection was
                # refused or its connect timed out (the request never left this host), or the
                # server said 429 (rate limited: not processed, come back later).
                safe = (idempotent or (isinstance(exc, TransportError) and exc.refused)
                        or (isinstance(exc, ApiError) and exc.status_code == 429))
                if not (exc.transient and safe and attempt < self.retries):
                    raise
                pause = self._backoff(attempt, getattr(exc, "retry_after", None))
                if pause is None:
                    raise
                self.sleep(pause)
                attempt += 1

    def _backoff(self, attempt, retry_after):
        """Pause before retry ``attempt`` (0-based), or None when it would pass the deadline."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
        pause = ceiling / 2 + self.rng() * ceiling / 2
        if retry_after is not None:
            pause = max(pause, retry_after)
        limit = RETRY_AFTER_LIMIT if self.deadline is None else self.deadline - self.clock()
        if pause > limit:
            return None
        return pause

    def _request_timeout(self):
        if self.deadline is None:
            return self.timeout
        # Never let one request outlive the overall deadline (a floor keeps it usable).
        return max(1.0, min(self.timeout, self.deadline - self.clock()))

    def _send_once(self, method, url, shown, params, json, headers, ok, expect_json):
        self.requests_sent += 1
        try:
            resp = self.session.request(
                method, url, params=params, json=json, headers=headers, verify=self.verify,
                cert=self.cert, timeout=self._request_timeout(), allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            reason = _reason(exc)
            if "mismatch" in reason or "doesn't match" in reason:
                hint = ("The certificate does not name this host: use in host a name (or address) "
                        "the certificate lists")
            else:
                hint = ("Check the appliance certificate, or set ca_path to the CA that signed it "
                        "(validate_certs: false only for tests)")
            raise TransportError("%s %s: TLS failed talking to %s: %s. %s"
                                 % (method, shown, self.base, reason, hint),
                                 method=method, path=shown, tls=True)
        except requests.exceptions.ConnectTimeout as exc:
            raise TransportError("%s %s: timed out connecting to %s: %s"
                                 % (method, shown, self.base, _reason(exc)),
                                 method=method, path=shown, refused=True)
        except requests.exceptions.Timeout as exc:
            raise TransportError("%s %s: no answer from %s within %s s: %s"
                                 % (method, shown, self.base, self.timeout, _reason(exc)),
                                 method=method, path=shown)
        except requests.exceptions.ConnectionError as exc:
            refused = _is_refused(exc)
            raise TransportError("%s %s: %s %s: %s"
                                 % (method, shown, "connection refused by" if refused
                                    else "connection to", self.base, _reason(exc)),
                                 method=method, path=shown, refused=refused)
        except requests.exceptions.RequestException as exc:
            raise TransportError("%s %s: request to %s failed: %s"
                                 % (method, shown, self.base, _reason(exc)), method=method, path=shown)
        try:
            return self._interpret(method, shown, resp, ok, expect_json)
        finally:
            resp.close()

    def _interpret(self, method, shown, resp, ok, expect_json):
        status = resp.status_code
        text = resp.text
        success = status in ok if ok is not None else 200 <= status < 300
        body, parsed = _parse_json(text)
        correlation = resp.headers.get(self.correlation_header) if self.correlation_header else None
        if success:
            if parsed:
                return Reply(status, resp.headers, body)
            # An empty answer is normal for a DELETE or a 204, not for a read that returns data.
            if not expect_json or (not text.strip() and (method != "GET" or status == 204)):
                return Reply(status, resp.headers, None, text)
            err = ApiError("%s %s: HTTP %d but the body is not JSON: %s"
                           % (method, shown, status, describe_text(text)),
                           method=method, path=shown, status_code=status,
                           correlation_id=correlation)
            # A truncated or garbled answer to a read is worth asking again.
            err.transient = method in IDEMPOTENT_METHODS
            raise err
        raise self._error(method, shown, resp, text, body if parsed else None, correlation)

    def _error(self, method, shown, resp, text, body, correlation):
        status = resp.status_code
        head = "%s %s: HTTP %d %s" % (method, shown, status, resp.reason or "")
        code = message = None
        if body is not None and self.parse_error is not None:
            code, message, body_correlation = self.parse_error(body)
            correlation = correlation or body_correlation
        if message or code is not None:
            detail = "%s error%s: %s" % (self.vendor, " %s" % code if code is not None else "",
                                         message or "(no message)")
        elif body is not None:
            detail = "%s error body: %s" % (self.vendor, describe_text(jsonlib.dumps(body)))
        else:
            detail = "body: %s" % describe_text(text)
        msg = "%s, %s" % (head.rstrip(), detail)
        if correlation:
            label = self.correlation_label or self.correlation_header or "correlation id"
            msg += " [%s %s]" % (label, correlation)
        err = ApiError(msg, method=method, path=shown, status_code=status,
                       error=body if body is not None else {"text": text[:2000]},
                       vendor_code=code, correlation_id=correlation,
                       retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if self.refine_error is not None:
            self.refine_error(err)
        return err

    def close(self):
        self.session.close()


def _parse_json(text):
    if not text or not text.strip():
        return None, False
    try:
        return jsonlib.loads(text), True
    except ValueError:
        return None, False


def _reason(exc):
    """The innermost readable reason of a requests/urllib3 exception."""
    seen = exc
    for _depth in range(5):
        inner = getattr(seen, "reason", None) or (seen.args[0] if getattr(seen, "args", None) else None)
        if isinstance(inner, BaseException):
            seen = inner
        else:
            break
    text = str(seen)
    # urllib3 wraps reasons as "<object at 0x...>: Failed to establish...": keep the readable part
    text = re.sub(r"<[^>]+ object at 0x[0-9a-f]+>:\s*", "", text)
    return text or exc.__class__.__name__


def _is_refused(exc):
    current = exc
    for _depth in range(6):
        if isinstance(current, ConnectionRefusedError):
            return True
        name = current.__class__.__name__
        if name in ("NewConnectionError",) and "refused" in str(current).lower():
            return True
        nxt = getattr(current, "reason", None)
        if nxt is None and getattr(current, "args", None):
            nxt = current.args[0]
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return "Connection refused" in str(exc)
