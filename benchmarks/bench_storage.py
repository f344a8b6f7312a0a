"""Storage benchmark: the CLI's read commands, export and rescan over a store of N posts.

Run from the repository root::

    .venv/bin/python benchmarks/bench_storage.py --posts 1000000 --backend sqlite
    .venv/bin/python benchmarks/bench_storage.py --posts 1000000 --backend postgresql

It builds a store of ``--posts`` posts (5% flagged, each flagged post with one match, 200
channels, dates spread over the last year, news-like texts of about 400 characters) through the
project's own migrations and table definitions (big ``executemany`` batches), then times, as
medians of ``--runs`` runs:

* ``monitor channels``, ``monitor stats --since 365d`` and ``monitor flagged`` (default, and
  with ``--category``, ``--channel``, ``--rule`` and ``--since 7d``; the slowest is quoted),
  each run in-process through the click command (output discarded);
* ``monitor export`` of every flagged post to a CSV file, in a child process: rows/s over the
  command's run and the child's peak resident memory;
* ``monitor rescan`` over its first ``--rescan-posts`` posts (posts/s, stopped there);

and prints as its last line::

    storage: backend=B posts=N channels_s=X stats_365d_s=X flagged_s=X export_rows_s=X
    export_peak_mb=X rescan_posts_s=X db_mb=X

(one line). PostgreSQL comes from ``MONITOR_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); a throw-away database is created and dropped
unless ``--keep``. ``--reuse URL`` times an existing store built by an earlier ``--keep`` run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text

from monitor.cli import cli
from monitor.config import load_config
from monitor.logs import configure_logging
from monitor.rescan import RescanReport, default_jobs, rescan
from monitor.storage import migrate
from monitor.storage.engine import create_engine
from monitor.storage.rows import channels_t, matches_t, posts_t
from tests.helpers.postgres import create_database, drop_database, server_available

POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CHANNELS = 200
BATCH = 20_000
# Everyday news words: the rules flag the 5% of posts that carry a FLAGGED sentence, as in a
# real store (story words in every body made the rules flag nearly all, and rescan measured
# writing matches, not reading posts).
NEWS = (  # noqa: SIM905
    "в на и по за от до о что это как Минобороны учения парад ветераны "
    "заявил области района города жители новости сегодня вчера году рублей гривень власти "
    "губернатор сообщил обстрел погода дороги ремонт школа больница выборы депутаты бюджет "
    "мэр транспорт цены рынок энергетика свет вода отопление урожай фермеры экспорт"
).split()
FLAGGED = [
    "Военнослужащий самовольно оставил часть (СЗЧ), его объявили в розыск.",
    "Суд приговорил контрактника к 5 годам за дезертирство.",
    "Двое мобилизованных сбежали из части, военная полиция ищет их.",
]
CATEGORIES = ["desertion", "awol", "escape", "hazing"]


class Stop(Exception):
    """Raised from rescan's progress callback once enough posts were scanned."""


