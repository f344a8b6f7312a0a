"""Sink filters (categories, rules, channels, tags, score) and quiet hours in the delivery zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.alerts.filters import (
    channel_tags,
    hold_until,
    in_window,
    normalise_channel,
    quiet_until,
    wants,
)
from monitor.config import LogSinkSettings
from monitor.models import Alert, Match
from tests.helpers.alerts import make_alert, make_post

KYIV = ZoneInfo("Europe/Kyiv")


def sink(**filters: Any) -> LogSinkSettings:
    """Return real sink settings with ``filters``."""
    return LogSinkSettings(kind="log", name="test", **filters)


def two_match_alert() -> Alert:
    """Return an alert with a strong desertion match and a weak hazing match."""
    alert = make_alert()
    weak = Match(rule_id="hazing-ru", category="hazing", score=0.4)
    return Alert(alert.alert_id, alert.sink, alert.post, (*alert.matches, weak), language="ru")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, True, id="no-filters"),
        pytest.param({"categories": ["desertion"]}, True, id="category-wanted"),
        pytest.param({"categories": ["mutiny"]}, False, id="category-unwanted"),
        pytest.param({"rules": ["hazing-ru"]}, True, id="rule-of-second-match"),
        pytest.param({"rules": ["other"]}, False, id="rule-unwanted"),
        pytest.param({"min_score": 0.9}, True, id="score-at-threshold"),
        pytest.param({"min_score": 0.95}, False, id="score-below"),
        pytest.param(
            {"categories": ["hazing"], "min_score": 0.5}, False, id="same-match-must-pass-all"
        ),
        pytest.param({"categories": ["hazing"], "min_score": 0.3}, True, id="weak-match-wanted"),
        pytest.param({"channels": ["@News_Ch"]}, True, id="channel-by-at-name"),
        pytest.param({"channels": ["https://t.me/news_ch"]}, True, id="channel-by-link"),
        pytest.param({"channels": ["-1001001"]}, True, id="channel-by-marked-id"),
        pytest.param({"channels": ["1001"]}, True, id="channel-by-bare-id"),
        pytest.param({"channels": ["@other"]}, False, id="channel-unwanted"),
        pytest.param({"tags": ["frontline"]}, True, id="tag-wanted"),
        pytest.param({"tags": ["rear"]}, False, id="tag-unwanted"),
    ],
)
def test_filter_table(filters: dict[str, Any], expected: bool) -> None:
    """Each filter narrows what the sink receives; an empty filter means any."""
    tags = {1001: frozenset({"frontline", "ru"})}
    assert wants(sink(**filters), two_match_alert(), tags) is expected


def test_channel_filter_passes_when_any_source_matches() -> None:
    """A merged story reaches a sink filtered on any one of its channels."""
    other = make_post(channel_id=2002, username="other")
    alert = make_alert(sources=(other,))
    assert wants(sink(channels=["@other"]), alert)
    assert not wants(sink(channels=["@third"]), alert)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("@News_Ch", "news_ch", id="at-name"),
        pytest.param("https://t.me/news_ch/", "news_ch", id="link"),
        pytest.param("t.me/s/news_ch", "news_ch", id="preview-link"),
        pytest.param("-1001234", "1234", id="marked-id"),
        pytest.param(1234, "1234", id="int"),
        pytest.param("https://t.me/c/1234/56", "1234", id="private-post-link"),
    ],
)
def test_normalise_channel(ref: str | int, expected: str) -> None:
    """Channel references in every form reduce to a comparable key."""
    assert normalise_channel(ref) == expected


def test_channel_tags_from_config_refs() -> None:
    """Tags come from every configured channel ref that names the post's channel."""
    post = make_post()
    channels = [("@news_ch", ["a", "b"]), ("-1001001", ["c"]), ("@other", ["x"])]
    assert channel_tags(post, channels) == frozenset({"a", "b", "c"})


@pytest.mark.parametrize(
    ("clock", "window", "expected"),
    [
        pytest.param(time(23, 30), (time(23), time(7)), True, id="after-start-wrapping"),
        pytest.param(time(3, 0), (time(23), time(7)), True, id="before-end-wrapping"),
        pytest.param(time(7, 0), (time(23), time(7)), False, id="end-excluded"),
        pytest.param(time(23, 0), (time(23), time(7)), True, id="start-included"),
        pytest.param(time(12, 0), (time(23), time(7)), False, id="daytime"),
        pytest.param(time(13, 0), (time(12), time(14)), True, id="same-day-window"),
        pytest.param(time(15, 0), (time(12), time(14)), False, id="after-same-day-window"),
        pytest.param(time(12, 0), (time(12), time(12)), False, id="empty-window"),
    ],
)
def test_in_window_table(clock: time, window: tuple[time, time], expected: bool) -> None:
    """Quiet-hour windows include their start, exclude their end and wrap midnight."""
    assert in_window(clock, window) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            datetime(2024, 5, 1, 21, 30, tzinfo=UTC),
            datetime(2024, 5, 2, 4, 0, tzinfo=UTC),
            id="kyiv-0030-ends-0700-next-utc-day",
        ),
        pytest.param(
            datetime(2024, 5, 1, 1, 0, tzinfo=UTC),
            datetime(2024, 5, 1, 4, 0, tzinfo=UTC),
            id="kyiv-0400-ends-same-day",
        ),
        pytest.param(datetime(2024, 5, 1, 19, 59, tzinfo=UTC), None, id="kyiv-2259-not-quiet"),
        pytest.param(
            datetime(2024, 5, 1, 20, 0, tzinfo=UTC),
            datetime(2024, 5, 2, 4, 0, tzinfo=UTC),
            id="kyiv-2300-starts",
        ),
        pytest.param(
            datetime(2024, 3, 30, 23, 0, tzinfo=UTC),
            datetime(2024, 3, 31, 4, 0, tzinfo=UTC),
            id="dst-night-ends-0700-eest",
        ),
    ],
)
def test_quiet_until_in_the_configured_zone(now: datetime, expected: datetime | None) -> None:
    """Quiet hours are read in the delivery time zone, across midnight and DST changes."""
    assert quiet_until(now, (time(23), time(7)), KYIV) == expected


def test_quiet_until_rejects_naive_now() -> None:
    """A naive ``now`` is a bug in the caller, not a time to guess."""
    with pytest.raises(ValueError, match="aware"):
        quiet_until(datetime(2024, 5, 1, 12, 0), (time(23), time(7)), KYIV)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("score", "held"),
    [
        pytest.param(0.5, True, id="low-score-held"),
        pytest.param(0.9, False, id="at-severity-sent"),
        pytest.param(0.95, False, id="above-severity-sent"),
    ],
)
def test_quiet_hours_hold_only_below_severity(score: float, held: bool) -> None:
    """During quiet hours only alerts at or above quiet_min_score go out at once."""
    settings = sink(quiet_hours="23:00-07:00", quiet_min_score=0.9)
    night = datetime(2024, 5, 1, 22, 0, tzinfo=UTC)  # 01:00 in Kyiv
    result = hold_until(settings, make_alert(score=score), night, KYIV)
    assert (result is not None) is held
    assert (
        hold_until(settings, make_alert(score=score), datetime(2024, 5, 1, 9, 0, tzinfo=UTC), KYIV)
        is None
    )


def test_no_quiet_hours_never_hold() -> None:
    """Without quiet hours nothing is held."""
    assert (
        hold_until(sink(), make_alert(score=0.1), datetime(2024, 5, 1, 22, 0, tzinfo=UTC), KYIV)
        is None
    )
