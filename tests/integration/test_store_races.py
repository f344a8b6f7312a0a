"""Two writers classify the same edit at once: the post is flagged, matched and alerted once.

The daemon stores a channel's posts from the live updates and from the sweep; both can see
the same edit. On PostgreSQL both transactions may read the post as unflagged before either
commits. The test makes that interleaving certain: it holds the post's row lock from a third
connection until both writers are waiting on it, then lets them go.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.models import Classified, Post
from monitor.storage.engine import async_url
from tests.helpers.alerts import make_match, make_post
from tests.helpers.monitor_world import wait_until
from tests.helpers.outbox import Seeder, seeded

PLAIN = "Сводка погоды: в Курске завтра дождь и ветер."
FLAGGED = "Военнослужащий самовольно оставил часть (СОЧ) под Курском, его ищут."


@pytest.mark.postgres
async def test_an_edit_seen_by_two_writers_at_once_is_recorded_once(postgres_url: str) -> None:
    async with seeded(postgres_url) as seeder:
        channel = await seeder.channel(2001)
        when = datetime.now(UTC) - timedelta(minutes=1)
        plain = make_post(PLAIN, channel_id=2001, message_id=5, date=when)
        await seeder.repository.store_batch(
            channel, [Classified(plain, (), ("chat",), "ru", "test")], cursor=5, alert_cutoff=None
        )
        edited = make_post(FLAGGED, channel_id=2001, message_id=5, date=when)
        item = Classified(edited, (make_match(FLAGGED),), ("chat",), "ru", "test")

        locker = create_async_engine(async_url(postgres_url))
        try:
            async with locker.connect() as conn:
                await conn.execute(text("select id from posts where message_id = 5 for update"))
                writers = [
                    asyncio.create_task(
                        seeder.repository.store_batch(
                            channel, [item], cursor=None, alert_cutoff=None, live=live
                        )
                    )
                    for live in (True, False)
                ]
                await wait_until(lambda: _waiting_on_locks(seeder), within=20)
                await conn.rollback()
            results = await asyncio.gather(*writers)
        finally:
            await locker.dispose()

        assert sorted(len(r.flagged_message_ids) for r in results) == [0, 1]
        assert sum(r.alerts_created for r in results) == 1
        assert await _count(seeder, "select count(*) from matches") == 1
        assert await _count(seeder, "select count(*) from alerts") == 1
        assert await _count(seeder, "select count(*) from posts where flagged") == 1


@pytest.mark.postgres
async def test_a_slower_writer_never_rewinds_the_cursor(postgres_url: str) -> None:
    """A batch up to 12 that read the cursor before another writer committed 15 keeps 15."""
    async with seeded(postgres_url) as seeder:
        channel = await seeder.channel(2003)
        when = datetime.now(UTC) - timedelta(minutes=1)
        post = make_post(PLAIN, channel_id=2003, message_id=10, date=when)
        batch = [Classified(post, (), (), "ru", "test")]
        await seeder.repository.store_batch(channel, batch, cursor=10, alert_cutoff=None)
        later = [Classified(replace(post, message_id=12), (), (), "ru", "test")]
        other_writer = create_async_engine(async_url(postgres_url))
        try:
            async with other_writer.connect() as conn:
                # Another writer moves the cursor to 15 and has not committed yet ...
                await conn.execute(text("update channels set last_message_id = 15"))
                slower = asyncio.create_task(
                    seeder.repository.store_batch(channel, later, cursor=12, alert_cutoff=None)
                )
                # ... while the slower batch has read it (10) and waits for the row.
                await wait_until(lambda: _waiting_on_locks(seeder, 1))
                await conn.commit()
            await slower
        finally:
            await other_writer.dispose()
        assert await _count(seeder, "select last_message_id from channels") == 15


async def test_an_older_version_never_replaces_a_later_edit(database_url: str) -> None:
    async with seeded(database_url) as seeder:
        channel = await seeder.channel(2002)
        when = datetime.now(UTC) - timedelta(minutes=10)
        original = make_post(PLAIN, channel_id=2002, message_id=8, date=when)
        first = replace(original, text=PLAIN + " (1)", edit_date=when + timedelta(minutes=1))
        second = replace(original, text=PLAIN + " (2)", edit_date=when + timedelta(minutes=2))

        async def store(post: Post) -> int:
            item = Classified(post, (), (), "ru", "test")
            result = await seeder.repository.store_batch(
                channel, [item], cursor=None, alert_cutoff=None
            )
            return result.edited

        assert await store(original) == 0
        assert await store(second) == 1
        assert await store(first) == 0  # a slower writer's older edit
        assert await store(original) == 0  # and the unedited original
        query = "select text from posts where message_id = 8"
        async with seeder.repository.engine.connect() as conn:
            assert (await conn.execute(text(query))).scalar_one() == second.text


async def _waiting_on_locks(seeder: Seeder, writers: int = 2) -> bool:
    query = (
        "select count(*) from pg_stat_activity "
        "where datname = current_database() and wait_event_type = 'Lock'"
    )
    return await _count(seeder, query) >= writers


async def _count(seeder: Seeder, query: str) -> int:
    async with seeder.repository.engine.connect() as conn:
        return int((await conn.execute(text(query))).scalar_one())