def texts(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct news-like texts of about 400 characters."""
    return [
        " ".join(rng.choice(NEWS) for _ in range(rng.randint(45, 65))).capitalize() + "."
        for _ in range(count)
    ]


def post_rows(start: int, stop: int, now: datetime, pool: list[str]) -> Iterator[dict[str, Any]]:
    """Rows ``start..stop`` of the posts table; one in 20 is flagged, in every channel."""
    rng = random.Random(start)
    year = 365 * 86400
    for number in range(start, stop):
        flagged = rng.random() < 0.05  # spread over channels and time
        body = pool[number % len(pool)]
        channel = number % CHANNELS + 1
        message_id = number // CHANNELS + 1
        yield {
            "id": number + 1,
            "channel_id": channel,
            "message_id": message_id,
            "date": now - timedelta(seconds=rng.randrange(year)),
            "edit_date": None,
            "text": (FLAGGED[number % 3] + " " + body) if flagged else body,
            "views": rng.randrange(100_000),
            "forwards": rng.randrange(100),
            "grouped_id": None,
            "forward_from": None,
            "link": f"https://t.me/bench_{channel}/{message_id}",
            "language": "ru",
            "flagged": flagged,
            "live": False,
            "created_at": now,
        }


def match_row(post: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One match for a flagged post."""
    category = CATEGORIES[post["id"] % len(CATEGORIES)]
    return {
        "post_id": post["id"],
        "rule_id": f"bench_{category}",
        "category": category,
        "score": 1.0,
        "terms": ["сзч"],
        "spans": [[0, 3]],
        "ruleset_version": "bench",
        "created_at": now,
    }


async def build(url: str, posts: int) -> None:
    """Migrate, then load ``posts`` posts in big batches through the table definitions."""
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    pool = texts(random.Random(7), 20_000)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(channels_t),
                [
                    {
                        "id": n,
                        "ref": f"@bench_{n}",
                        "telegram_id": 1_000_000 + n,
                        "access_hash": n,
                        "username": f"bench_{n}",
                        "title": f"Bench {n}",
                        "status": "active",
                        "joined": True,
                        "last_message_id": posts // CHANNELS + 1,
                        "error_alerted": False,
                        "created_at": now,
                    }
                    for n in range(1, CHANNELS + 1)
                ],
            )
        for start in range(0, posts, BATCH):
            rows = list(post_rows(start, min(start + BATCH, posts), now, pool))
            async with engine.begin() as conn:
                await conn.execute(insert(posts_t), rows)
                flagged = [match_row(row, now) for row in rows if row["flagged"]]
                if flagged:
                    await conn.execute(insert(matches_t), flagged)
            print(f"  built {start + len(rows):,} posts", file=sys.stderr, flush=True)
        await after_build(engine)
    finally:
        await engine.dispose()


async def after_build(engine: Any) -> None:
    """Settle the store as a running service would find it (statistics, visibility map)."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('posts', 'id'), max(id)) FROM posts")
            )
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('matches', 'id'), max(id)) FROM matches")
            )
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


def run_cli(args: list[str]) -> float:
    """Run one CLI command in-process, output discarded; return its wall time."""
    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            cli.main(args, prog_name="monitor", standalone_mode=False)
        except SystemExit as done:
            if done.code:
                raise RuntimeError(f"{args}: exit {done.code}: {sink.getvalue()[-500:]}") from None
    elapsed = time.perf_counter() - started
    if "Error" in sink.getvalue()[:200]:
        raise RuntimeError(f"{args}: {sink.getvalue()[:500]}")
    return elapsed


def median_of(runs: int, action: Callable[[], float]) -> float:
    """The median of ``runs`` timings after one warm-up."""
    action()
    return statistics.median(action() for _ in range(runs))


# The peak comes from /proc (VmHWM, this process since exec): getrusage's maxrss would also
# count the benchmark's own memory, which Linux carries across exec.
EXPORT_CHILD = """
import re, sys, time
from monitor.cli import cli
started = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="monitor", standalone_mode=False)
finally:
    elapsed = time.perf_counter() - started
    status = open("/proc/self/status").read()
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
    print(f"EXPORT {elapsed:.4f} {peak:.1f}", file=sys.stderr)
"""


def time_export(config: Path, folder: Path) -> tuple[float, float]:
    """Export every flagged post to CSV in a child process; return rows/s and peak MB."""
    target = folder / "export.csv"
    done = subprocess.run(  # noqa: S603  our interpreter, our arguments
        [sys.executable, "-c", EXPORT_CHILD, "export", "--config", str(config), "-o", str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("EXPORT ")][-1]
    elapsed, peak = (float(x) for x in line.split()[1:])
    with target.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1  # approximate for texts with newlines: ours have none
    return rows / elapsed, peak


def time_rescan(config: Path, limit: int, jobs: int | None = None) -> float:
    """Run ``monitor rescan``'s code over its first ``limit`` posts; return posts/s.

    Each run starts over (``restart``): a stopped run would otherwise resume."""
    loaded = load_config(config)
    scanned = 0

    def on_chunk(report: RescanReport) -> None:
        nonlocal scanned
        scanned = report.scanned
        if report.scanned >= limit:
            raise Stop

    started = time.perf_counter()
    with contextlib.suppress(Stop):
        asyncio.run(rescan(loaded, jobs=jobs, restart=True, on_chunk=on_chunk))
    return scanned / (time.perf_counter() - started)


async def database_mb(url: str) -> float:
    """The store's size on disk (SQLite file and WAL, or pg_database_size)."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            size = (
                await conn.execute(select(func.pg_database_size(func.current_database())))
            ).scalar_one()
    finally:
        await engine.dispose()
    return float(size) / 1e6


