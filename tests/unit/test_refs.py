"""Channel references as users write them, and how they are shown: invite hashes masked."""

from __future__ import annotations

import click
import pytest

from monitor.errors import ConfigError
from monitor.invite_links import invite_hashes, mask_invite_links
from monitor.logs import SecretRedactor
from monitor.models import Channel
from monitor.observe import metric_label
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


@pytest.mark.parametrize(
    "text",
    ["@ab", "https://example.org/mash", "t.me/", "два слова", "t.me/joinchat", "t.me/c/abcd"],
)
def test_bad_ref_names_the_forms(text: str) -> None:
    """Something that is no reference says which forms are accepted.

    A ``joinchat`` link without its hash is no username, nor is a ``c/`` link without an id.
    """
    with pytest.raises(ConfigError, match=r"use @name, t\.me/name, a numeric id"):
        parse_ref(text)


@pytest.mark.parametrize(
    "text", ["0", "-5", "-1000000000000", "99999999999999999999999", "t.me/c/0/1"]
)
def test_a_number_no_channel_can_have_is_refused(text: str) -> None:
    """Zero, a basic group's small negative id and numbers past the largest channel id."""
    with pytest.raises(ConfigError, match=r"is not a channel id; use the id Telegram shows"):
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


HASH = "AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param(f"t.me/+{HASH}", "t.me/+AbCd…", id="plus"),
        pytest.param(f"https://t.me/joinchat/{HASH}", "https://t.me/joinchat/AbCd…", id="joinchat"),
        pytest.param(
            f"resolve failed for https://telegram.me/+{HASH}?x=1: expired",
            "resolve failed for https://telegram.me/+AbCd…?x=1: expired",
            id="in-free-text",
        ),
        pytest.param("t.me/+abc", "t.me/+…", id="short-hash-hidden-whole"),
        pytest.param("t.me/deserter_news", "t.me/deserter_news", id="public-untouched"),
    ],
)
def test_invite_links_are_masked(text: str, shown: str) -> None:
    """An invite link keeps the first characters of its hash, never the hash."""
    assert mask_invite_links(text) == shown


@pytest.mark.parametrize(
    ("channel", "label"),
    [
        pytest.param(
            Channel(1, "@News_Ch", username="News_Ch", telegram_id=77), "news_ch", id="public"
        ),
        pytest.param(
            Channel(2, f"t.me/+{HASH}", telegram_id=1234, title="Closed"), "1234", id="invite"
        ),
        pytest.param(Channel(3, f"t.me/+{HASH}"), "invite-3", id="invite-unresolved"),
        pytest.param(Channel(4, "https://t.me/s/Some_Name"), "some_name", id="username-unresolved"),
        pytest.param(Channel(5, "-1001234567890"), "1234567890", id="id-unresolved"),
    ],
)
def test_one_metric_label_per_channel(channel: Channel, label: str) -> None:
    """/metrics labels a channel by its username (no @, lower case), else its id: never a hash."""
    assert metric_label(channel) == label


def test_channel_label_and_logs_hide_the_invite_hash() -> None:
    """The label of an unresolved invite channel, and any log text naming it, hide the hash."""
    assert Channel(3, f"t.me/+{HASH}").label == "t.me/+AbCd…"
    redactor = SecretRedactor()
    redactor.register(invite_hashes([f"t.me/+{HASH}", "@public_name"]))
    event = redactor(None, "info", {"event": "channel_resolved", "channel": f"t.me/+{HASH}"})
    assert event["channel"] == "t.me/+AbCd…"
    assert HASH not in str(redactor(None, "info", {"event": "x", "error": f"hash {HASH} expired"}))


def test_cli_errors_mask_invite_links() -> None:
    """An error a command reports (here: a channel that cannot be resolved) masks the hash."""
    from click.testing import CliRunner

    from monitor.cli.base import handle_errors
    from monitor.errors import TelegramError

    @click.command()
    @handle_errors
    def resolve() -> None:
        raise TelegramError(f"cannot resolve https://t.me/joinchat/{HASH} (not_found)")

    result = CliRunner().invoke(resolve)
    assert result.exit_code == TelegramError.exit_code
    assert result.stderr == "cannot resolve https://t.me/joinchat/AbCd… (not_found)\n"
