"""Ingestion benchmark against the local Telegram test server: throughput, latency, memory.

Run from the repository root::

    .venv/bin/python benchmarks/bench_ingest.py [--runs 5] [--posts 3000] [--channels 500]

Three measurements, each beside its baseline and floor:

* *backfill*: ``monitor backfill`` (the real code: fetch, classify with the default rule pack,
  store page by page) into SQLite and into PostgreSQL, in posts/s over the walk, next to a
  bare Telethon ``GetHistory`` loop reading the same number of posts from the same server in
  the same run. Runs interleave (bare, SQLite, PostgreSQL) so drift hits all three alike.
  Floor: the pipeline keeps at least 70% of the bare loop's rate.
* *live latency*: a ``monitor run`` subprocess in live mode; flagged posts are published one
  at a time and the time from publishing to the flagged row being visible in the database is
  measured (polled every 5 ms). Floor: p99 under 1 s.
* *memory*: a ``monitor run`` subprocess watching ``--channels`` channels, measured once all
  of them are resolved, joined and polled: resident set now and at its peak. Floor: peak
  under 250 MB.

The server runs in this process (one core for it and the in-process clients); medians of
``--runs`` runs are quoted. PostgreSQL comes from ``MONITOR_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); a throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from telethon import functions

from monitor.backfill import BackfillReport, BackfillRequest, backfill
from monitor.config import Config, TelegramSettings, load_config
from monitor.logs import configure_logging
from monitor.storage.engine import create_engine
from monitor.telegram.login import interactive_login
from monitor.telegram.session import build_client
from monitor.testing.server import TelegramTestServer
from monitor.testing.state import ChannelRecord
from tests.helpers.postgres import create_database, drop_database, server_available

PHONE = "+99966000001"
POSTGRES_URL = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
FLAGGED = [
    "Двое дезертиров задержаны военной полицией под Курском",
    "Военнослужащий самовольно оставил часть и скрылся, возбуждено уголовное дело",
    "Soldiers went AWOL from the base near the border, the command said",
    "Військовослужбовця затримали за самовільне залишення частини",
]
PLAIN = [
    "В городе открыли новый парк, горожане довольны",
    "Курс рубля снова изменился после заседания ЦБ",
    "The council approved the new budget for road repairs on Tuesday",
    "У Києві відкрили нову станцію метро, рух поїздів відновлено",
    "Прогноз погоды: в выходные ожидается потепление и дождь",
]


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Bench:
    """The server, the account and a config folder for one benchmark run."""

    server: TelegramTestServer
    folder: Path
    header: str
    rng: random.Random

    def write_config(self, name: str, database: str, channels: list[str], **extra: Any) -> Path:
        """Write a config with ``channels`` and generous budgets; return its path."""
        scheduler = {
            "interval": 3600,
            "jitter": 0,
            "backfill": 1,
            "history_requests_per_minute": 100000,
            "resolves_per_hour": 100000,
            "joins_per_hour": 100000,
            **extra,
        }
        lines = [
            self.header,
            f'[database]\nurl = "{database}"\n',
            "[rules]\ndefault_pack = true\n",
            "[scheduler]\n" + "".join(f"{k} = {v}\n" for k, v in scheduler.items()),
            f'[metrics]\nheartbeat_file = "{name}.heartbeat"\n',
            '[logging]\nlevel = "warning"\n',
            *[f'[[channels]]\nref = "{ref}"\n' for ref in channels],
            '[[alerts]]\nkind = "log"\n',
        ]
        path = self.folder / f"{name}.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def channel(self, username: str, posts: int) -> ChannelRecord:
        """A channel with ``posts`` posts, one in twenty of them matching the rules."""
        channel = self.server.add_channel(username=username, title=username)
        for index in range(posts):
            texts = FLAGGED if index % 20 == 0 else PLAIN
            self.server.post_now(channel, f"{self.rng.choice(texts)} #{index}")
        return channel


def telegram_of(config: Config) -> TelegramSettings:
    """The ``[telegram]`` section, which every benchmark config has."""
    if config.telegram is None:
        raise RuntimeError("the benchmark config lacks [telegram]")
    return config.telegram


def config_at(path: Path) -> Config:
    """Load a benchmark config."""
    return load_config(path, environ={})


# Backfill throughput -----------------------------------------------------------------------


async def bare_history(client: Any, username: str, total: int) -> float:
    """Read ``total`` posts newest first with bare ``GetHistory`` calls; return posts/s."""
    resolved = await client(functions.contacts.ResolveUsernameRequest(username))
    peer = resolved.chats[0]
    started = time.perf_counter()
    offset, read = 0, 0
    while read < total:
        page = await client(
            functions.messages.GetHistoryRequest(
                peer=peer,
                offset_id=offset,
                offset_date=None,
                add_offset=0,
                limit=100,
                max_id=0,
                min_id=0,
                hash=0,
            )
        )
        if not page.messages:
            break
        read += len(page.messages)
        offset = page.messages[-1].id
    return read / (time.perf_counter() - started)


async def pipeline_backfill(config: Config, username: str, total: int) -> float:
    """Run ``monitor backfill @username --limit total``; return posts/s over the walk."""
    marks: list[float] = []

    def on_page(_report: BackfillReport) -> None:
        marks.append(time.perf_counter())

    report = await backfill(config, BackfillRequest(f"@{username}", limit=total), on_page)
    if report.fetched != total:
        raise RuntimeError(f"backfill read {report.fetched} of {total} posts")
    return report.fetched / (marks[-1] - marks[0])


async def throughput(
    bench: Bench, databases: dict[str, str], runs: int, posts: int, rtt: float
) -> dict[str, float]:
    """Median posts/s of the bare loop and of the backfill into each database.

    ``rtt`` is added to every request on the server: 0 measures pure CPU cost on loopback,
    a few tens of milliseconds stands in for the round trip to a Telegram DC.
    """
    configs = {
        name: config_at(bench.write_config(name, url, [])) for name, url in databases.items()
    }
    telegram = telegram_of(configs["sqlite"])
    outcome = await interactive_login(
        telegram,
        as_string=True,
        phone=PHONE,
        code=lambda: bench.server.login_code,
        password=lambda: "",
    )
    client = build_client(telegram, session=outcome.session_string, receive_updates=False)
    await client.connect()
    rates: dict[str, list[float]] = {"bare": [], **{name: [] for name in databases}}
    tag = f"{int(rtt * 1000)}ms"
    try:
        for run in range(runs):
            source = bench.channel(f"bare_{run}_{tag}", posts)
            bench.server.faults.latency = rtt
            rates["bare"].append(await bare_history(client, source.username or "", posts))
            for name, config in configs.items():
                username = f"{name}_{run}_{tag}"
                bench.server.faults.latency = 0
                bench.channel(username, posts)
                bench.server.faults.latency = rtt
                rates[name].append(await pipeline_backfill(config, username, posts))
    finally:
        bench.server.faults.latency = 0
        await client.disconnect()
    return {name: statistics.median(values) for name, values in rates.items()}


# Live latency -----------------------------------------------------------------------------


def spawn_daemon(config: Path) -> subprocess.Popen[bytes]:
    """Start ``monitor run`` as a subprocess, its log (warnings and errors) beside its config."""
    with config.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603  our own CLI, arguments we built
            [
                sys.executable,
                "-m",
                "monitor",
                "--log-format",
                "json",
                "run",
                "--config",
                str(config),
            ],
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


async def wait_for(check: Callable[[], Any], within: float, what: str) -> Any:
    """Poll ``check`` (a coroutine function) until truthy; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = await check()
        except Exception:  # e.g. the daemon has not created the tables yet
            value = None
        if value:
            return value
        await asyncio.sleep(0.005)
    raise RuntimeError(f"timed out waiting for {what}")


