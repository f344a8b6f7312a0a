"""Which mutes hold back a flagged post's alert, and how mute targets are written (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.errors import FeedbackError
from monitor.models import Match
from monitor.storage.mutes import Mute, channel_keys, muting, normalize_target
from tests.helpers.alerts import make_post

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
POST = make_post(channel_id=1001, username="News_Ch")
KEYS = channel_keys(POST.channel_username, POST.channel_id)


def _mute(kind: str, target: str) -> Mute:
    return Mute(1, kind, target, None, NOW, "test")


def _matches(*rules: str) -> tuple[Match, ...]:
    return tuple(Match(rule, "desertion", 0.9) for rule in rules)


@pytest.mark.parametrize(
    ("mutes", "rules", "held"),
    [
        pytest.param([_mute("channel", "news_ch")], ("r1",), True, id="channel-username"),
        pytest.param([_mute("channel", "1001")], ("r1",), True, id="channel-id"),
        pytest.param([_mute("channel", "other")], ("r1",), False, id="other-channel"),
        pytest.param([_mute("rule", "r1")], ("r1",), True, id="the-only-rule"),
        pytest.param([_mute("rule", "r1")], ("r1", "r2"), False, id="another-rule-fired"),
        pytest.param(
            [_mute("rule", "r1"), _mute("rule", "r2")], ("r1", "r2"), True, id="both-rules"
        ),
        pytest.param([_mute("rule", "r1")], ("scorer", "r1"), True, id="scorer-on-the-rule"),
        pytest.param([_mute("rule", "r1")], ("scorer",), False, id="scorer-alone"),
        pytest.param([_mute("rule", "scorer")], ("scorer",), True, id="scorer-muted"),
        pytest.param([], ("r1",), False, id="no-mutes"),
    ],
)
def test_which_mutes_hold_back_an_alert(
    mutes: list[Mute], rules: tuple[str, ...], held: bool
) -> None:
    """A channel mute holds its posts; rule mutes hold a post only if they cover every rule."""
    assert (muting(mutes, KEYS, _matches(*rules)) is not None) is held


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        pytest.param("channel", " @News_Ch ", "news_ch", id="at-name"),
        pytest.param("channel", "https://t.me/News_Ch", "news_ch", id="link"),
        pytest.param("channel", "-1001234", "1234", id="marked-id"),
        pytest.param("rule", " Soch-RU ", "Soch-RU", id="rule-as-written"),
    ],
)
def test_mute_targets_are_stored_as_the_daemon_names_them(
    kind: str, given: str, stored: str
) -> None:
    """Channels lose @, links and case, and a -100 id its prefix; rule ids stay as written."""
    assert normalize_target(kind, given) == stored


def test_an_unknown_mute_kind_names_the_kinds() -> None:
    """Only channel and rule can be muted."""
    with pytest.raises(FeedbackError, match="use one of channel, rule"):
        normalize_target("sink", "x")
