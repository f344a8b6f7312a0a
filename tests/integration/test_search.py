"""Full-text search over stored posts: word forms, filters, paging, sync, hostile queries.

On SQLite (FTS5 kept by triggers) and PostgreSQL (a generated tsvector column with a GIN
index), through the storage code that writes posts (``store_batch``, edits, retention).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from monitor.models import Classified
from monitor.storage import migrate, search
from monitor.storage.outbox import Outbox
from monitor.storage.repository import Repository
from monitor.storage.search import search_posts
from tests.helpers.alerts import make_match, make_post
from tests.helpers.cli import invoke
from tests.helpers.outbox import Seeder, seeded

NOW = dt.datetime.now(dt.UTC)
TEXTS = {
    1: "Суд заочно осудил трёх дезертиров из Курской области.",
    2: "Командир військового підрозділу повідомив про розшук.",
    3: "Two deserters were detained near the base.",
    4: "The soldier deserted his unit last week.",
    5: "Погода: в Курске завтра дождь.",
    6: "Військовий самовільно залишив частину.",
}
HOSTILE = [
    '"',
    'a" OR 1=1 --',
    "NEAR(дезертир",
    '(дезертир*" ^',
    "*",
    "col:value ^start -minus +plus",
    "'; DROP TABLE posts; --",
    "дезертир танк AND OR NOT",
    "(((",
    "\x00\u202e\u200b",
    "&|!<->:*",
    "",
    "   ",
    "x" * 5000,
]


def _item(message_id: int, body: str, *, days_old: float = 1, flagged: bool = False) -> Classified:
    post = make_post(
        body,
        channel_id=5001,
        message_id=message_id,
        username="search_ch",
        date=NOW - dt.timedelta(days=days_old),
    )
    matches = (make_match(body, ("дезертир",), category="desertion"),) if flagged else ()
    return Classified(post, matches, (), "ru", "test")


async def _store(seeder: Seeder, items: list[Classified]) -> None:
    channel = await seeder.channel(5001, "search_ch")
    await seeder.repository.store_batch(channel, items, cursor=None, alert_cutoff=None)


async def _found(seeder: Seeder, query: str, **filters: object) -> list[int]:
    hits = await search_posts(seeder.repository.engine, query, **filters)  # type: ignore[arg-type]
    return [hit.message_id for hit in hits]


def _items() -> list[Classified]:
    return [_item(number, body, flagged=number == 1) for number, body in TEXTS.items()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("дезертир", [1], id="ru-dezertir-finds-dezertirov"),
        pytest.param("Дезертиры", [1], id="ru-plural-case-folded"),
        pytest.param("військовий", [6, 2], id="uk-viiskovyi-finds-viiskovoho"),
        pytest.param("deserted", [4, 3], id="en-deserted-finds-deserters"),
        pytest.param("трех", [1], id="yo-folded-to-ye"),
        pytest.param("deserters base", [3], id="every-word-must-match"),
        pytest.param("танк", [], id="absent-word"),
    ],
)
async def test_search_finds_word_forms(database_url: str, query: str, expected: list[int]) -> None:
    """A word finds its other forms in Russian, Ukrainian and English, newest stored first."""
    async with seeded(database_url) as seeder:
        await _store(seeder, _items())
        assert await _found(seeder, query) == expected


async def test_search_result_carries_snippet_highlights_and_category(database_url: str) -> None:
    """A hit has its channel, link, flag, category and highlight offsets into its snippet."""
    async with seeded(database_url) as seeder:
        await _store(seeder, _items())
        [hit] = await search_posts(seeder.repository.engine, "дезертир")
        assert (hit.channel, hit.flagged, hit.category) == ("search_ch", True, "desertion")
        assert hit.link == "https://t.me/search_ch/1"
        assert [hit.snippet[a:b] for a, b in hit.highlights] == ["дезертиров"]


async def test_search_filters_and_keyset_paging(database_url: str) -> None:
    """Flagged, channel and time filters narrow the hits; ``before`` pages by post id."""
    async with seeded(database_url) as seeder:
        items = [_item(n, f"Новость номер {n} о мобилизации", days_old=n) for n in range(1, 8)]
        items.append(_item(8, "Дезертир задержан после мобилизации", flagged=True))
        await _store(seeder, items)
        engine = seeder.repository.engine
        assert await _found(seeder, "мобилизация", flagged=True) == [8]
        assert len(await _found(seeder, "мобилизация", flagged=False)) == 7
        assert await _found(seeder, "мобилизация", channel="@nobody") == []
        assert len(await _found(seeder, "мобилизация", channel="@search_ch")) == 8
        recent = await _found(seeder, "мобилизация", since=NOW - dt.timedelta(days=3.5))
        assert sorted(recent) == [1, 2, 3, 8]
        old = await _found(seeder, "мобилизация", until=NOW - dt.timedelta(days=5.5))
        assert sorted(old) == [6, 7]
        first = await search_posts(engine, "мобилизация", limit=3)
        second = await search_posts(engine, "мобилизация", limit=3, before=first[-1].id)
        rest = await search_posts(engine, "мобилизация", limit=10, before=second[-1].id)
        ids = [hit.id for hit in first + second + rest]
        assert ids == sorted(ids, reverse=True)
        assert len(set(ids)) == 8


async def test_search_follows_edits_deletions_and_retention(database_url: str) -> None:
    """An edit, a row deleted and retention's prune change what search finds at once."""
    async with seeded(database_url) as seeder:
        await _store(seeder, [_item(1, "Дезертира задержали", days_old=40), _item(2, "Погода")])
        assert await _found(seeder, "дезертир") == [1]
        edited = make_post(
            "Уточнение: задержан солдат-срочник",
            channel_id=5001,
            message_id=1,
            username="search_ch",
            date=NOW - dt.timedelta(days=40),
        )
        edited = dataclasses.replace(edited, edit_date=NOW)
        await _store(seeder, [Classified(edited, (), (), "ru", "test")])
        assert await _found(seeder, "дезертир") == []
        assert await _found(seeder, "срочник") == [1]
        pruned = await seeder.repository.prune_batch(NOW - dt.timedelta(days=30), flagged=False)
        assert pruned == 1
        assert await _found(seeder, "срочник") == []
        assert await _found(seeder, "погода") == [2]
        async with seeder.repository.engine.begin() as conn:
            await conn.execute(text("DELETE FROM posts WHERE message_id = 2"))
        assert await _found(seeder, "погода") == []
        await _store(seeder, [_item(3, "Погода снова")])
        assert await _found(seeder, "погода") == [3]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_queries_never_raise(database_url: str, query: str) -> None:
    """Query syntax, quotes, SQL and control characters are words or nothing, never errors."""
    async with seeded(database_url) as seeder:
        await _store(seeder, _items())
        hits = await _found(seeder, query)
        # Only the query of one real word and punctuation finds its post; the others hold
        # words no post has (every word must match).
        assert hits == ([1] if query.startswith("(дезертир") else [])


