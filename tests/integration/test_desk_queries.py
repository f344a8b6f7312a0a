"""The desk's chart queries on SQLite and PostgreSQL: flags per day, channel health, rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from monitor.models import Classified
from monitor.storage.desk_queries import DayCount, channel_health, flags_per_day, top_rules
from tests.helpers.alerts import make_match, make_post
from tests.helpers.outbox import Seeder, seeded

DAY = dt.datetime(2026, 6, 10, 12, tzinfo=dt.UTC)
STORY = "Военнослужащий самовольно оставил часть (СОЧ), дезертир в розыске."
# The feedback table as migration 0006_feedback makes it (IF NOT EXISTS: once merged, that one).
FEEDBACK = (
    "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, "
    "label VARCHAR(16) NOT NULL, category VARCHAR(64), who VARCHAR(255) NOT NULL, "
    "at TIMESTAMP NOT NULL, note TEXT)"
)


def _item(channel: int, message_id: int, when: dt.datetime, rules: list[str]) -> Classified:
    post = make_post(STORY, channel_id=channel, message_id=message_id, date=when)
    matches = tuple(
        make_match(STORY, ("СОЧ",), rule_id=rule, category=rule.split("-")[0]) for rule in rules
    )
    return Classified(post, matches, (), "ru", "test")


async def _store(seeder: Seeder) -> None:
    first = await seeder.channel(7001, "desk_a")
    second = await seeder.channel(7002, "desk_b")
    later = DAY + dt.timedelta(days=1)
    items_a = [
        _item(7001, 1, DAY, ["awol-soch", "desertion-word"]),
        _item(7001, 2, DAY, ["awol-soch"]),
        _item(7001, 3, later, ["awol-soch"]),
        _item(7001, 4, later, []),  # not flagged: counted nowhere
    ]
    await seeder.repository.store_batch(first, items_a, cursor=4, alert_cutoff=None)
    items_b = [_item(7002, 1, later, ["desertion-word"])]
    await seeder.repository.store_batch(second, items_b, cursor=1, alert_cutoff=None)


async def test_flags_per_day_by_category_and_by_channel(database_url: str) -> None:
    """Each UTC day counts its flagged posts once per category, and per channel."""
    async with seeded(database_url) as seeder:
        await _store(seeder)
        engine = seeder.repository.engine
        since = DAY - dt.timedelta(days=1)
        until = DAY + dt.timedelta(days=5)
        d1, d2 = DAY.date(), DAY.date() + dt.timedelta(days=1)
        assert await flags_per_day(engine, since, until) == [
            DayCount(d1, "awol", 2),
            DayCount(d1, "desertion", 1),
            DayCount(d2, "awol", 1),
            DayCount(d2, "desertion", 1),
        ]
        assert await flags_per_day(engine, since, until, by="channel") == [
            DayCount(d1, "desk_a", 2),
            DayCount(d2, "desk_a", 1),
            DayCount(d2, "desk_b", 1),
        ]
        assert await flags_per_day(engine, DAY + dt.timedelta(hours=13), until) == [
            DayCount(d2, "awol", 1),
            DayCount(d2, "desertion", 1),
        ]
        with pytest.raises(ValueError, match="category or channel"):
            await flags_per_day(engine, since, until, by="rule")


async def test_channel_health_shows_lag_errors_and_flood_waits(database_url: str) -> None:
    """Health has each channel's flags, lag since its last poll, errors and the flood waits."""
    async with seeded(database_url) as seeder:
        await _store(seeder)
        repository = seeder.repository
        now = dt.datetime.now(dt.UTC)
        await repository.record_flood_wait("GetHistoryRequest", now + dt.timedelta(minutes=5), 300)
        await repository.record_failure(
            seeder.channels[7002].id, "FloodWaitError 300 s", failing_after=5
        )
        health = await channel_health(repository.engine, now + dt.timedelta(seconds=1))
        by_name = {row.channel: row for row in health.channels}
        assert (by_name["desk_a"].flagged, by_name["desk_b"].flagged) == (3, 1)
        assert by_name["desk_b"].last_error == "FloodWaitError 300 s"
        assert by_name["desk_b"].failed_cycles == 1
        assert list(health.flood_waits) == ["GetHistoryRequest"]


async def test_top_rules_with_feedback_precision(database_url: str) -> None:
    """Rules come busiest first; precision is confirmed over judged, from each post's newest
    feedback (None while nothing is judged)."""
    async with seeded(database_url) as seeder:
        await _store(seeder)
        engine = seeder.repository.engine
        since = DAY - dt.timedelta(days=1)
        rules = await top_rules(engine, since, DAY + dt.timedelta(days=5))
        assert [(r.rule_id, r.category, r.posts) for r in rules] == [
            ("awol-soch", "awol", 3),
            ("desertion-word", "desertion", 2),
        ]
        assert rules[0].precision is None
        async with engine.begin() as conn:
            await conn.execute(text(FEEDBACK))
            ids = [row.id for row in await conn.execute(text("SELECT id FROM posts ORDER BY id"))]
            labels = [
                (0, "false_positive"),
                (0, "confirmed"),
                (1, "false_positive"),
                (2, "confirmed"),
            ]
            for number, (index, label) in enumerate(labels, 1):
                await conn.execute(
                    text(
                        "INSERT INTO feedback (id, post_id, label, who, at) "
                        "VALUES (:n, :p, :l, 'web', CURRENT_TIMESTAMP)"
                    ),
                    {"n": number, "p": ids[index], "l": label},
                )
        rules = await top_rules(engine, since, DAY + dt.timedelta(days=5))
        assert (rules[0].confirmed, rules[0].false_positives) == (2, 1)
        assert rules[0].precision == pytest.approx(2 / 3)
        assert (rules[1].confirmed, rules[1].false_positives) == (1, 0)
        assert await top_rules(engine, since, DAY + dt.timedelta(days=5), limit=1) != rules
