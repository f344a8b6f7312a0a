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
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_storage

ENGLISH = [
    "soldier",
    "army",
    "unit",
    "officer",
    "court",
    "police",
    "reported",
    "news",
    "today",
    "city",
    "weather",
    "road",
    "school",
    "election",
    "budget",
    "market",
    "prices",
    "energy",
    "water",
    "heating",
    "harvest",
    "farmers",
    "export",
]
RARE_RU = "дезертиров"
RARE_EN = "deserters"
RARE_TEXT = f"Суд заочно осудил {RARE_RU}. The court sentenced three {RARE_EN} in absentia."


def desk_texts(rng: random.Random, count: int) -> list[str]:
    """The storage builder's texts with English words mixed in and one text of rare words."""
    bench_storage.NEWS.extend(word for word in ENGLISH if word not in bench_storage.NEWS)
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
