"""Desk benchmark: the flagged list, search and the chart queries over a store of N posts.

Run from the repository root::

    .venv/bin/python benchmarks/bench_desk.py --posts 1000000 --backend sqlite
    .venv/bin/python benchmarks/bench_desk.py --posts 1000000 --backend postgresql

The store is built by ``bench_storage.py``'s builder (5% flagged, 200 channels, a year of
dates), with English words mixed into the news-like texts and two rare words (one Russian, one
English) in one text of the pool (so in ``posts / 20,000`` posts). It then times, as medians of
``--runs`` runs after a warm-up: the flagged list's first page and a deep page (keyset paging),
search for a common and a rare word in Russian and in English (all posts and flagged only), and
the chart queries (flags per day by category and by channel over 30 and 365 days, channel
health, rules that fire most). Floor: each under 300 ms at 1,000,000 posts.

``--keep`` keeps the store and prints its URL; ``--reuse URL`` times an existing store
(migrated to the head first, which backfills the search index of an older one).
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_storage

from monitor.logs import configure_logging
from monitor.storage import desk_queries, migrate
from monitor.storage.browse import Browser, PostFilter
from monitor.storage.engine import create_engine
from monitor.storage.search import search_posts
from tests.helpers.postgres import create_database, drop_database, server_available

ENGLISH = [
    *("soldier army unit officer court police reported news today city weather road school",
      "election budget market prices energy water heating harvest farmers export"),
]  # fmt: skip
RARE_RU = "заочно"
RARE_EN = "deserters"
RARE_TEXT = f"Суд {RARE_RU} осудил дезертиров. The court sentenced three {RARE_EN} in absentia."
FLOOR_MS = 300.0
Timed = Callable[[], Awaitable[Any]]


def desk_texts(rng: random.Random, count: int) -> list[str]:
    """The storage builder's texts with English words mixed in and one text of rare words."""
    english = " ".join(ENGLISH).split()
    bench_storage.NEWS.extend(word for word in english if word not in bench_storage.NEWS)
    pool = ORIGINAL_TEXTS(rng, count)
    pool[count // 2] = RARE_TEXT + " " + pool[count // 2]
    return pool


ORIGINAL_TEXTS = bench_storage.texts
bench_storage.texts = desk_texts


def build(url: str, posts: int) -> None:
    """Build the store through the storage benchmark's builder (and its migrations)."""
    started = time.perf_counter()
    asyncio.run(bench_storage.build(url, posts))
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def flagged_pages(engine: Any, now: datetime) -> dict[str, Timed]:
    """The flagged list: the desk's keyset pages when the desk is merged, else the CLI's."""
    if importlib.util.find_spec("monitor.storage.desk") is None:
        browser = Browser(engine)
        return {"flagged_first": lambda: browser.posts(PostFilter(limit=50))}
    from monitor.storage.desk import Cursor, DeskFilter, DeskReader  # type: ignore[import-not-found,unused-ignore]

    reader = DeskReader(engine)
    deep = Cursor(now - timedelta(days=300), 10**12)
    return {
        "flagged_first": lambda: reader.flagged_page(DeskFilter(limit=50)),
        "flagged_deep": lambda: reader.flagged_page(DeskFilter(after=deep, limit=50)),
    }


def searches(engine: Any, now: datetime) -> dict[str, Timed]:
    """Search: common and rare words in Russian and English, and with filters (a narrow
    filter, one channel or the last hour, is the hard case for an index-first plan)."""
    hour = now - timedelta(hours=1)
    return {
        "search_common_ru": lambda: search_posts(engine, "новости"),
        "search_rare_ru": lambda: search_posts(engine, RARE_RU),
        "search_common_en": lambda: search_posts(engine, "soldiers"),
        "search_rare_en": lambda: search_posts(engine, RARE_EN),
        "search_flagged_ru": lambda: search_posts(engine, "новости", flagged=True),
        "search_channel_ru": lambda: search_posts(engine, "новости", channel="bench_17"),
        "search_recent_ru": lambda: search_posts(engine, "новости", since=hour),
        "search_deep_ru": lambda: search_posts(engine, "новости", before=10_000),
    }


def charts(engine: Any, now: datetime) -> dict[str, Timed]:
    """The chart queries over 30 and 365 days."""
    year, month = now - timedelta(days=365), now - timedelta(days=30)
    return {
        "per_category_30d": lambda: desk_queries.flags_per_day(engine, month),
        "per_category_365d": lambda: desk_queries.flags_per_day(engine, year),
        "per_channel_30d": lambda: desk_queries.flags_per_day(engine, month, by="channel"),
        "per_channel_365d": lambda: desk_queries.flags_per_day(engine, year, by="channel"),
        "health": lambda: desk_queries.channel_health(engine),
        "top_rules_365d": lambda: desk_queries.top_rules(engine, year),
    }


async def median_ms(runs: int, action: Timed) -> float:
    """The median wall time of ``runs`` calls after one warm-up, in milliseconds."""
    await action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(url: str, runs: int) -> dict[str, float]:
    """Every figure, in milliseconds, on the store at ``url``."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        timed = {**flagged_pages(engine, now), **searches(engine, now), **charts(engine, now)}
        figures = {}
        for name, action in timed.items():
            figures[name] = await median_ms(runs, action)
            print(f"  {name}: {figures[name]:.1f} ms", file=sys.stderr, flush=True)
        return figures
    finally:
        await engine.dispose()


def parse_args() -> Any:
    return bench_storage.store_arguments(__doc__.split("\n")[0], runs=5).parse_args()


def store_url(args: Any, folder: Path, name: str) -> str | None:
    """Where the store goes (None: PostgreSQL unreachable)."""
    if args.reuse:
        return str(args.reuse)
    if args.backend == "sqlite":
        return f"sqlite:///{folder / 'store.db'}"
    postgres = bench_storage.POSTGRES_URL
    return create_database(postgres, name) if server_available(postgres) else None


def main() -> int:
    args = parse_args()
    configure_logging("warning", "console")
    folder = Path(tempfile.mkdtemp(prefix="bench_desk_"))
    name = f"bench_desk_{uuid.uuid4().hex[:8]}"
    url = store_url(args, folder, name)
    if url is None:
        print(f"PostgreSQL not reachable at {bench_storage.POSTGRES_URL}", file=sys.stderr)
        return 1
    try:
        if args.reuse:
            migrate.upgrade(url)  # an older store gets its search index here
        else:
            build(url, args.posts)
        figures = asyncio.run(measure(url, args.runs))
    finally:
        if args.keep or args.reuse:
            print(f"  store kept at {url}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if args.backend == "postgresql":
                drop_database(bench_storage.POSTGRES_URL, name)
    slowest = max(figures.values())
    fields = " ".join(f"{key}_ms={value:.1f}" for key, value in figures.items())
    verdict = "ok" if slowest < FLOOR_MS else "SLOW"
    print(
        f"desk: backend={args.backend} posts={args.posts} {fields} max_ms={slowest:.1f} {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
