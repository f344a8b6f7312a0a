"""Desk pages benchmark: the desk's pages and posts API over HTTP, on a store of N posts.

(``bench_desk.py`` times the storage queries behind them; this one the whole answers.)
Run from the repository root::

    .venv/bin/python benchmarks/bench_desk_pages.py --posts 1000000 --backend sqlite
    .venv/bin/python benchmarks/bench_desk_pages.py --posts 1000000 --backend postgresql

It builds the store of ``benchmarks/bench_storage.py`` (5% flagged, 200 channels, a year of
dates), judges one flagged post in 50, serves the desk on 127.0.0.1 (a free port) and times,
as medians of ``--runs`` HTTP requests after a warm-up, the whole answer (query, template,
transfer):

* ``/`` (the first page), a page 1,000 pages deep (keyset cursor), and the page filtered by
  category, channel, date range, feedback state, all of them at once, and the unflagged posts
  (all, one channel's) (the slowest quoted);
* ``/api/posts?flagged=true&limit=50``;
* ``/charts`` over 30 and 90 days, its longest (flags per day by category and channel, the
  rules' counts and feedback precision);

and, as the baseline measured in the same run, ``monitor flagged`` (the CLI's list of the same
50 posts, in-process). The last line::

    desk_pages: backend=B posts=N page_s=X deep_page_s=X api_s=X charts_30d_s=X
    charts_90d_s=X filtered_page_s=X flagged_cli_s=X

``--keep`` keeps the store and prints its URL; ``--reuse URL`` times such a store again.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import func, insert, select

from benchmarks.bench_storage import POSTGRES_URL, build, run_cli, store_arguments
from monitor.config import load_config
from monitor.logs import configure_logging
from monitor.storage.desk import Cursor
from monitor.storage.engine import create_engine
from monitor.storage.feedback import feedback_t
from monitor.storage.rows import posts_t
from monitor.web.filters import cursor_param
from monitor.web.server import DeskServer
from tests.helpers.postgres import create_database, drop_database, server_available

PAGE = 50


async def judge(url: str) -> Cursor:
    """Judge one flagged post in 50 (false positive); return the cursor 1,000 pages deep
    (or halfway down a smaller store)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            ids = list(await conn.scalars(select(posts_t.c.id).where(posts_t.c.flagged.is_(True))))
            rows = [
                {"post_id": i, "label": "false_positive", "who": "bench", "category": None}
                for i in ids[::50]
            ]
            if not await conn.scalar(select(func.count()).select_from(feedback_t)):  # --reuse
                await conn.execute(insert(feedback_t), rows)
            deep = (
                await conn.execute(
                    select(posts_t.c.date, posts_t.c.id)
                    .where(posts_t.c.flagged.is_(True))
                    .order_by(posts_t.c.date.desc(), posts_t.c.id.desc())
                    .offset(min(PAGE * 1000, len(ids) // 2))
                    .limit(1)
                )
            ).one()
    finally:
        await engine.dispose()
    return Cursor(deep.date, deep.id)


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> float:
    """The median seconds of ``runs`` GETs of ``path`` after one warm-up."""
    (await client.get(path)).raise_for_status()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
    return statistics.median(times)


async def measure_desk(config: Path, deep: Cursor, runs: int) -> dict[str, float]:
    """Serve the desk and time its page variants and the API."""
    server = DeskServer(load_config(config), "127.0.0.1:0")
    stop = asyncio.Event()
    task = asyncio.create_task(server.serve(stop))
    await server.ready.wait()
    filtered = {
        "category": "/?category=hazing",
        "channel": "/?channel=bench_17",
        "dates": "/?since=2026-01-01&until=2026-06-30",
        "feedback": "/?feedback=false_positive",
        "unjudged": "/?feedback=none",
        "all": "/?category=awol&channel=bench_3&since=2026-01-01&feedback=none",
        "unflagged": "/?flagged=false",
        "unflagged_channel": "/?flagged=false&channel=bench_17",
    }
    try:
        async with httpx.AsyncClient(base_url=server.address.rstrip("/"), timeout=60) as client:
            figures = {
                "page_s": await timed(client, "/", runs),
                "deep_page_s": await timed(client, f"/?after={cursor_param(deep)}", runs),
                "api_s": await timed(client, f"/api/posts?flagged=true&limit={PAGE}", runs),
                "charts_30d_s": await timed(client, "/charts?days=30", runs),
                "charts_90d_s": await timed(client, "/charts?days=90", runs),
            }
            slowest = 0.0
            for name, path in filtered.items():
                seconds = await timed(client, path, runs)
                print(f"  {name} {path}: {seconds:.3f} s", file=sys.stderr)
                slowest = max(slowest, seconds)
            figures["filtered_page_s"] = slowest
    finally:
        stop.set()
        await task
    return figures


def measure(url: str, folder: Path, runs: int) -> dict[str, float]:
    """Every figure of the last line, for the store at ``url``."""
    config = folder / "bench.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    deep = asyncio.run(judge(url))
    figures = asyncio.run(measure_desk(config, deep, runs))
    cli = ["flagged", "--limit", str(PAGE), "--config", str(config)]
    run_cli(cli)
    figures["flagged_cli_s"] = statistics.median(run_cli(cli) for _ in range(runs))
    return figures


def parse_args() -> Any:
    return store_arguments(__doc__.split("\n")[0], runs=5).parse_args()


def main() -> int:
    args = parse_args()
    configure_logging("warning", "console")
    folder = Path(tempfile.mkdtemp(prefix="bench_desk_pages_"))
    store = Path(tempfile.mkdtemp(prefix="bench_desk_pages_store_")) if args.keep else folder
    name = f"bench_desk_pages_{uuid.uuid4().hex[:8]}"
    url = args.reuse
    if url is None and args.backend == "sqlite":
        url = f"sqlite:///{store / 'store.db'}"
    elif url is None:
        if not server_available(POSTGRES_URL):
            print(f"PostgreSQL not reachable at {POSTGRES_URL}", file=sys.stderr)
            return 1
        url = create_database(POSTGRES_URL, name)
    try:
        if args.reuse is None:
            asyncio.run(build(url, args.posts))
        figures = measure(url, folder, args.runs)
    finally:
        if args.keep or args.reuse:
            print(f"store kept: --reuse {url}", file=sys.stderr)
        elif args.backend == "postgresql":
            drop_database(POSTGRES_URL, name)
        shutil.rmtree(folder, ignore_errors=True)
    line = " ".join(f"{key}={value:.4f}" for key, value in figures.items())
    print(f"desk_pages: backend={args.backend} posts={args.posts} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
