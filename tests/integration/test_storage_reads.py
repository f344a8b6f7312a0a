"""The read commands at scale: which indexes their queries use, and export in constant memory.

A million posts do not fit in a test; what makes the commands fast there is checked here on
the query plans (SQLite without statistics, as a new file has none; PostgreSQL with
sequential scans priced out, so a partial index the planner cannot match shows). Export
memory is measured with tracemalloc: exporting three times the posts must not take three
times the memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select

from monitor.cli.present import flat_row
from monitor.models import Classified
from monitor.storage.browse import (
    Browser,
    PostFilter,
    _per_category_query,
    _totals_query,
    export_page_query,
    filtered_query,
)
from monitor.storage.channel_state import overview_query
from monitor.storage.export import EXPORT_FIELDS, matches_query
from monitor.storage.feedback import FeedbackStore
from monitor.storage.rows import matches_t, posts_t
from tests.helpers.alerts import make_match, make_post
from tests.helpers.cli import invoke
from tests.helpers.outbox import Seeder, seeded

NOW = dt.datetime.now(dt.UTC)
SINCE = NOW - dt.timedelta(days=365)


def _export_page() -> Select[Any]:
    return export_page_query(PostFilter(limit=None), 0, 2000)


# Each read command's query, and the index it must read the posts through.
QUERIES = {
    "channels": (overview_query(), "ix_posts_flagged_"),
    "stats": (_totals_query(SINCE), "ix_posts_channel_date_flagged"),
    "stats per category": (_per_category_query(SINCE), "ix_posts_flagged_recent"),
    "flagged": (filtered_query(PostFilter()), "ix_posts_flagged_recent"),
    "flagged --category": (filtered_query(PostFilter(category="awol")), "ix_posts_flagged_"),
    "flagged --since": (filtered_query(PostFilter(since=SINCE)), "ix_posts_flagged_recent"),
    "export": (_export_page(), "ix_posts_flagged_id"),
}


async def _seed(seeder: Seeder, posts: int, text_size: int = 0, flagged_every: int = 20) -> None:
    channel = await seeder.channel(5001, "scale_ch")
    filler = " слово" * (text_size // 6)
    for start in range(1, posts + 1, 500):
        items = []
        for number in range(start, min(start + 500, posts + 1)):
            text = f"Сообщение {number}: военнослужащий ушёл в СОЧ.{filler}"
            post = make_post(
                text,
                channel_id=5001,
                message_id=number,
                date=NOW - dt.timedelta(hours=number),
            )
            flagged = number % flagged_every == 0
            matches = (make_match(text),) if flagged else ()
            items.append(Classified(post, matches, (), "ru", "test"))
        await seeder.repository.store_batch(channel, items, cursor=None, alert_cutoff=None)


async def _plan(seeder: Seeder, query: Select[Any]) -> str:
    engine = seeder.repository.engine
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            return "\n".join(str(row[-1]) for row in rows)
        await conn.exec_driver_sql("ANALYZE posts")  # as autovacuum will have done
        await conn.exec_driver_sql("SET enable_seqscan = off")
        rows = await conn.exec_driver_sql("EXPLAIN " + sql)
        return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize("name", list(QUERIES))
async def test_read_commands_read_posts_through_their_index(database_url: str, name: str) -> None:
    """No read command's query walks the posts table itself."""
    query, index = QUERIES[name]
    async with seeded(database_url) as seeder:
        await _seed(seeder, 300)
        plan = await _plan(seeder, query)
    lines = [line for line in plan.splitlines() if "posts" in line and "matches" not in line]
    assert lines, plan
    if database_url.startswith("postgresql"):  # on a few rows it may pick either flagged index
        index = index[: len("ix_posts_flagged_")] if "flagged_" in index else index
    assert any(index in line for line in lines), plan
    for line in lines:
        assert "Seq Scan on posts" not in line, plan
        assert not line.strip().startswith("SCAN posts") or "INDEX ix_posts" in line, plan


