"""Per-chat pacing: one message a second, twenty a minute, and bursts folded into digests."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.pacing import Decision, PaceLimits, Pacer

LIMITS = PaceLimits(interval=1.0, per_minute=20, digest_window=300.0)


def test_first_alert_goes_at_once() -> None:
    """An idle chat receives an alert immediately."""
    assert Pacer(LIMITS).decide(0.0, 1) == Decision("send", count=1)


def test_nothing_pending_is_idle() -> None:
    """No pending alerts means nothing to do."""
    assert Pacer(LIMITS).decide(0.0, 0).action == "idle"


@pytest.mark.parametrize(
    ("sent_at", "now", "delay"),
    [
        pytest.param([0.0], 0.5, 0.5, id="interval-half-left"),
        pytest.param([0.0], 1.0, 0.0, id="interval-over"),
        pytest.param([float(i) for i in range(20)], 20.0, 40.0, id="minute-budget-spent"),
        pytest.param([float(i) for i in range(20)], 60.0, 0.0, id="oldest-expired"),
    ],
)
def test_delay_table(sent_at: list[float], now: float, delay: float) -> None:
    """The delay honours both the interval and the per-minute budget."""
    pacer = Pacer(LIMITS)
    for moment in sent_at:
        pacer.sent(moment)
    assert pacer.delay(now) == pytest.approx(delay)


def test_flood_wait_blocks_the_chat() -> None:
    """A FloodWait or 429 penalty blocks the chat until it has passed."""
    pacer = Pacer(LIMITS)
    pacer.penalise(10.0, 30.0)
    assert pacer.decide(20.0, 1) == Decision("wait", delay=20.0)
    assert pacer.decide(40.0, 1).action == "send"


def test_excess_folds_when_the_budget_is_down_to_one() -> None:
    """With one message left in the minute and several waiting, they fold into a digest."""
    pacer = Pacer(LIMITS)
    for i in range(19):
        pacer.sent(float(i))
    assert pacer.decide(19.0, 5) == Decision("fold", count=5)
    assert pacer.decide(19.0, 1) == Decision("send", count=1)


def test_burst_window_collects_then_folds() -> None:
    """After a fold, alerts wait out the burst window and then fold again."""
    pacer = Pacer(LIMITS)
    pacer.folded(100.0)
    assert pacer.decide(150.0, 3, oldest=120.0) == Decision("wait", delay=250.0)
    assert pacer.decide(400.0, 3, oldest=120.0) == Decision("fold", count=3)
    assert pacer.decide(400.0, 1, oldest=120.0) == Decision("send", count=1)


def test_burst_ends_when_nothing_waited_through_it() -> None:
    """Alerts that all arrive after a burst window closed go out one by one again."""
    pacer = Pacer(LIMITS)
    pacer.folded(100.0)
    assert pacer.decide(1000.0, 3, oldest=900.0) == Decision("send", count=1)
    assert not pacer.in_burst(1000.0)


def simulate(
    arrivals: list[float], limits: PaceLimits, until: float
) -> tuple[list[tuple[float, int]], int]:
    """Run a pacer over alerts arriving at ``arrivals``; return (sends, alerts accounted for)."""
    pending: list[float] = []
    queue = sorted(arrivals)
    messages: list[tuple[float, int]] = []
    accounted = 0
    now = 0.0
    pacer = Pacer(limits)
    while now <= until:
        while queue and queue[0] <= now:
            pending.append(queue.pop(0))
        decision = pacer.decide(now, len(pending), pending[0] if pending else None)
        if decision.action == "send":
            pending.pop(0)
            pacer.sent(now)
            messages.append((now, 1))
            accounted += 1
        elif decision.action == "fold":
            del pending[: decision.count]
            pacer.folded(now)
            messages.append((now, decision.count))
            accounted += decision.count
        now += 0.25
    return messages, accounted


def test_burst_of_one_hundred_costs_at_most_twenty_five_messages() -> None:
    """A burst of 100 alerts reaches the chat as at most 25 messages, every alert accounted."""
    messages, accounted = simulate([0.0] * 100, LIMITS, until=600.0)
    assert accounted == 100
    assert len(messages) <= 25
    assert messages[-1][0] < 60.0, "nothing queues for long"


@settings(max_examples=100, deadline=None)
@given(arrivals=st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), max_size=300))
def test_limits_hold_and_nothing_is_lost(arrivals: list[float]) -> None:
    """Whatever the arrivals: the interval and minute budget hold and every alert is accounted."""
    messages, accounted = simulate(arrivals, LIMITS, until=1000.0)
    assert accounted == len(arrivals)
    times = [moment for moment, _ in messages]
    assert all(b - a >= LIMITS.interval for a, b in itertools.pairwise(times))
    for index, moment in enumerate(times):
        assert sum(1 for other in times[index:] if other < moment + 60.0) <= LIMITS.per_minute
