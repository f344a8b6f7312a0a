"""Post text is made storable where posts enter the system, one character for one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.models import FORWARD_KEY_MAX, Post, storable_text

WHEN = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        pytest.param("дезертир", "дезертир", id="plain"),
        pytest.param("a\x00b", "a\ufffdb", id="nul"),
        pytest.param("\x00\x00", "\ufffd\ufffd", id="only-nul"),
        pytest.param("x\ud800y", "x\ufffdy", id="lone-high-surrogate"),
        pytest.param("x\udfffy", "x\ufffdy", id="lone-low-surrogate"),
        pytest.param("флаг 🇺🇦 ✓", "флаг 🇺🇦 ✓", id="emoji-untouched"),
    ],
)
def test_storable_text_keeps_length(raw: str, stored: str) -> None:
    """NUL and lone surrogates become U+FFFD; everything else, and the length, stays."""
    assert storable_text(raw) == stored
    assert len(storable_text(raw)) == len(raw)
    assert storable_text(raw).encode("utf-8")


def test_post_is_storable_from_construction() -> None:
    """A Post holds storable text, title and forward key whatever it was built from."""
    post = Post(1, 2, WHEN, "a\x00b", channel_title="t\ud800", forward_from="n\x00" * 60)
    assert post.text == "a\ufffdb"
    assert post.channel_title == "t\ufffd"
    assert post.forward_from is not None
    assert len(post.forward_from) == FORWARD_KEY_MAX
    assert "\x00" not in post.forward_from