async def _export_peak(url: str, folder: Path, tag: str) -> tuple[int, int]:
    config = folder / f"{tag}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    target = folder / f"{tag}.csv"

    def run() -> tuple[int, int]:
        tracemalloc.start()
        try:
            result = invoke(["export", "--all", "--config", str(config), "-o", str(target)])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.code == 0, result.stderr
        with target.open(encoding="utf-8") as written:
            return peak, sum(1 for _ in written) - 1

    return await asyncio.to_thread(run)


async def test_export_holds_one_batch_not_every_post(tmp_path: Path) -> None:
    """Exporting 3x the posts peaks at about the same memory: rows go out as they are read."""
    peaks = {}
    for posts in (4_000, 12_000):  # two and six batches of 2,000
        url = f"sqlite:///{tmp_path / f'{posts}.db'}"
        async with seeded(url) as seeder:
            await _seed(seeder, posts, text_size=1_000)
        peak, rows = await _export_peak(url, tmp_path, str(posts))
        assert rows == posts
        peaks[posts] = peak
    assert peaks[12_000] < 1.5 * peaks[4_000], peaks


async def test_export_reads_matches_through_their_post_index(database_url: str) -> None:
    """A batch's matches are read from the post's index, not by walking every match."""
    async with seeded(database_url) as seeder:
        await _seed(seeder, 300)
        plan = await _plan(seeder, matches_query(list(range(1, 501))))  # a full chunk
    assert "ix_matches_post_id" in plan, plan
    assert "SCAN matches" not in plan.replace("USING", "").split("INDEX")[0], plan


async def _seed_varied(seeder: Seeder) -> None:
    """Posts with no match, one, several (tied scores), edits and deletions, two channels."""
    for number, username in enumerate(("var_a", "var_b", "var_a", "var_b"), start=1):
        channel = await seeder.channel(6000 + number % 2, username)
        text = f"Пост {number}: СОЧ и СЗЧ, дезертир; СОЧ снова."
        post = make_post(text, channel_id=6000 + number % 2, message_id=number, date=NOW)
        matches = [
            make_match(text, ("СОЧ", "СЗЧ"), rule_id=f"r{number}a", score=0.5),
            make_match(text, ("дезертир",), rule_id=f"r{number}b", category="awol", score=0.5),
            make_match(text, ("СОЧ",), rule_id=f"r{number}c", category="crime", score=0.9),
        ][: number - 1]
        classified = Classified(post, tuple(matches), (), "ru" if number % 2 else None, "t")
        await seeder.repository.store_batch(channel, [classified], cursor=None, alert_cutoff=None)
    async with seeder.repository.engine.begin() as conn:  # terms and spans of unequal length
        await conn.execute(
            matches_t.update()
            .where(matches_t.c.rule_id == "r4a")
            .values(terms=["СОЧ", "СЗЧ", "лишний"], spans=[[8, 11]])
        )
        await conn.execute(
            posts_t.update().where(posts_t.c.message_id == 2).values(edit_date=NOW, deleted_at=NOW)
        )


async def test_export_records_are_the_flat_rows(database_url: str) -> None:
    """The lean export path gives, field for field, what flat_row gives for the same posts."""
    async with seeded(database_url) as seeder:
        await _seed_varied(seeder)
        browser = Browser(seeder.repository.engine)
        every = PostFilter(flagged_only=False, limit=None)
        judged = (await browser.posts(every))[0].id
        await FeedbackStore(seeder.repository.engine).record_feedback(judged, "missed", "awol")
        expected = [flat_row(p) for p in reversed(await browser.posts(every))]
        exported = [record async for batch in browser.export_rows(every, 3) for record in batch]
    assert [dict(zip(EXPORT_FIELDS, r, strict=True)) for r in exported] == expected
    assert [(row["id"], row["feedback"]) for row in expected if row["feedback"]] == [
        (judged, "missed")
    ]
    assert [len(row["rules"]) for row in expected] == [0, 1, 2, 3]
