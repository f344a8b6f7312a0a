"""The quiet-channel verdict, learned from a channel's usual gap between posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.quiet import (
    alarm_key,
    all_clear_key,
    back_after,
    describe,
    describe_back,
    quiet_verdict,
    usual_gap,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _every(minutes: int, count: int, last_ago: timedelta) -> list[datetime]:
    last = NOW - last_ago
    return [last - timedelta(minutes=minutes * i) for i in range(count)]


@pytest.mark.parametrize(
    ("dates", "quiet"),
    [
        pytest.param(_every(10, 20, timedelta(hours=5)), True, id="silent-5h-usually-10min"),
        pytest.param(_every(10, 20, timedelta(minutes=30)), False, id="silent-30min-under-floor"),
        pytest.param(_every(60, 20, timedelta(hours=5)), False, id="hourly-channel-5h-not-yet"),
        pytest.param(_every(60, 20, timedelta(hours=7)), True, id="hourly-channel-7h"),
        pytest.param(_every(10, 5, timedelta(days=3)), False, id="too-little-history"),
    ],
)
def test_quiet_verdict(dates: list[datetime], quiet: bool) -> None:
    """Quiet means silent for more than six usual gaps and more than an hour."""
    verdict = quiet_verdict(dates, NOW, factor=6, floor=timedelta(hours=1))
    assert (verdict is not None) is quiet


def test_usual_gap_ignores_order_and_uses_slow_hours() -> None:
    """The usual gap is the 90th percentile, whatever order the dates come in."""
    dates = [NOW - timedelta(minutes=m) for m in (0, 5, 10, 15, 20, 25, 30, 35, 95)]
    assert usual_gap(list(reversed(dates))) == timedelta(minutes=60)


def test_description_names_silence_and_usual_gap() -> None:
    """The alert text says how long and how unusual."""
    verdict = quiet_verdict(_every(10, 20, timedelta(hours=5)), NOW, factor=6, floor=timedelta(0))
    assert verdict is not None
    assert describe("@news", verdict).startswith("Channel @news has been quiet for 5 h; it usually")


def test_all_clear_follows_the_alarm_of_its_own_silence() -> None:
    """An alarm's key names the silence; the all-clear answers it once the channel posts."""
    last = NOW - timedelta(hours=5)
    alarm = alarm_key(7, last)
    assert alarm == f"quiet:7:{int(last.timestamp())}"
    assert all_clear_key(alarm) == f"quiet-over:7:{int(last.timestamp())}"
    assert back_after(alarm, _every(10, 20, timedelta(hours=5))) is None
    back = NOW - timedelta(minutes=3)
    assert back_after(alarm, [*_every(10, 20, timedelta(hours=5)), back, NOW]) == back
    text = describe_back("@news", alarm, back)
    assert text.startswith("Channel @news is posting again, after 5 h of silence")
    assert back_after("quiet:7:garbage", [NOW]) is None