async def test_migration_backfills_existing_posts(database_url: str) -> None:
    """Posts stored before the search migration are found once it runs; down and up again."""
    await asyncio.to_thread(migrate.upgrade, database_url, "0005_storage_speed")
    repository = Repository.open(database_url)
    try:
        await _store(Seeder(repository, Outbox(repository.engine), {}), _items())
    finally:
        await repository.close()
    async with seeded(database_url) as seeder:  # upgrades to the head: the backfill
        assert await _found(seeder, "дезертир") == [1]
    await asyncio.to_thread(migrate.downgrade, database_url, "0005_storage_speed")
    async with seeded(database_url) as seeder:
        assert await _found(seeder, "військовий") == [6, 2]


async def test_search_command_prints_hits(database_url: str, tmp_path: Path) -> None:
    """`monitor search` finds word forms, --flagged narrows, JSON has links and highlights."""
    async with seeded(database_url) as seeder:
        await _store(seeder, _items())
    config = tmp_path / "monitor.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    base = ["--config", str(config), "--format", "json"]
    result = await asyncio.to_thread(invoke, ["search", "військовий", *base])
    assert result.code == 0, result.stderr
    assert [hit["message_id"] for hit in json.loads(result.stdout)] == [6, 2]
    result = await asyncio.to_thread(invoke, ["search", "deserted", "--flagged", *base])
    assert json.loads(result.stdout) == []
    result = await asyncio.to_thread(invoke, ["search", "(дезертиры)*[/]", "--config", str(config)])
    assert result.code == 0, result.stderr
    assert "search_ch" in result.stdout
    assert "desertion" in result.stdout


