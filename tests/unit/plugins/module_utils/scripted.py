"""Test doubles for the shared layer: an ordered HTTP script and a fake clock.

``Script`` is a requests transport adapter that answers from a list of expected requests, in
order, and fails the test on a surprise or on a step left unused (the netapp.ontap way of
saying "exactly these requests, in this order").
"""

import functools
import json

import requests
from requests.structures import CaseInsensitiveDict

from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import wait_all, wait_until


class Step:
    def __init__(self, method, path, status=200, body=None, headers=None, raises=None, text=None):
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raises = raises
        self.text = text


class Script(requests.adapters.BaseAdapter):
    def __init__(self, *steps):
        super().__init__()
        self.steps = list(steps)
        self.sent = []  # (method, url, send kwargs, PreparedRequest)

    def send(self, request, **kwargs):
        self.sent.append((request.method, request.url, kwargs, request))
        assert self.steps, "unexpected request %s %s (script is used up)" % (request.method, request.url)
        step = self.steps.pop(0)
        path = request.path_url
        assert (request.method, path) == (step.method, step.path), \
            "expected %s %s, got %s %s" % (step.method, step.path, request.method, path)
        if step.raises is not None:
            raise step.raises
        resp = requests.Response()
        resp.status_code = step.status
        resp.reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
                       404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
                       502: "Bad Gateway", 503: "Service Unavailable"}.get(step.status, "")
        if step.text is not None:
            resp._content = step.text.encode()
        elif step.body is not None:
            resp._content = json.dumps(step.body).encode()
        else:
            resp._content = b""
        resp.headers = CaseInsensitiveDict(step.headers)
        resp.url = request.url
        resp.request = request
        return resp

    def close(self):
        pass

    def assert_done(self):
        assert not self.steps, "requests never sent: %s" % [(s.method, s.path) for s in self.steps]


def install(client, *steps):
    """Route every request of ``client`` through a new Script; return it."""
    script = Script(*steps)
    client.session.mount("https://", script)
    client.session.mount("http://", script)
    return script


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or a test says so)."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, "negative sleep %r" % seconds
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds):
        self.now += seconds


def fake_waits(monkeypatch, *modules):
    """Make every ``wait_until`` and ``wait_all`` the given modules call run on one new FakeClock,
    with the jitter fixed at its middle; return the clock (no test sleeps in real time)."""
    clock = FakeClock()
    for module in modules:
        for name, waiter in (("wait_until", wait_until), ("wait_all", wait_all)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, functools.partial(waiter, clock=clock, sleep=clock.sleep,
                                                                    rng=lambda: 0.5))
    return clock
