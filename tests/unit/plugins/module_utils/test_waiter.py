"""The shared waiter: deadline, schedule, history, failures, and following many things."""

import random

import pytest

from ansible_collections.hybridcloud.ops.plugins.module_utils import _waiter
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import (
    ApiError, TransportError, UnexpectedError, WaitFailed, WaitTimeout,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._waiter import (
    Status, next_pause, wait_all, wait_until,
)

from .scripted import FakeClock


def timeline(clock, steps, done_state="done"):
    """A poll that reports ``state`` from ``steps`` [(from_second, state)] on the fake clock."""
    start = clock()
    seen = []

    def poll():
        t = clock() - start
        seen.append(t)
        state = [s for at, s in steps if t >= at][-1]
        return Status(state, obj={"state": state, "t": t}, done=state == done_state)
    poll.seen = seen
    return poll


def wait(clock, poll, timeout=300, sleep_cap=10, rng=lambda: 0.5, **kwargs):
    return wait_until(poll, "the thing to be done", timeout, sleep_cap, clock=clock,
                      sleep=clock.sleep, rng=rng, **kwargs)


def test_first_poll_is_made_at_once_and_done_returns_immediately():
    clock = FakeClock()
    poll = timeline(clock, [(0, "done")])
    result = wait(clock, poll)
    assert poll.seen == [0] and clock.sleeps == []
    assert (result.polls, result.elapsed, result.done) == (1, 0.0, True)
    assert result.obj == {"state": "done", "t": 0}


# -- the poll schedule: its properties, not its numbers (the bench may tune the constants) ---------
RNG_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0)


def test_pauses_start_short_grow_with_time_waited_and_are_capped_by_wait_sleep():
    clock = FakeClock()
    poll = timeline(clock, [(0, "running"), (200, "done")])
    wait(clock, poll, sleep_cap=10)
    # "Near half a second" at first (the wait fragment says so), never a busy loop.
    assert 0.25 <= clock.sleeps[0] <= 0.75
    assert all(b >= a for a, b in zip(clock.sleeps, clock.sleeps[1:]))
    assert clock.sleeps[-1] > clock.sleeps[0]
    assert max(clock.sleeps) == 10 and clock.sleeps[-1] == 10


@pytest.mark.parametrize("rng", RNG_EDGES)
def test_a_pause_grows_with_the_time_already_waited_whatever_the_jitter(rng):
    pauses = [next_pause(t, 3600, rng=lambda: rng) for t in (0, 1, 5, 30, 120, 600)]
    assert all(b > a for a, b in zip(pauses, pauses[1:])), pauses


@pytest.mark.parametrize("elapsed", [0, 0.5, 4, 30, 90, 600, 1e6])
@pytest.mark.parametrize("cap", [1, 10, 60])
def test_no_pause_is_longer_than_wait_sleep_nor_negative(elapsed, cap):
    for rng in RNG_EDGES:
        assert 0 < next_pause(elapsed, cap, rng=lambda: rng) <= cap


@pytest.mark.parametrize("elapsed", [0, 3, 20, 45])
def test_jitter_is_bounded_around_the_pause_it_varies(elapsed):
    middle = next_pause(elapsed, 3600, rng=lambda: 0.5)
    low, high = next_pause(elapsed, 3600, rng=lambda: 0.0), next_pause(elapsed, 3600, rng=lambda: 1.0)
    assert low < middle < high  # there is jitter: many waits started together spread out
    assert low >= middle * (1 - _waiter.JITTER) - 1e-9 and high <= middle * (1 + _waiter.JITTER) + 1e-9
    assert _waiter.JITTER <= 0.25  # "a little jitter"


def test_a_pause_never_runs_past_the_deadline_whatever_wait_sleep_says():
    clock = FakeClock()
    start = clock()
    poll = timeline(clock, [(0, "running")])
    with pytest.raises(WaitTimeout):
        wait(clock, poll, timeout=7.3, sleep_cap=60, rng=lambda: 1.0)
    assert clock() - start == pytest.approx(7.3)
    assert sum(clock.sleeps) == pytest.approx(7.3)


