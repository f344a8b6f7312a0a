"""Is a channel quiet for longer than usual? A silently broken subscription looks like this.

Pure code: from the dates of a channel's recent posts, learn its usual gap between posts (a
high percentile, so bursty channels are judged by their slow hours) and call the channel quiet
when the silence since its last post is many times that, and never less than a floor. Once
the channel posts after an alarm, ``back_after`` says so, for the all-clear.

An alarm's key names the channel and its last post before the silence
(``quiet:<channel row id>:<unix seconds>``); the all-clear's key is the same with
``quiet-over:``, so each silence gets one alarm and one all-clear, across restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

MIN_HISTORY = 8
PERCENTILE = 0.9


@dataclass(frozen=True, slots=True)
class QuietVerdict:
    """A channel found quiet: how long it has been silent and what its usual gap is."""

    silence: timedelta
    usual_gap: timedelta
    last_post: datetime


def usual_gap(dates: Sequence[datetime]) -> timedelta | None:
    """Return the 90th percentile gap between consecutive posts (None with too little history)."""
    ordered = sorted(dates)
    gaps = sorted(later - earlier for earlier, later in pairwise(ordered))
    if len(gaps) + 1 < MIN_HISTORY:
        return None
    return gaps[min(len(gaps) - 1, int(PERCENTILE * len(gaps)))]


def quiet_verdict(
    dates: Sequence[datetime], now: datetime, *, factor: float, floor: timedelta
) -> QuietVerdict | None:
    """Return a verdict when the silence since the last post exceeds ``factor`` usual gaps.

    Args:
        dates: dates of the channel's recent posts (any order).
        now: the current time (aware).
        factor: how many usual gaps of silence make a channel quiet.
        floor: never call a channel quiet before this much silence.
    """
    gap = usual_gap(dates)
    if gap is None:
        return None
    last = max(dates)
    silence = now - last
    if silence > max(gap * factor, floor):
        return QuietVerdict(silence, gap, last)
    return None


def alarm_key(channel_id: int, last_post: datetime) -> str:
    """Return the key of the alarm for the silence after ``last_post``."""
    return f"quiet:{channel_id}:{int(last_post.timestamp())}"


def all_clear_key(alarm: str) -> str:
    """Return the key of the all-clear that answers ``alarm``."""
    return "quiet-over:" + alarm.removeprefix("quiet:")


def silent_since(alarm: str) -> datetime | None:
    """Return the last post before the silence an alarm key names (None if it is no key)."""
    stamp = alarm.rsplit(":", 1)[-1]
    return datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else None


def back_after(alarm: str, dates: Sequence[datetime]) -> datetime | None:
    """Return the first post after the silence of ``alarm``, if the channel posted again."""
    since = silent_since(alarm)
    later = [moment for moment in dates if since is not None and moment > since]
    return min(later) if later else None


def describe_back(label: str, alarm: str, back: datetime) -> str:
    """The all-clear's text."""
    since = silent_since(alarm) or back
    return (
        f"Channel {label} is posting again, after {_human(back - since)} of silence "
        f"(first new post at {back:%Y-%m-%d %H:%M} UTC)."
    )


def describe(label: str, verdict: QuietVerdict) -> str:
    """The operational alert's text."""
    return (
        f"Channel {label} has been quiet for {_human(verdict.silence)}; it usually posts at least "
        f"every {_human(verdict.usual_gap)}. Check that the account still sees it "
        "(`monitor channels`)."
    )


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 90:
        return f"{max(minutes, 1)} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