async def _all_pages(engine: Any, query: str, size: int, **filters: Any) -> list[int]:
    """Every hit's id, fetched ``size`` at a time through keyset paging (``before``)."""
    ids: list[int] = []
    before = None
    for _ in range(300):  # a page that never shrinks (paging broken) ends the test
        page = await search_posts(engine, query, limit=size, before=before, **filters)
        ids += [hit.id for hit in page]
        if len(page) < size:
            return ids
        before = page[-1].id
    raise AssertionError(f"paging never ended: {len(ids)} ids")


def _mixed_post(channel: int, message_id: int, body: str, minutes_old: float) -> Classified:
    name = "narrow_ch" if channel == NARROW else "wide_ch"
    when = NOW - dt.timedelta(minutes=minutes_old)
    post = make_post(body, channel_id=channel, message_id=message_id, username=name, date=when)
    return Classified(post, (), (), "ru", "test")


NARROW, WIDE = 5002, 5003


async def _store_narrow_and_wide(seeder: Seeder) -> None:
    """A common word everywhere; one channel and the last hour hold only a few of its posts,
    scattered among the others (stored in rounds, so their ids interleave)."""
    narrow, wide = await seeder.channel(NARROW, "narrow_ch"), await seeder.channel(WIDE, "wide_ch")
    for rounds in range(6):
        ages = [0 if n == rounds else 100 + n * 37 for n in range(40)]  # one in the last hour
        crowd = [
            _mixed_post(WIDE, rounds * 40 + n, f"Мобилизация {n}", age)
            for n, age in enumerate(ages)
        ]
        await seeder.repository.store_batch(wide, crowd, cursor=None, alert_cutoff=None)
        few = [
            _mixed_post(NARROW, rounds * 3 + 1, "Мобилизации не будет", rounds * 25),
            _mixed_post(NARROW, rounds * 3 + 2, "Погода", rounds * 25),
        ]
        await seeder.repository.store_batch(narrow, few, cursor=None, alert_cutoff=None)


@pytest.mark.parametrize(
    ("window", "narrow"),
    [(3, 2), (50, 50), (5000, 50_000)],
    ids=["tiny-window-broad", "window-narrow", "wide-window-narrow"],
)
async def test_narrow_filters_find_what_the_unfiltered_search_finds(
    database_url: str, window: int, narrow: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel or the last hour holding few posts of a common word: the filtered search
    (PostgreSQL looks through the filter's newest ``window`` posts first; SQLite checks FTS5
    matches against the ids of a filter at most ``narrow`` posts pass, else each match's row)
    pages through exactly the unfiltered hits that pass the filter, newest first."""
    monkeypatch.setattr(search, "RECENT_WINDOW", window)
    monkeypatch.setattr(search, "NARROW", narrow)
    async with seeded(database_url) as seeder:
        await _store_narrow_and_wide(seeder)
        engine = seeder.repository.engine
        everything = await search_posts(engine, "мобилизация", limit=1000)
        hour = NOW - dt.timedelta(hours=1)
        in_channel = [hit.id for hit in everything if hit.channel == "narrow_ch"]
        in_hour = [hit.id for hit in everything if hit.date >= hour]
        assert (len(everything), len(in_channel), len(in_hour)) == (246, 6, 9)
        for size in (2, 4, 50):
            assert await _all_pages(engine, "мобилизация", size, channel="narrow_ch") == in_channel
            assert await _all_pages(engine, "мобилизация", size, since=hour) == in_hour
            until = await _all_pages(engine, "мобилизация", size, until=hour)
            assert until == [hit.id for hit in everything if hit.date < hour]
        flagged = await search_posts(engine, "мобилизация", channel="narrow_ch", flagged=True)
        assert flagged == []
