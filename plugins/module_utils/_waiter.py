# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for an appliance: the deadline, the poll schedule and what was seen on the way.

A module gives a ``poll()`` that reads the appliance once and returns a ``Status``; the waiter
calls it at once, then after pauses that start short and grow with the time already waited
(jittered, capped at ``wait_sleep``, never past the deadline, never shorter than a server's
``Retry-After``). It returns a ``WaitResult`` (last object, ``elapsed``, ``polls``, ``history``)
or raises ``WaitFailed``/``WaitTimeout`` carrying the same. ``wait_all`` follows many things at
once on a few threads under one request-rate budget; ``wait_until`` is the one-thing case.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import heapq
import random
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait

from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    HybridCloudError, UnexpectedError, WaitFailed, WaitTimeout,
)

# The poll schedule: pause = FIRST_PAUSE + GROWTH * seconds already waited, jittered by
# +/- JITTER, capped at wait_sleep. Tuned for the targets of SPEC section 4: an operation that
# ends after 4 s is seen within ~0.5 s using <10 requests; one that ends after 30 s within ~2 s
# using <30 requests.
FIRST_PAUSE = 0.4
GROWTH = 0.08
JITTER = 0.1


def next_pause(elapsed, cap, rng=random.random):
    """Seconds to pause after a poll made ``elapsed`` seconds into the wait."""
    pause = (FIRST_PAUSE + GROWTH * max(0.0, elapsed)) * (1 - JITTER + 2 * JITTER * rng())
    return max(0.0, min(float(cap), pause))


class Status:
    """One observation: what the thing is now, and whether the wait is over."""

    __slots__ = ("state", "obj", "done", "failure", "detail", "retry_after")

    def __init__(self, state, obj=None, done=False, failure=None, detail=None, retry_after=None):
        self.state = state          # short name recorded in history, e.g. "in_progress"
        self.obj = obj              # the object returned to the user
        self.done = done            # the condition is met
        self.failure = failure      # a message when the thing ended in failure
        self.detail = detail        # a readable note on the state for timeout messages
        self.retry_after = retry_after


class WaitResult:
    __slots__ = ("obj", "state", "elapsed", "polls", "history", "done")

    def __init__(self):
        self.obj = None
        self.state = None
        self.elapsed = 0.0
        self.polls = 0
        self.history = []
        self.done = False

    def as_dict(self):
        return dict(elapsed=self.elapsed, polls=self.polls, history=self.history)


class _Follow:
    """Book-keeping for one thing being waited for."""

    def __init__(self, poll, what):
        self.poll = poll
        self.what = what
        self.result = WaitResult()
        self.last_error = None
        self.last_detail = None
        self.outcome = None  # WaitResult when done, an exception when it ended badly

    def observe(self, status, elapsed):
        res = self.result
        res.polls += 1
        res.elapsed = round(elapsed, 3)
        res.obj = status.obj
        if status.state != res.state:
            res.history.append({"state": status.state, "elapsed": round(elapsed, 3)})
            res.state = status.state
        self.last_error = None
        self.last_detail = status.detail

    def describe_last(self):
        if self.result.state is None:
            text = "no state was read"
        else:
            text = "last state: %s" % (self.result.state,)
            if self.last_detail:
                text += " (%s)" % self.last_detail
        if self.last_error is not None:
            text += "; last error: %s" % self.last_error.msg
        return text


class _InlineExecutor:
    """Runs a poll on the calling thread: one thing to follow needs no pool."""

    def submit(self, fn):
        future = Future()
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed back to the scheduler, which sorts errors
            future.set_exception(exc)
        return future

    def shutdown(self, wait=True):
        pass


