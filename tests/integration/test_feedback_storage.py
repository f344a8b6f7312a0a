"""Feedback and mutes in storage, on SQLite and PostgreSQL: recorded, read back, and honoured
when flagged posts are stored (a muted channel or rule queues no alert)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from monitor.errors import FeedbackError
from monitor.models import Classified
from monitor.storage.feedback import Feedback, FeedbackStore, LabelledPost
from tests.helpers.alerts import make_match, make_post
from tests.helpers.outbox import STORY, Seeder, seeded

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
PLAIN = "Сводка погоды: в Курске завтра дождь."


@pytest.fixture
async def seeder(database_url: str) -> AsyncIterator[Seeder]:
    """A migrated database with a seeder on it."""
    async with seeded(database_url) as made:
        yield made


@pytest.fixture
def store(seeder: Seeder) -> FeedbackStore:
    """The feedback store on the seeded database."""
    return FeedbackStore(seeder.repository.engine)


async def _post_ids(seeder: Seeder) -> dict[int, int]:
    """Message id -> post row id of every stored post."""
    return {s.post.message_id: s.id for s in await seeder.repository.stored_posts()}


async def _store(seeder: Seeder, message_id: int, text: str, *, rules: tuple[str, ...] = ()) -> int:
    channel = await seeder.channel(1001, "news_ch")
    post = make_post(text, message_id=message_id, date=dt.datetime.now(dt.UTC))
    matches = tuple(make_match(text, rule_id=rule) for rule in rules)
    item = Classified(post, matches, ("chat",) if matches else (), "ru", "test")
    await seeder.repository.store_batch(channel, [item], cursor=message_id, alert_cutoff=None)
    return (await _post_ids(seeder))[message_id]


async def test_latest_feedback_is_the_current_state_and_history_stays(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """Two judgements of one post: feedback_for gives the newer, the history both."""
    post_id = await _store(seeder, 1, STORY, rules=("soch-ru",))
    first = await store.record_feedback(post_id, "confirmed", None, "web", now=NOW)
    later = NOW + dt.timedelta(minutes=5)
    second = await store.record_feedback(
        post_id, "false_positive", None, "telegram:@ann", now=later
    )
    assert second == Feedback(second.id, post_id, "false_positive", None, "telegram:@ann", later)
    assert await store.feedback_for([post_id, post_id + 99]) == {post_id: second}
    assert await store.feedback_history(post_id) == [first, second]


@pytest.mark.parametrize(
    ("label", "category", "said"),
    [
        pytest.param("relevant", None, "unknown feedback label 'relevant'", id="label"),
        pytest.param("missed", "deserters", "unknown category 'deserters'", id="category"),
        pytest.param("missed", None, "a missed story needs its category", id="missed-bare"),
        pytest.param("false_positive", "awol", "a false positive takes no category", id="fp"),
    ],
)
async def test_bad_feedback_is_refused_with_the_fix(
    seeder: Seeder, store: FeedbackStore, label: str, category: str | None, said: str
) -> None:
    """A bad label or category records nothing and says what to give instead."""
    post_id = await _store(seeder, 1, STORY, rules=("soch-ru",))
    with pytest.raises(FeedbackError, match=said):
        await store.record_feedback(post_id, label, category, "api")
    assert await store.feedback_for([post_id]) == {}


async def test_feedback_on_a_post_not_stored_is_refused(store: FeedbackStore) -> None:
    """Feedback naming no stored post fails with its id."""
    with pytest.raises(FeedbackError, match="no stored post with id 4242"):
        await store.record_feedback(4242, "confirmed", None, "api")


async def test_labelled_posts_turn_current_feedback_into_examples(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """Confirmed takes the match's category, missed its own, a false positive is negative."""
    confirmed = await _store(seeder, 1, STORY, rules=("soch-ru",))
    wrong = await _store(seeder, 2, STORY + " 2", rules=("soch-ru",))
    missed = await _store(seeder, 3, PLAIN)
    await store.record_feedback(confirmed, "confirmed", None, "web")
    await store.record_feedback(wrong, "confirmed", None, "web")
    await store.record_feedback(wrong, "false_positive", None, "web")  # changed its mind
    await store.record_feedback(missed, "missed", "AWOL", "web")
    examples = [example async for example in store.labelled_posts(batch=2)]
    assert examples == [
        LabelledPost(STORY, True, "desertion", "ru", confirmed),
        LabelledPost(STORY + " 2", False, None, "ru", wrong),
        LabelledPost(PLAIN, True, "awol", "ru", missed),
    ]