async def live_latency(bench: Bench, name: str, url: str, posts: int) -> tuple[float, float]:
    """Publish ``posts`` flagged posts to a live daemon; return (p50, p99) seconds."""
    username = f"live_{name}_{uuid.uuid4().hex[:6]}"
    channel = bench.channel(username, 1)
    path = bench.write_config(f"live_{name}", url, [f"@{username}"])
    engine = create_engine(url)
    process = spawn_daemon(path)
    samples: list[float] = []

    async def scalar(sql: str) -> Any:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()

    async def flagged(message_id: int) -> Any:
        async with engine.connect() as conn:
            sql = text("select count(*) from posts where flagged and message_id = :m")
            return (await conn.execute(sql, {"m": message_id})).scalar()

    try:
        await wait_for(lambda: scalar("select count(*) from posts"), 60, "the first poll")
        await wait_for(lambda: scalar("select count(*) from channels where joined"), 60, "join")
        for index in range(posts):
            await asyncio.sleep(bench.rng.uniform(0.05, 0.2))
            posted = time.perf_counter()
            message_id = bench.server.post_now(channel, f"{FLAGGED[index % 4]} live {index}")
            await wait_for(functools.partial(flagged, message_id), 10, f"post {message_id}")
            samples.append(time.perf_counter() - posted)
    finally:
        process.terminate()
        process.wait(timeout=15)
        await engine.dispose()
    return percentile(samples, 0.5), percentile(samples, 0.99)