def wait_all(polls, what, timeout, sleep_cap, result_key=None, max_workers=1, max_rate=None,
             clock=time.monotonic, sleep=time.sleep, rng=random.random, client=None):
    """Follow every ``poll`` until done, failed, or the shared deadline passes.

    ``what`` is a list of descriptions (one per poll) used in messages. Returns one entry per
    poll: a ``WaitResult`` when done, else the ``WaitFailed``/``WaitTimeout``/other
    ``HybridCloudError`` that ended it - an exception nobody foresaw included, as an
    ``UnexpectedError``, so one broken item never hides the others' outcomes. ``max_rate`` caps
    request starts per second across all polls, and stretches each thing's pause so that all of
    them fit in the budget.
    """
    start = clock()
    deadline = start + timeout
    if client is not None:
        client.deadline = deadline
    follows = [_Follow(p, w) for p, w in zip(polls, what)]
    due = [(start, i) for i in range(len(follows))]
    heapq.heapify(due)
    min_gap = 1.0 / max_rate if max_rate else 0.0
    next_slot = start
    if max_workers <= 1:
        executor = _InlineExecutor()
    else:
        # Imported here: a single wait (the common case) never pays for the thread pool.
        from concurrent.futures import ThreadPoolExecutor
        executor = ThreadPoolExecutor(max_workers=max_workers)
    running = {}
    try:
        while due or running:
            now = clock()
            # Start every poll that is due, within the worker and rate budgets.
            while due and due[0][0] <= now and len(running) < max(1, max_workers):
                if next_slot > now:
                    break
                i = heapq.heappop(due)[1]
                running[executor.submit(follows[i].poll)] = i
                next_slot = max(next_slot, now) + min_gap
            pending = [f for f in running if f.done()]
            if not pending:
                # Nothing finished yet: rest until the next poll may start or one finishes.
                full = len(running) >= max(1, max_workers)
                wake = max(due[0][0], next_slot) if due and not full else None
                if running:
                    timeout_left = None if wake is None else max(0.0, wake - clock())
                    pending = list(futures_wait(list(running), timeout=timeout_left,
                                                return_when=FIRST_COMPLETED)[0])
                else:
                    sleep(max(0.0, wake - clock()))
                    continue
            active = len(due) + len(running)
            for future in pending:
                i = running.pop(future)
                follow = follows[i]
                now = clock()
                retry_after = None
                try:
                    status = future.result()
                except HybridCloudError as exc:
                    if not exc.transient:
                        follow.outcome = exc
                        continue
                    # A flaky appliance between polls is not the end of the wait.
                    follow.last_error = exc
                    follow.result.polls += 1
                    retry_after = getattr(exc, "retry_after", None)
                except Exception as exc:  # pylint: disable=broad-except
                    # A bug in one poll ends that item only; the others are still followed.
                    follow.outcome = UnexpectedError(exc, "waiting for %s" % follow.what,
                                                     _traceback_of(exc))
                    continue
                else:
                    follow.observe(status, now - start)
                    if status.failure:
                        follow.outcome = WaitFailed(status.failure, result=follow.result,
                                                    result_key=result_key)
                        continue
                    if status.done:
                        follow.result.done = True
                        follow.outcome = follow.result
                        continue
                    retry_after = status.retry_after
                if now >= deadline:
                    follow.outcome = WaitTimeout(
                        "Timed out after %s s waiting for %s; %s"
                        % (_seconds(timeout), follow.what, follow.describe_last()),
                        result=follow.result, result_key=result_key)
                    continue
                pause = next_pause(now - start, sleep_cap, rng)
                # Many things on one budget: each is visited about once per round.
                pause = max(pause, active * min_gap)
                if retry_after:
                    pause = max(pause, retry_after)
                # Never pause past the deadline: the last poll happens at the deadline itself.
                heapq.heappush(due, (min(now + pause, deadline), i))
    finally:
        executor.shutdown(wait=True)
        if client is not None:
            client.deadline = None
    return [f.outcome for f in follows]


def wait_until(poll, what, timeout, sleep_cap, result_key=None, client=None,
               clock=time.monotonic, sleep=time.sleep, rng=random.random):
    """Follow one thing; return its ``WaitResult`` or raise what ended the wait."""
    outcome = wait_all([poll], [what], timeout, sleep_cap, result_key=result_key, client=client,
                       clock=clock, sleep=sleep, rng=rng)[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _traceback_of(exc):
    """The traceback of an exception a poll raised (on a worker thread or inline)."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _seconds(value):
    return int(value) if float(value).is_integer() else value
