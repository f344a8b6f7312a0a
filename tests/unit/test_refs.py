"""Channel references as users write them."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.models import Channel
from monitor.telegram.refs import ChannelRef, names_channel, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("@Baza", ChannelRef("username", "baza"), id="at-name"),
        pytest.param("astra_news", ChannelRef("username", "astra_news"), id="bare-name"),
        pytest.param("t.me/mash", ChannelRef("username", "mash"), id="short-link"),
        pytest.param("https://t.me/s/mash", ChannelRef("username", "mash"), id="web-preview"),
        pytest.param("https://t.me/mash/12345", ChannelRef("username", "mash"), id="post-link"),
        pytest.param("https://telegram.me/mash", ChannelRef("username", "mash"), id="telegram-me"),
        pytest.param("-1001234567890", ChannelRef("id", "1234567890"), id="bot-api-id"),
        pytest.param("1234567890", ChannelRef("id", "1234567890"), id="bare-id"),
        pytest.param("https://t.me/c/1234567890/55", ChannelRef("id", "1234567890"), id="c-link"),
        pytest.param(
            "https://t.me/+AbCdEf123", ChannelRef("invite", "AbCdEf123"), id="plus-invite"
        ),
        pytest.param("t.me/joinchat/AbCdEf123", ChannelRef("invite", "AbCdEf123"), id="joinchat"),
    ],
)
def test_parse_ref(text: str, expected: ChannelRef) -> None:
    """Every documented form parses to the right kind and value."""
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["@ab", "https://example.org/mash", "t.me/", "два слова"])
def test_bad_ref_names_the_forms(text: str) -> None:
    """Something that is no reference says which forms are accepted."""
    with pytest.raises(ConfigError, match=r"use @name, t\.me/name, a numeric id"):
        parse_ref(text)


STORED = Channel(id=1, ref="t.me/Baza", telegram_id=1234567890, username="baza_news")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("t.me/Baza", True, id="same-text"),
        pytest.param("@baza", True, id="ref-in-another-form"),
        pytest.param("@BAZA_NEWS", True, id="resolved-username"),
        pytest.param("-1001234567890", True, id="bot-api-id"),
        pytest.param("1234567890", True, id="bare-id"),
        pytest.param("@other_channel", False, id="another-name"),
        pytest.param("t.me/+abcdefgh", False, id="an-invite"),
    ],
)
def test_names_channel(text: str, expected: bool) -> None:
    """`channels reset REF` finds a stored channel by any form of its reference or identity."""
    assert names_channel(text, STORED) is expected
