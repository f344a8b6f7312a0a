"""Mute check benchmark: what reading the mutes in force adds to storing an alerting post.

Run from the repository root::

    .venv/bin/python benchmarks/bench_mutes.py --backend sqlite --runs 200
    .venv/bin/python benchmarks/bench_mutes.py --backend postgresql --runs 200

``store_batch`` reads the mutes in force once for each flagged post about to alert, inside
its transaction. This stores ``--runs`` one-post batches of a flagged, alerting post with no
mute rows (the baseline: the check reads an empty table) and with ``--mutes`` mute rows (half
undone or expired, none matching), and, alone, the read of the mutes in force (on a pooled
connection of its own: inside the transaction it costs less). It prints the medians, in the
same run, as its last line::

    mutes: backend=B runs=N store_ms_no_mutes=X store_ms_with_mutes=X read_active_ms=X
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.models import Classified
from monitor.storage import migrate
from monitor.storage.feedback import FeedbackStore
from monitor.storage.mutes import read_active
from monitor.storage.repository import Repository
from tests.helpers.alerts import make_match, make_post
from tests.helpers.postgres import create_database, drop_database

POSTGRES = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXT = "Военнослужащий самовольно оставил часть (СОЧ) под Курском, его ищут."


@contextlib.asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    """A fresh, migrated database URL, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            await asyncio.to_thread(migrate.upgrade, url)
            yield url
        return
    name = f"bench_mutes_{uuid.uuid4().hex[:10]}"
    url = await asyncio.to_thread(create_database, POSTGRES, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await asyncio.to_thread(drop_database, POSTGRES, name)


async def store_runs(repository: Repository, first_id: int, runs: int) -> list[float]:
    """Milliseconds of each one-post batch of an alerting post."""
    [row] = await repository.sync_channels(["@bench_ch"])
    channel = await repository.save_resolution(
        row.id, telegram_id=4242, access_hash=1, username="bench_ch", title="B", joined=True
    )
    timings = []
    now = datetime.now(UTC)
    for index in range(first_id, first_id + runs):
        post = make_post(f"{TEXT} {index}", channel_id=4242, message_id=index, date=now)
        item = Classified(post, (make_match(post.text),), ("chat",), "ru", "bench")
        started = time.perf_counter()
        await repository.store_batch(channel, [item], cursor=index, alert_cutoff=None)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def add_mutes(store: FeedbackStore, count: int) -> None:
    """``count`` rule mutes that match nothing: a third undone, a third expired."""
    past = datetime.now(UTC) - timedelta(days=2)
    for index in range(count):
        mute = await store.mute(
            "rule",
            f"other-{index}",
            24 if index % 3 else None,
            "bench",
            now=past if index % 3 == 1 else None,
        )
        if index % 3 == 0:
            await store.undo_mute(mute.id)


async def main(backend: str, runs: int, mutes: int) -> None:
    async with database(backend) as url:
        repository = Repository.open(url)
        try:
            plain = await store_runs(repository, 1, runs)
            store = FeedbackStore(repository.engine)
            await add_mutes(store, mutes)
            muted = await store_runs(repository, runs + 1, runs)
            reads = []
            for _ in range(runs):
                started = time.perf_counter()
                async with repository.engine.connect() as conn:
                    await read_active(conn, datetime.now(UTC))
                reads.append((time.perf_counter() - started) * 1000)
        finally:
            await repository.close()
    print(
        f"mutes: backend={backend} runs={runs} "
        f"store_ms_no_mutes={statistics.median(plain):.3f} "
        f"store_ms_with_mutes={statistics.median(muted):.3f} "
        f"read_active_ms={statistics.median(reads):.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--mutes", type=int, default=30)
    options = parser.parse_args()
    asyncio.run(main(options.backend, options.runs, options.mutes))
