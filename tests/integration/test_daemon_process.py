"""``monitor run`` as a real process: session lock, signals, health, kill -9, database outages."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from monitor.storage.engine import create_engine
from monitor.testing.state import ChannelRecord
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.processes import Spawned, exits_within, finish, monitor, spawn, stop

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"
PLAIN = "В городе открыли новый парк"


async def polled(world: MonitorWorld) -> bool:
    """Whether the daemon has finished at least one cycle."""
    return bool(
        await world.scalar("select count(*) from channels where last_polled_at is not null")
    )


async def assert_consistent(world: MonitorWorld, last_id: int) -> None:
    """Every post 1..last_id is stored once, the cursor is there, alerts and matches once."""
    rows = await world.query("select message_id, count(*) from posts group by message_id")
    assert {row[0]: row[1] for row in rows} == dict.fromkeys(range(1, last_id + 1), 1)
    assert await world.scalar("select last_message_id from channels") == last_id
    flagged = await world.query(
        "select p.message_id, count(a.id) from posts p"
        " left join alerts a on a.post_id = p.id and a.sink = 'log'"
        " where p.flagged group by p.message_id"
    )
    assert flagged
    assert {row[1] for row in flagged} == {1}, "one alert row per flagged post and sink"
    matches = await world.query("select post_id, count(*) from matches group by post_id")
    assert {row[1] for row in matches} == {1}, "matches are not duplicated"
    assert len(matches) == len(flagged)


@contextlib.asynccontextmanager
async def daemon(world: MonitorWorld, *args: str) -> AsyncIterator[Spawned]:
    """A ``monitor run`` subprocess, killed at the end whatever happened."""
    process = spawn(world, "run", *args)
    try:
        yield process
    finally:
        stop(process)


async def test_second_instance_is_refused(world: MonitorWorld) -> None:
    """A second ``monitor run`` on the same session exits 2 naming the first one's pid."""
    world.server.add_channel(username="lock_news", title="Lock")
    world.write_config(["@lock_news"])
    await world.login()
    async with daemon(world) as first:
        await wait_until(lambda: polled(world), within=20)
        second = await finish(spawn(world, "run"), within=20)
        assert second.code == 2
        assert f"in use by another monitor process (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        assert (await finish(first, within=10)).code == 0


async def test_run_without_session_asks_for_login(world: MonitorWorld) -> None:
    """``monitor run`` before ``monitor login`` exits 2 with the hint and no traceback."""
    world.write_config(["@nobody_yet"])
    result = await finish(spawn(world, "run"), within=20)
    assert result.code == 2
    assert "run `monitor login` first" in result.stderr
    assert "Traceback" not in result.stderr


async def test_run_once_sweeps_every_channel_then_exits(world: MonitorWorld) -> None:
    """``monitor run --once`` (for cron) sweeps each channel once, exits 0, leaves no heartbeat."""
    first = world.server.add_channel(username="cron_a", title="Cron A")
    second = world.server.add_channel(username="cron_b", title="Cron B")
    await world.server.post(first, FLAGGED)
    await world.server.post(second, PLAIN)
    await world.server.post(second, FLAGGED)
    world.write_config(["@cron_a", "@cron_b"])
    await world.login()
    result = await finish(spawn(world, "run", "--once"), within=30)
    assert result.code == 0, result.stderr
    assert '"event": "sweep_finished"' in result.stderr
    cursors = await world.query("select ref, last_message_id from channels order by ref")
    assert [tuple(row) for row in cursors] == [("@cron_a", 1), ("@cron_b", 2)]
    assert await world.scalar("select count(*) from alerts where kind = 'post'") == 2
    assert not (world.folder / "monitor.heartbeat").exists()


async def test_sigterm_stops_quickly_between_pages(world: MonitorWorld) -> None:
    """SIGTERM mid-sweep exits 0 within seconds; what is stored matches the cursor exactly."""
    channel = world.server.add_channel(username="term_news", title="Term")
    await world.server.post(channel, PLAIN)
    world.write_config(["@term_news"], backfill=1, live=False)
    await world.login()
    await world.sweep()  # the cursor sits at post 1
    for index in range(1500):
        await world.server.post(channel, FLAGGED if index % 100 == 0 else f"{PLAIN} {index}")
    world.server.faults.latency = 0.25  # a slow Telegram: each page takes a while
    async with daemon(world) as process:
        await wait_until(lambda: world.scalar("select count(*) > 1 from posts"), within=30)
        process.send_signal(signal.SIGTERM)
        took = await exits_within(process, within=8)
        result = process.output()
        assert process.returncode == 0, result.stderr[-2000:]
    assert took < 5
    assert '"event": "daemon_stopped"' in result.stderr
    assert "Traceback" not in result.stderr, "the open cycle was cancelled, not finished"
    cursor = await world.scalar("select last_message_id from channels")
    assert 1 < cursor < 1501, "stopped before the sweep's end"
    await assert_consistent(world, cursor)


