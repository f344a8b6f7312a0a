"""Sharing the account's history budget among channels."""

from __future__ import annotations

import pytest

from monitor.budget import (
    PollDemand,
    budget_warning,
    effective_intervals,
    recheck_rate,
    requested_rate,
)


def test_intervals_kept_when_they_fit() -> None:
    """Channels whose intervals fit the budget keep them."""
    demands = [PollDemand(1, 60), PollDemand(2, 120)]
    assert effective_intervals(demands, 20) == {1: 60, 2: 120}
    assert budget_warning(demands, 20, live=True) is None


def test_over_budget_stretches_to_fit() -> None:
    """500 channels at 60 s need 500 requests a minute; at 20 they stretch to fit exactly."""
    demands = [PollDemand(i, 60) for i in range(500)]
    intervals = effective_intervals(demands, 20)
    assert requested_rate([PollDemand(i, s) for i, s in intervals.items()]) == pytest.approx(20)
    assert min(intervals.values()) == pytest.approx(1500)


def test_busy_channels_poll_more_often() -> None:
    """When stretched, a busy channel gets a shorter interval than a quiet one."""
    demands = [PollDemand(1, 60, posts_per_hour=4), PollDemand(2, 60, posts_per_hour=0.1)]
    intervals = effective_intervals(demands, 1)
    assert intervals[1] < intervals[2]
    assert 60 / intervals[1] + 60 / intervals[2] == pytest.approx(1)


def test_slow_channels_leave_budget_to_others() -> None:
    """A channel that asks for little keeps its interval; the rest share what is left."""
    demands = [PollDemand(1, 600), PollDemand(2, 10), PollDemand(3, 10)]
    intervals = effective_intervals(demands, 5)
    assert intervals[1] == 600
    assert intervals[2] == pytest.approx(60 / 2.45)


@pytest.mark.parametrize(("live", "hint"), [(True, "live updates"), (False, "turn on")])
def test_warning_says_what_live_mode_changes(live: bool, hint: str) -> None:
    """The warning states the need, the budget, the stretch and what live mode changes."""
    warning = budget_warning([PollDemand(i, 60) for i in range(100)], 20, live=live)
    assert warning is not None
    assert "need 100 history requests per minute" in warning
    assert "budget is 20" in warning
    assert hint in warning


@pytest.mark.parametrize(
    ("posts_per_hour", "window", "interval", "expected"),
    [
        pytest.param([1.0], 172800, 3600, 1 / 60, id="quiet-channel-one-page-an-hour"),
        pytest.param([10.0], 172800, 3600, 5 / 60, id="480-posts-five-pages"),
        pytest.param([500.0], 172800, 3600, 20 / 60, id="capped-at-twenty-pages"),
        pytest.param([1.0, 10.0], 172800, 600, 6 / 10, id="two-channels-every-ten-minutes"),
        pytest.param([10.0], 0, 3600, 0.0, id="window-off"),
    ],
)
def test_recheck_rate(
    posts_per_hour: list[float], window: int, interval: int, expected: float
) -> None:
    """The re-read costs one request per 100 posts of the window, per channel and interval."""
    demands = [PollDemand(i, 60, rate) for i, rate in enumerate(posts_per_hour)]
    assert recheck_rate(demands, window, interval) == pytest.approx(expected)


def test_demo_config_fits_the_budget() -> None:
    """`monitor demo` asks for no more history requests than the budget (it warned about itself)."""
    import tomllib

    from monitor.config import SchedulerSettings
    from monitor.demo import demo_config_text, load_feed

    names = [channel["username"] for channel in load_feed().channels]
    scheduler = SchedulerSettings.model_validate(
        tomllib.loads(demo_config_text("", names))["scheduler"]
    )
    demands = [PollDemand(index, scheduler.interval) for index in range(len(names))]
    assert budget_warning(demands, scheduler.history_requests_per_minute, live=True) is None