# Memory -----------------------------------------------------------------------------------


def memory_of(pid: int) -> tuple[float, float]:
    """Return (resident MB, peak resident MB) of process ``pid``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def memory(bench: Bench, url: str, count: int) -> tuple[float, float, float]:
    """Run a daemon over ``count`` channels; return (RSS MB, peak MB, seconds to settle)."""
    prefix = f"mem{uuid.uuid4().hex[:5]}"
    refs = []
    for index in range(count):
        bench.channel(f"{prefix}_{index}", 3)
        refs.append(f"@{prefix}_{index}")
    path = bench.write_config(f"memory_{prefix}", url, refs)
    engine = create_engine(url)
    process = spawn_daemon(path)
    started = time.perf_counter()

    async def settled() -> bool:
        async with engine.connect() as conn:
            sql = text(
                "select count(*) from channels where joined and last_polled_at is not null"
                " and ref like :refs"
            )
            found = (await conn.execute(sql, {"refs": f"@{prefix}%"})).scalar()
            return bool(found == count)

    try:
        try:
            await wait_for(settled, 300, f"{count} channels polled")
        except RuntimeError:
            print(path.with_suffix(".log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        took = time.perf_counter() - started
        await asyncio.sleep(1)
        rss, peak = memory_of(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        await engine.dispose()
    return rss, peak, took


# Report -----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def report(
    rates: dict[float, dict[str, float]],
    latency: dict[str, tuple[float, float]],
    mem: list[tuple[float, float, float]],
    args: Any,
) -> bool:
    """Print the results table; return whether every floor holds."""
    rows: list[tuple[str, str, str, str, str]] = []
    ok = True
    for rtt, found in rates.items():
        bare = found["bare"]
        where = f"RTT {rtt * 1000:.0f} ms" if rtt else "loopback"
        for name in ("sqlite", "postgres"):
            if name in found:
                share = found[name] / bare
                ok &= share >= 0.7
                rows.append(
                    (
                        f"backfill posts/s, {where} ({name})",
                        f"{found[name]:,.0f}",
                        f"bare GetHistory {bare:,.0f}",
                        f">= 70% of bare ({share:.0%})",
                        verdict(share >= 0.7),
                    )
                )
    for name, (p50, p99) in latency.items():
        ok &= p99 < 1.0
        rows.append(
            (
                f"live post->flag p50 / p99 ({name})",
                f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms",
                "-",
                "p99 < 1000 ms",
                verdict(p99 < 1.0),
            )
        )
    rss = statistics.median(m[0] for m in mem)
    peak = statistics.median(m[1] for m in mem)
    settle = statistics.median(m[2] for m in mem)
    ok &= peak < 250
    rows.append(
        (
            f"RSS with {args.channels} channels (now / peak)",
            f"{rss:.0f} / {peak:.0f} MB",
            f"all polled after {settle:.1f} s",
            "peak < 250 MB",
            verdict(peak < 250),
        )
    )
    header = ("measure", "monitor", "baseline", "floor", "verdict")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(5)]
    print()
    print(
        f"bench_ingest: medians of {args.runs} runs ({args.posts} posts per backfill), "
        f"{args.live_posts} live posts per run, {args.memory_runs} memory run(s); "
        f"{os.cpu_count()} CPUs"
    )
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return ok


async def main(args: Any, databases: dict[str, str]) -> bool:
    """Run every measurement and print the table."""
    configure_logging("warning", "json")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as temporary:
        folder = Path(temporary)
        server = TelegramTestServer()
        settings = await server.start()
        server.add_user(phone=PHONE, first_name="Bench")
        header = settings.config_toml(settings.write_public_key(folder / "server-key.pem"))
        header = header.replace(
            'api_hash = "test"\n', f'api_hash = "test"\nsession = "{folder / "bench.session"}"\n'
        )
        bench = Bench(server, folder, header, random.Random(5))
        try:
            config = config_at(bench.write_config("login", databases["sqlite"], []))
            await interactive_login(
                telegram_of(config),
                as_string=False,
                phone=PHONE,
                code=lambda: server.login_code,
                password=lambda: "",
            )
            rates = {
                rtt: await throughput(bench, databases, args.runs, args.posts, rtt)
                for rtt in (0.0, args.rtt)
            }
            latency: dict[str, tuple[float, float]] = {}
            for name, url in databases.items():
                rounds = [
                    await live_latency(bench, name, url, args.live_posts)
                    for _ in range(args.latency_runs)
                ]
                latency[name] = (
                    statistics.median(r[0] for r in rounds),
                    statistics.median(r[1] for r in rounds),
                )
            mem = [
                await memory(bench, databases["sqlite"], args.channels)
                for _ in range(args.memory_runs)
            ]
        finally:
            await server.stop()
        return report(rates, latency, mem, args)


def parse_args() -> Any:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="backfill runs (median quoted)")
    parser.add_argument("--posts", type=int, default=3000, help="posts per backfill run")
    parser.add_argument("--live-posts", type=int, default=40, help="flagged posts per live run")
    parser.add_argument("--latency-runs", type=int, default=3, help="live runs per database")
    parser.add_argument("--channels", type=int, default=500, help="channels for the RSS run")
    parser.add_argument("--memory-runs", type=int, default=1, help="RSS runs (median quoted)")
    parser.add_argument(
        "--rtt", type=float, default=0.05, help="simulated Telegram round trip, seconds"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    return parser.parse_args()


def run() -> int:
    """Set up the databases, run the benchmark, clean up; exit 1 when a floor fails."""
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-db-"))
    databases = {"sqlite": f"sqlite:///{folder / 'bench.db'}"}
    pg_name = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    use_pg = not args.no_postgres and server_available(POSTGRES_URL)
    if use_pg:
        databases["postgres"] = create_database(POSTGRES_URL, pg_name)
    elif not args.no_postgres:
        print(f"PostgreSQL at {POSTGRES_URL} does not answer: SQLite only")
    try:
        ok = asyncio.run(main(args, databases))
    finally:
        if use_pg:
            drop_database(POSTGRES_URL, pg_name)
    print("all floors hold" if ok else "a floor failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run())