def measure(url: str, folder: Path, args: Any) -> dict[str, float]:
    """Every figure of the last line, for the store at ``url``."""
    config = folder / "bench.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    base = ["--config", str(config)]
    flagged_variants = [
        ["flagged"],
        ["flagged", "--category", "hazing"],
        ["flagged", "--channel", "@bench_17"],
        ["flagged", "--rule", "bench_escape"],
        ["flagged", "--since", "7d"],
        ["flagged", "--since", "365d", "--category", "awol", "--channel", "bench_3"],
    ]
    figures = {
        "channels_s": median_of(args.runs, lambda: run_cli(["channels", *base])),
        "stats_365d_s": median_of(args.runs, lambda: run_cli(["stats", "--since", "365d", *base])),
    }
    slowest = 0.0
    for variant in flagged_variants:
        seconds = median_of(args.runs, lambda v=variant: run_cli([*v, *base]))  # type: ignore[misc]
        print(f"  {' '.join(variant)}: {seconds:.3f} s", file=sys.stderr)
        slowest = max(slowest, seconds)
    figures["flagged_s"] = slowest
    for period in ("24h", "30d"):
        seconds = median_of(args.runs, lambda p=period: run_cli(["stats", "--since", p, *base]))  # type: ignore[misc]
        print(f"  stats --since {period}: {seconds:.3f} s", file=sys.stderr)
    exports = [time_export(config, folder) for _ in range(args.runs)]
    figures["export_rows_s"] = statistics.median(rate for rate, _ in exports)
    figures["export_peak_mb"] = max(peak for _, peak in exports)
    serial = statistics.median(time_rescan(config, args.rescan_posts, 1) for _ in range(args.runs))
    jobs = default_jobs()
    figures["rescan_posts_s"] = statistics.median(
        time_rescan(config, args.rescan_posts, jobs) for _ in range(args.runs)
    )
    print(
        f"  rescan: {serial:,.0f} posts/s in one worker, "
        f"{figures['rescan_posts_s']:,.0f} in {jobs} (x{figures['rescan_posts_s'] / serial:.2f})"
    )
    figures["db_mb"] = asyncio.run(database_mb(url))
    return figures


def store_arguments(description: str, runs: int) -> argparse.ArgumentParser:
    """The options of every benchmark over a built store (this one's and the desk's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--keep", action="store_true", help="Keep the store; print its URL.")
    parser.add_argument("--reuse", metavar="URL", help="Time an existing store; build nothing.")
    return parser


def parse_args() -> Any:
    parser = store_arguments(__doc__.split("\n")[0], runs=3)
    parser.add_argument("--rescan-posts", type=int, default=20_000)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    configure_logging("warning", "console")
    folder = Path(tempfile.mkdtemp(prefix="bench_storage_"))
    name = f"bench_storage_{uuid.uuid4().hex[:8]}"
    url = args.reuse
    if url is None and args.backend == "sqlite":
        url = f"sqlite:///{folder / 'store.db'}"
    elif url is None:
        if not server_available(POSTGRES_URL):
            print(f"PostgreSQL not reachable at {POSTGRES_URL}", file=sys.stderr)
            return 1
        url = create_database(POSTGRES_URL, name)
    try:
        if args.reuse is None:
            started = time.perf_counter()
            asyncio.run(build(url, args.posts))
            print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        figures = measure(url, folder, args)
    finally:
        if args.keep or args.reuse:
            print(f"  store kept at {url}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if args.backend == "postgresql":
                drop_database(POSTGRES_URL, name)
    fields = " ".join(
        f"{key}={value:.0f}" if key in ("export_rows_s", "rescan_posts_s") else f"{key}={value:.3f}"
        for key, value in figures.items()
    )
    print(f"storage: backend={args.backend} posts={args.posts} {fields}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