async def test_health_follows_the_daemon(world: MonitorWorld) -> None:
    """``monitor health`` exits 0 while the daemon runs, 1 after a stop or when stale."""
    world.server.add_channel(username="health_news", title="Health")
    world.write_config(["@health_news"])
    await world.login()
    stale_config = world.folder / "stale.toml"
    stale_config.write_text(
        world.config_path.read_text(encoding="utf-8").replace(
            "[metrics]\n", "[metrics]\nheartbeat_max_age = 1\n"
        ),
        encoding="utf-8",
    )
    assert (await monitor(world, "health")).code == 1  # not started yet
    async with daemon(world) as process:

        async def healthy() -> bool:
            return (await monitor(world, "health")).code == 0

        await wait_until(healthy, within=20, interval=0.2)
        process.send_signal(signal.SIGTERM)
        assert (await finish(process, within=10)).code == 0
    stopped = await monitor(world, "health")
    assert stopped.code == 1
    assert "no heartbeat" in stopped.stdout
    async with daemon(world) as process:
        await wait_until(healthy, within=20, interval=0.2)
        process.send_signal(signal.SIGKILL)  # a crash leaves the last heartbeat behind
        await exits_within(process, within=5)

    async def stale() -> bool:
        result = await monitor(world, "health", "--config", str(stale_config))
        return result.code == 1 and "old" in result.stdout

    await wait_until(stale, within=10, interval=0.2)


async def keep_posting(
    world: MonitorWorld, channel: ChannelRecord, stop_at: asyncio.Event, rng: random.Random
) -> None:
    """Post every few tens of milliseconds until ``stop_at``; about one in six matches."""
    index = 0
    while not stop_at.is_set():
        index += 1
        flagged = rng.random() < 1 / 6
        await world.server.post(channel, FLAGGED if flagged else f"{PLAIN} {index}")
        await asyncio.sleep(rng.uniform(0.01, 0.12))


@pytest.mark.slow
async def test_kill_9_loses_and_duplicates_nothing(world: MonitorWorld) -> None:
    """Twenty daemons killed at random moments while posts keep coming lose and repeat nothing."""
    rng = random.Random(9)  # noqa: S311  reproducible kill points, not cryptography
    channel = world.server.add_channel(username="kill_news", title="Kill")
    for index in range(30):
        await world.server.post(channel, FLAGGED if index % 7 == 0 else f"{PLAIN} {index}")
    world.write_config(["@kill_news"], interval=5, backfill=100000)
    await world.login()
    stop_posting = asyncio.Event()
    poster = asyncio.create_task(keep_posting(world, channel, stop_posting, rng))
    started = time.monotonic()
    try:
        for _ in range(20):
            async with daemon(world) as process:
                await asyncio.sleep(rng.uniform(0.2, 2.0))
                process.send_signal(signal.SIGKILL)
                await exits_within(process, within=5)
    finally:
        stop_posting.set()
        await poster
    assert time.monotonic() - started < 60
    assert await world.sweep() == 0  # `monitor run --once` catches up
    await assert_consistent(world, channel.next_id - 1)


async def interrupt_database(world: MonitorWorld) -> None:
    """Take the database away from the daemon for a moment (SQLite: locked; PostgreSQL: killed)."""
    if world.database_url.startswith("sqlite"):
        path = world.database_url.removeprefix("sqlite:///")
        holder = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            holder.execute("begin exclusive")
            await asyncio.sleep(3)  # the daemon's writes wait behind the lock meanwhile
        finally:
            holder.execute("rollback")
            holder.close()
        return
    engine = create_engine(world.database_url)
    try:
        for _ in range(3):
            async with engine.connect() as conn:
                await conn.execute(
                    text(
                        "select pg_terminate_backend(pid) from pg_stat_activity"
                        " where datname = current_database() and pid <> pg_backend_pid()"
                    )
                )
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def test_database_outage_loses_nothing(world: MonitorWorld) -> None:
    """The database going away while posts arrive crashes nothing; every post is stored once."""
    channel = world.server.add_channel(username="outage_news", title="Outage")
    await world.server.post(channel, FLAGGED)
    world.write_config(["@outage_news"], interval=5)
    await world.login()
    async with daemon(world) as process:
        await wait_until(lambda: polled(world), within=20)
        await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
        posting = asyncio.create_task(post_some(world, channel, 10))
        await interrupt_database(world)
        await posting
        last = channel.next_id - 1
        await wait_until(
            lambda: world.scalar(f"select last_message_id = {last} from channels"), within=30
        )
        assert process.poll() is None, process.output().stderr[-2000:]
        process.send_signal(signal.SIGTERM)
        assert (await finish(process, within=10)).code == 0
    await assert_consistent(world, last)


async def post_some(world: MonitorWorld, channel: ChannelRecord, count: int) -> None:
    """Post ``count`` posts over about two seconds, every third one matching."""
    for index in range(count):
        await world.server.post(channel, FLAGGED if index % 3 == 0 else f"{PLAIN} {index}")
        await asyncio.sleep(0.2)