@pytest.mark.parametrize("realized_at, max_lag, max_polls", [(4, 0.5, 10), (30, 2.0, 30)])
def test_schedule_meets_the_spec_targets(realized_at, max_lag, max_polls):
    """SPEC section 4: median lag and request count for an operation done after 4 s / 30 s.

    The moment of completion relative to the first poll varies from run to run (start-up
    time); 101 seeded runs with it spread over one second stand in for that.
    """
    lags, polls = [], []
    for seed in range(101):
        rng = random.Random(seed)
        clock = FakeClock()
        done_at = realized_at - rng.random()
        poll = timeline(clock, [(0, "running"), (done_at, "done")])
        result = wait(clock, poll, rng=rng.random)
        lags.append(result.elapsed - done_at)
        polls.append(result.polls)
    assert sorted(lags)[50] <= max_lag - 0.1  # 0.1 s left for the request and the task's return
    assert max(polls) <= max_polls


def test_history_records_each_change_of_state_once():
    clock = FakeClock()
    poll = timeline(clock, [(0, "pending"), (2, "in_progress"), (5, "unknown"), (8, "in_progress"), (12, "done")])
    result = wait(clock, poll)
    assert [h["state"] for h in result.history] == ["pending", "in_progress", "unknown", "in_progress", "done"]
    assert result.history[0]["elapsed"] == 0.0
    assert all(a["elapsed"] < b["elapsed"] for a, b in zip(result.history, result.history[1:]))
    assert result.polls > len(result.history)


def test_timeout_names_what_the_deadline_and_the_last_state_and_carries_the_last_object():
    clock = FakeClock()
    start = clock()
    poll = timeline(clock, [(0, "in_progress")])
    with pytest.raises(WaitTimeout) as caught:
        wait(clock, poll, timeout=20, result_key="realization")
    err = caught.value
    assert err.msg.startswith("Timed out after 20 s waiting for the thing to be done; last state: in_progress")
    kwargs = err.to_fail_kwargs()
    assert kwargs["realization"]["state"] == "in_progress"
    assert kwargs["polls"] == len(poll.seen) and kwargs["history"][0]["state"] == "in_progress"
    # Never past the deadline: the last poll happens exactly at it.
    assert clock() - start == pytest.approx(20)
    assert poll.seen[-1] == pytest.approx(20)


def test_timeout_detail_is_shown():
    clock = FakeClock()

    def poll():
        return Status("unknown", obj={}, detail="Unable to get response from any CCP node")
    with pytest.raises(WaitTimeout, match=r"last state: unknown \(Unable to get response from any CCP node\)"):
        wait(clock, poll, timeout=5)


def test_a_failure_state_ends_the_wait_at_once():
    clock = FakeClock()
    calls = []

    def poll():
        calls.append(clock())
        return Status("error", obj={"state": "error"}, failure="session failed: node X: IKE failed")
    with pytest.raises(WaitFailed) as caught:
        wait(clock, poll, result_key="realization")
    assert caught.value.msg == "session failed: node X: IKE failed"
    assert caught.value.to_fail_kwargs()["realization"] == {"state": "error"}
    assert len(calls) == 1 and clock.sleeps == []


def test_transient_errors_between_polls_do_not_end_the_wait():
    clock = FakeClock()
    answers = [ApiError("GET /s: HTTP 503", status_code=503), TransportError("GET /s: reset"),
               Status("done", obj={"state": "done"}, done=True)]

    def poll():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    result = wait(clock, poll)
    assert result.done and result.polls == 3


def test_transient_errors_until_the_deadline_are_named_in_the_timeout():
    clock = FakeClock()

    def poll():
        raise ApiError("GET /s: HTTP 503 Service Unavailable", status_code=503)
    with pytest.raises(WaitTimeout, match=r"no state was read; last error: GET /s: HTTP 503"):
        wait(clock, poll, timeout=10)


