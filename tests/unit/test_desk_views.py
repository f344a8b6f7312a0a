"""The desk's pure parts: highlighted segments, query filters, listen addresses and exposure."""

from __future__ import annotations

import re
from datetime import date

import pytest

from monitor.errors import ConfigError
from monitor.storage.desk_queries import DayCount
from monitor.web.charts import busiest, columns, days_between
from monitor.web.filters import FilterError, cursor_param, desk_filter
from monitor.web.security import check_exposure, is_loopback, parse_listen
from monitor.web.views import Segment, segments


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        pytest.param("abc", [], [Segment("abc", False)], id="no-spans"),
        pytest.param(
            "a deserter ran",
            [(2, 10)],
            [Segment("a ", False), Segment("deserter", True), Segment(" ran", False)],
            id="one-span",
        ),
        pytest.param(
            "abcdef", [(1, 3), (2, 5)],
            [Segment("a", False), Segment("bcde", True), Segment("f", False)],
            id="overlapping-joined",
        ),
        pytest.param("abc", [(1, 99)], [Segment("a", False), Segment("bc", True)], id="clamped"),
        pytest.param("abc", [(2, 2), (5, 9)], [Segment("abc", False)], id="empty-and-outside"),
        pytest.param("<b>", [(0, 3)], [Segment("<b>", True)], id="markup-stays-text"),
    ],
)  # fmt: skip
def test_segments(text: str, spans: list[tuple[int, int]], expected: list[Segment]) -> None:
    """Spans become marked runs: sorted, joined when they overlap, clamped to the text."""
    assert segments(text, spans) == expected


def test_filter_reads_every_parameter() -> None:
    """Query parameters become a filter; `until` as a date means up to that day's end."""
    criteria = desk_filter(
        {
            "category": "awol",
            "channel": "@news",
            "since": "2026-12-01",
            "until": "2026-12-02",
            "feedback": "none",
            "limit": "20",
        }
    )
    assert (criteria.category, criteria.channel, criteria.feedback, criteria.limit) == (
        "awol",
        "@news",
        "none",
        20,
    )
    assert criteria.since is not None
    assert criteria.since.isoformat() == "2026-12-01T00:00:00+00:00"
    assert criteria.until is not None
    assert criteria.until.isoformat() == "2026-12-03T00:00:00+00:00"


def test_tag_names_its_channels() -> None:
    """`tag` is looked up in the configured tags; an unknown one lists the known tags."""
    tags = {"south": ("@a", "@b")}
    assert desk_filter({"tag": "south"}, tags).tagged == ("@a", "@b")
    assert desk_filter({}, tags).tagged is None
    with pytest.raises(FilterError, match=r"tag='north': no channel has this tag \(tags: south\)"):
        desk_filter({"tag": "north"}, tags)


def test_cursor_round_trips() -> None:
    """The `after` value a page hands out names the same cursor when read back."""
    cursor = desk_filter({"after": "2026-12-01T10:00:00+00:00~42"}).after
    assert cursor is not None
    assert cursor_param(cursor) == "2026-12-01T10:00:00Z~42"  # nothing to quote in a URL
    assert desk_filter({"after": cursor_param(cursor)}).after == cursor
    assert desk_filter({"after": "2026-12-01T10:00:00 00:00~42"}).after == cursor


@pytest.mark.parametrize(
    ("params", "named"),
    [
        pytest.param({"category": "piracy"}, "category=", id="unknown-category"),
        pytest.param({"feedback": "maybe"}, "feedback=", id="unknown-feedback"),
        pytest.param({"since": "yesterday"}, "since=", id="bad-date"),
        pytest.param({"limit": "0"}, "limit=", id="limit-too-small"),
        pytest.param({"limit": "100000"}, "limit=", id="limit-too-big"),
        pytest.param({"after": "garbage"}, "after=", id="bad-cursor"),
    ],
)
def test_bad_filters_name_the_parameter(params: dict[str, str], named: str) -> None:
    """A malformed parameter is refused with its name in the message."""
    with pytest.raises(FilterError, match=named):
        desk_filter(params)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("localhost", True),
     ("10.1.2.3", False), ("192.168.1.5", False), ("::", False), ("desk.example", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    """Only loopback addresses and `localhost` count as loopback."""
    assert is_loopback(host) is loopback


def test_listen_addresses() -> None:
    """HOST:PORT and [IPv6]:PORT parse; a port that is not one is a config error."""
    assert parse_listen("127.0.0.1:8470") == ("127.0.0.1", 8470)
    assert parse_listen("[::1]:8470") == ("::1", 8470)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_listen("127.0.0.1:http")


def test_exposure_needs_a_token_beyond_loopback() -> None:
    """Beyond loopback without a token is refused, naming the key and the fix; a token or
    loopback is fine."""
    with pytest.raises(ConfigError, match=re.escape("web.listen: 10.1.2.3 is beyond loopback")):
        check_exposure("10.1.2.3", None, "monitor.toml")
    check_exposure("10.1.2.3", "a-token", "monitor.toml")
    check_exposure("127.0.0.1", None, "monitor.toml")


def test_chart_columns_fill_quiet_days_and_put_others_last() -> None:
    """Each series has a value for every day (0 when quiet); past the busiest channels the
    rest share `others`, which comes last."""
    first, third = date(2026, 12, 1), date(2026, 12, 3)
    days = days_between(first, third)
    rows = [
        DayCount(first, "a", 5),
        DayCount(first, "b", 1),
        DayCount(third, "c", 2),
        DayCount(third, "a", 1),
    ]
    chart = columns(busiest(rows, top=2), days)
    assert chart["x"] == [1796083200, 1796169600, 1796256000]  # 2026-12-01..03 00:00 UTC
    assert chart["series"] == [
        {"label": "@a", "values": [5, 0, 1]},
        {"label": "@c", "values": [0, 0, 2]},
        {"label": "others", "values": [1, 0, 0]},
    ]