async def test_mutes_are_listed_expire_and_are_undone(seeder: Seeder, store: FeedbackStore) -> None:
    """A 24 h channel mute and a rule mute are active; one expires, one is undone."""
    await seeder.channel(1001, "News_Ch")
    channel = await store.mute("channel", "@NEWS_CH", 24, "cli", now=NOW)
    rule = await store.mute("rule", "soch-ru", None, "web", now=NOW)
    assert (channel.target, channel.until) == ("news_ch", NOW + dt.timedelta(hours=24))
    assert await store.active_mutes(NOW) == [channel, rule]
    assert await store.active_mutes(NOW + dt.timedelta(hours=25)) == [rule]
    undone = await store.undo_mute(rule.id, now=NOW)
    assert undone.state(NOW) == "undone"
    assert await store.undo_mute(rule.id) == undone  # twice changes nothing
    assert await store.active_mutes(NOW) == [channel]
    listed = await store.list_mutes(include_undone=True)
    assert [m.id for m in listed] == [rule.id, channel.id]


@pytest.mark.parametrize(
    ("kind", "target", "hours", "said"),
    [
        pytest.param(
            "channel", "@nobody", 1, r"no channel '@nobody' is monitored \(known: @", id="channel"
        ),
        pytest.param("user", "x", 1, "unknown mute kind 'user'", id="kind"),
        pytest.param("rule", "  ", 1, "empty rule to mute", id="empty"),
        pytest.param("rule", "r", 0, "mute hours 0: give a number of hours above 0", id="hours"),
    ],
)
async def test_bad_mutes_are_refused(
    seeder: Seeder, store: FeedbackStore, kind: str, target: str, hours: float, said: str
) -> None:
    """An unknown channel or kind, an empty target or zero hours mute nothing."""
    await seeder.channel(1001, "news_ch")
    with pytest.raises(FeedbackError, match=said):
        await store.mute(kind, target, hours, "cli")
    assert await store.list_mutes(include_undone=True) == []


async def test_a_muted_channel_is_stored_flagged_without_alerts(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """A story in a muted channel is flagged and stored but queues no alert; others alert."""
    await seeder.channel(1001, "news_ch")
    await store.mute("channel", "news_ch", 1, "cli")
    await seeder.flag(["chat"], telegram_id=1001, message_id=1)
    await seeder.flag(["chat"], telegram_id=2002, message_id=1)
    stored = await seeder.repository.stored_posts()
    assert sorted((s.post.channel_username, s.flagged) for s in stored) == [
        ("chan2002", True),
        ("news_ch", True),
    ]
    alerted = [row.alert.post.channel_username for row in await seeder.rows() if row.alert]
    assert alerted == ["chan2002"]


async def test_a_rule_mute_holds_back_only_posts_no_other_rule_flagged(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """A post flagged by the muted rule alone raises no alert; one another rule flagged does."""
    await store.mute("rule", "soch-ru", None, "cli")
    await _store(seeder, 1, STORY, rules=("soch-ru",))
    await _store(seeder, 2, STORY + " 2", rules=("soch-ru", "other"))
    assert await _alerted(seeder) == [2]
    await store.undo_mute((await store.list_mutes())[0].id)
    await _store(seeder, 3, STORY + " 3", rules=("soch-ru",))
    assert await _alerted(seeder) == [2, 3]
    assert len(await seeder.repository.stored_posts(flagged_only=True)) == 3


async def _alerted(seeder: Seeder) -> list[int]:
    return [row.alert.post.message_id for row in await seeder.rows() if row.alert]


async def test_a_mute_holds_back_alerts_already_waiting(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """Alerts queued before a channel mute are never sent; another channel's still wait."""
    await seeder.flag(["chat"], telegram_id=1001, message_id=1)
    await seeder.flag(["chat"], telegram_id=1001, message_id=2)
    await seeder.flag(["chat"], telegram_id=2002, message_id=1)
    mute = await store.mute("channel", "@chan1001", 1, "cli")
    assert mute.held_back == 2
    waiting = [r.alert.post.channel_username for r in await seeder.rows(("pending",)) if r.alert]
    assert waiting == ["chan2002"]
    muted = await seeder.rows(("muted",))
    assert [(r.state, r.last_error) for r in muted] == [
        ("muted", f"held back by mute {mute.id}")
    ] * 2
    rule = await store.mute("rule", "soch-ru", None, "cli")  # the seeder's rule
    assert rule.held_back == 1
    assert await seeder.rows(("pending",)) == []


async def test_a_channel_not_yet_resolved_cannot_be_muted_by_its_invite_link(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """An invite-only channel the daemon has not resolved has no name a mute could hold:
    muting it is refused in words that tell when it can be muted, and nothing is stored
    (its reference, the invite link, is a secret)."""
    await seeder.repository.sync_channels(["https://t.me/+AbCdEfGhIjKl0123"])
    with pytest.raises(FeedbackError, match="not resolved yet"):
        await store.mute("channel", "https://t.me/+AbCdEfGhIjKl0123", 24, "cli")
    assert await store.list_mutes(include_undone=True) == []


async def test_a_channel_not_yet_resolved_is_muted_by_its_username(
    seeder: Seeder, store: FeedbackStore
) -> None:
    """A public channel the daemon has not resolved yet is muted under its username, the
    name its posts will carry."""
    await seeder.repository.sync_channels(["@Later_News"])
    made = await store.mute("channel", "t.me/later_news", 24, "cli")
    assert made.target == "later_news"