def test_a_non_transient_error_ends_the_wait_as_it_is():
    clock = FakeClock()

    def poll():
        raise ApiError("GET /s: HTTP 403 Forbidden", status_code=403)
    with pytest.raises(ApiError, match="403"):
        wait(clock, poll)
    assert clock.sleeps == []


def test_retry_after_of_a_status_is_honoured():
    clock = FakeClock()
    answers = [Status("running", retry_after=7), Status("done", done=True)]
    wait(clock, lambda: answers.pop(0))
    assert clock.sleeps == [7]


def test_retry_after_of_a_transient_error_is_honoured_but_not_past_the_deadline():
    clock = FakeClock()

    def poll():
        raise ApiError("HTTP 429", status_code=429, retry_after=50)
    with pytest.raises(WaitTimeout):
        wait(clock, poll, timeout=30)
    assert clock.sleeps == [30]


def test_the_client_deadline_is_set_while_waiting_and_cleared_after():
    clock = FakeClock()

    class Client:
        deadline = None
    client = Client()
    seen = []

    def poll():
        seen.append(client.deadline)
        return Status("done", done=True)
    wait(clock, poll, timeout=42, client=client)
    assert seen == [clock() + 42] and client.deadline is None


def test_many_things_on_one_rate_budget_are_spaced_out():
    clock = FakeClock()
    starts = []

    def make(i):
        def poll():
            starts.append(clock())
            return Status("done", done=True)
        return poll
    outcomes = wait_all([make(i) for i in range(5)], ["item %d" % i for i in range(5)], 60, 10,
                        max_rate=10, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    assert all(o.done for o in outcomes)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == [pytest.approx(0.1)] * 4


def test_wait_all_reports_each_outcome_without_raising():
    clock = FakeClock()
    polls = [lambda: Status("done", done=True),
             lambda: Status("error", failure="it broke"),
             lambda: Status("running")]
    outcomes = wait_all(polls, ["a", "b", "c"], 5, 10, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    assert outcomes[0].done
    assert isinstance(outcomes[1], WaitFailed) and outcomes[1].msg == "it broke"
    assert isinstance(outcomes[2], WaitTimeout) and "waiting for c" in outcomes[2].msg


def test_wait_all_on_threads_follows_every_item():
    outcomes = wait_all([lambda i=i: Status("done", obj=i, done=True) for i in range(20)],
                        ["x"] * 20, 30, 10, max_workers=4)
    assert [o.obj for o in outcomes] == list(range(20))


# -- a poll that breaks in an unforeseen way ends only its own item --------------------------------
def broken_poll():
    raise KeyError("inventory")


@pytest.mark.parametrize("workers", [1, 3])
def test_an_unexpected_exception_ends_only_its_own_item_and_names_it(workers):
    clock = FakeClock()
    polls = [lambda: Status("done", obj="a", done=True), broken_poll, lambda: Status("done", obj="c", done=True)]
    outcomes = wait_all(polls, ["item a", "item b", "item c"], 30, 10, max_workers=workers,
                        clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    assert [outcomes[0].obj, outcomes[2].obj] == ["a", "c"]
    err = outcomes[1]
    assert isinstance(err, UnexpectedError)
    assert err.msg.startswith("unexpected KeyError while waiting for item b: 'inventory'")
    assert "Please report this" in err.msg
    # The traceback goes where Ansible shows it only at -vvv (fail_json's exception).
    assert "Traceback" in err.context["exception"] and "broken_poll" in err.context["exception"]


def test_an_unexpected_exception_of_the_one_thing_waited_for_is_raised_as_a_readable_error():
    clock = FakeClock()
    with pytest.raises(UnexpectedError, match="unexpected KeyError while waiting for the thing to be done"):
        wait(clock, broken_poll)


def test_an_interrupt_is_not_swallowed():
    clock = FakeClock()

    def interrupted():
        raise KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        wait(clock, interrupted)
