"""Hostile posts and failing channels end to end: test server, real Telethon, both databases.

A post with NUL is stored (as U+FFFD, spans intact); a post the database still refuses is
recorded as that post's error while the channel moves on; a channel whose cycles keep failing
shows as failing; a channel added empty has every later gap swept whole; a flag found live is
counted once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import text
from structlog.testing import capture_logs

from monitor.channels import FAILING_AFTER
from monitor.daemon import Daemon, daemon_totals
from monitor.storage import migrate
from monitor.storage.engine import create_engine
from tests.helpers.cli import run
from tests.helpers.monitor_world import MonitorWorld, wait_until

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"
PLAIN = "В городе открыли новый парк"

SQLITE_REJECT = (
    "CREATE TRIGGER reject_post BEFORE INSERT ON posts WHEN NEW.message_id = {id}"
    " BEGIN SELECT RAISE(ABORT, 'post refused by the database'); END"
)
POSTGRES_REJECT = (
    "CREATE FUNCTION reject_post() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF NEW.message_id = {id} THEN RAISE EXCEPTION 'post refused by the database'; END IF;"
    " RETURN NEW; END $$",
    "CREATE TRIGGER reject_post BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION reject_post()",
)


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _refuse_post(world: MonitorWorld, message_id: int) -> None:
    """Make the database itself refuse one post (a trigger), as it refused NUL on PostgreSQL."""
    await asyncio.to_thread(migrate.upgrade, world.database_url)
    if world.database_url.startswith("sqlite"):
        await _execute(world.database_url, SQLITE_REJECT.format(id=message_id))
    else:
        await _execute(world.database_url, *(s.format(id=message_id) for s in POSTGRES_REJECT))


async def _metrics(daemon: Daemon) -> str:
    """Beat the daemon's heartbeat now (file and metrics snapshot) and render the metrics."""
    assert daemon.observer is not None
    assert daemon.watcher is not None
    await daemon.observer.beat(daemon_totals(daemon.watcher))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(daemon.observer.collector)
    return generate_latest(registry).decode()


async def _channels_cell(world: MonitorWorld, channel: str, column: str) -> str:
    """Run `monitor channels` as a user does and return one cell of its table."""
    shown = await asyncio.to_thread(
        run, ["channels", "--config", str(world.config_path)], env={"COLUMNS": "250"}
    )
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    header = [cell.strip() for cell in next(x for x in lines if "┃" in x).split("┃")]
    row = [cell.strip() for cell in next(x for x in lines if channel in x).split("│")]
    return row[header.index(column)]


async def test_post_with_nul_is_stored_with_its_spans(world: MonitorWorld) -> None:
    """A NUL post is stored on both databases (NUL as U+FFFD), flagged, spans on the stored text."""
    channel = world.server.add_channel(username="nul_a", title="NUL A")
    nul_id = await world.server.post(channel, "Сводка\x00\x00: " + FLAGGED)
    after_id = await world.server.post(channel, PLAIN)
    world.write_config(["@nul_a"])
    await world.login()
    assert await world.sweep() == 0
    stored = await world.scalar(f"select text from posts where message_id = {nul_id}")
    assert stored == "Сводка\ufffd\ufffd: " + FLAGGED
    spans = await world.scalar("select spans from matches")
    start, end = (json.loads(spans) if isinstance(spans, str) else spans)[0]
    assert stored[start:end].lower().startswith("дезертир")
    assert await world.scalar("select last_message_id from channels") == after_id
    assert await world.scalar("select count(*) from alerts") == 1
    assert await world.scalar("select status from channels") == "active"


async def test_post_the_database_refuses_is_recorded_and_the_channel_moves_on(
    world: MonitorWorld,
) -> None:
    """One refused post becomes a recorded error naming it; the rest of its batch is stored."""
    channel = world.server.add_channel(username="refuse_a", title="Refuse A")
    world.write_config(["@refuse_a"])
    first = await world.server.post(channel, PLAIN)
    refused = await world.server.post(channel, FLAGGED)
    last = await world.server.post(channel, "Ещё один дезертир объявлен в розыск")
    await _refuse_post(world, refused)
    await world.login()
    with capture_logs() as logs:
        assert await world.sweep() == 0
    rows = await world.query("select message_id from posts order by message_id")
    assert [r[0] for r in rows] == [first, last]
    assert await world.scalar("select last_message_id from channels") == last
    errors = await world.query("select message_id, error from post_errors")
    assert [r[0] for r in errors] == [refused]
    assert "post refused by the database" in errors[0][1]
    assert await world.scalar("select count(*) from alerts") == 1  # the last post's
    failed = [e for e in logs if e["event"] == "post_store_failed"]
    assert [e["message_id"] for e in failed] == [refused]
    assert await _channels_cell(world, "@refuse_a", "post errors") == "1"
    assert await world.sweep() == 0  # and the next sweep goes on past it
    assert await world.scalar("select count(*) from post_errors") == 1


async def test_channel_whose_cycles_keep_failing_shows_failing(world: MonitorWorld) -> None:
    """Failed cycles in a row make a channel failing (status, metric, one notice); then active."""
    world.server.add_channel(username="failing_a", title="Failing A")
    world.write_config(["@failing_a"], interval=3600)
    await world.login()
    world.server.faults.rpc_error("messages.getHistory", "MSG_ID_INVALID", count=10_000)
    daemon = world.start_daemon()

    async def first_cycle_failed() -> bool:
        return daemon.watcher is not None and daemon.watcher.counters.failures >= 1

    await wait_until(first_cycle_failed)
    assert daemon.watcher is not None
    assert await world.scalar("select status from channels") == "active"  # one is not enough
    for _ in range(FAILING_AFTER + 1):  # the scheduled cycles, run now
        await daemon.watcher.poll(1)
    assert await world.scalar("select status from channels") == "failing"
    operational = await world.query("select payload from alerts where kind = 'operational'")
    assert len(operational) == 1  # one notice, however many cycles fail
    payload = operational[0][0]
    notice = (json.loads(payload) if isinstance(payload, str) else payload)["text"]
    assert "@failing_a is failing" in notice
    assert "MsgIdInvalidError" in notice
    assert 'monitor_channel_failing{channel="failing_a"} 1.0' in await _metrics(daemon)
    assert await _channels_cell(world, "@failing_a", "status") == "failing"
    world.server.faults.clear()
    await daemon.watcher.poll(1)
    assert await world.scalar("select status from channels") == "active"
    assert await world.scalar("select failed_cycles from channels") == 0
    assert 'monitor_channel_failing{channel="failing_a"} 0.0' in await _metrics(daemon)
    assert await world.stop_daemon(daemon) == 0


async def test_channel_added_empty_has_every_missed_post_swept(world: MonitorWorld) -> None:
    """A channel empty when added, whose live updates then miss 25 posts, gets all 25 read."""
    channel = world.server.add_channel(username="empty_a", title="Empty A")
    world.write_config(["@empty_a"], interval=3600, backfill=20)
    await world.login()
    daemon = world.start_daemon()
    daemon.live_grace = dt.timedelta(0)
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(
        lambda: world.scalar("select count(*) from channels where last_polled_at is not null")
    )
    world.server.faults.withhold_updates(channel)
    story = None
    for index in range(25):  # synchronous: no cycle runs in between
        text_ = FLAGGED if index == 2 else f"{PLAIN} {index}"
        message_id = world.server.post_now(channel, text_, date=dt.datetime.now(dt.UTC))
        story = message_id if index == 2 else story
    assert daemon.watcher is not None
    channel_id = await world.scalar("select id from channels")
    await daemon.watcher.poll(channel_id)  # the scheduled sweep, run now
    assert await world.scalar("select count(*) from posts") == 25
    assert await world.scalar(f"select flagged from posts where message_id = {story}")
    assert await world.scalar("select last_message_id from channels") == 25
    assert daemon.watcher.counters.missed_by_live == 25
    assert await world.stop_daemon(daemon) == 0
    assert await world.scalar("select count(*) from alerts") == 1


async def test_flag_found_live_is_counted_once(world: MonitorWorld) -> None:
    """A post flagged from live updates counts in the metric and totals once, sweep or not."""
    channel = world.server.add_channel(username="count_a", title="Count A")
    await world.server.post(channel, PLAIN)
    world.write_config(["@count_a"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(lambda: world.scalar("select count(*) from posts"))
    message_id = await world.server.post(channel, FLAGGED)
    flagged = f"select count(*) from posts where flagged and message_id = {message_id}"
    await wait_until(lambda: world.scalar(flagged))
    assert daemon.watcher is not None
    await daemon.watcher.poll(await world.scalar("select id from channels"))  # re-reads it
    body = await _metrics(daemon)
    assert 'monitor_posts_flagged_total{channel="count_a"} 1.0' in body
    assert 'monitor_posts_fetched_total{channel="count_a"} 2.0' in body
    heartbeat = json.loads((world.folder / "monitor.heartbeat").read_text(encoding="utf-8"))
    assert (heartbeat["flagged"], heartbeat["posts"]) == (1, 2)
    assert await world.stop_daemon(daemon) == 0


async def test_live_post_the_database_refuses_is_recorded(world: MonitorWorld) -> None:
    """A live post the database refuses is recorded; the next live post and the sweep go on."""
    channel = world.server.add_channel(username="refuse_live", title="Refuse live")
    await world.server.post(channel, PLAIN)
    world.write_config(["@refuse_live"], interval=3600)
    await _refuse_post(world, 2)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(lambda: world.scalar("select count(*) from posts"))
    refused = await world.server.post(channel, FLAGGED)
    after = await world.server.post(channel, "Ещё один дезертир объявлен в розыск")
    assert refused == 2
    await wait_until(lambda: world.scalar(f"select count(*) from posts where message_id = {after}"))
    assert await world.scalar("select message_id from post_errors") == refused
    assert daemon.watcher is not None
    assert await daemon.watcher.poll(1) is not None  # the sweep re-reads it and goes on
    assert await world.scalar("select last_message_id from channels") == after
    assert await world.scalar("select status from channels") == "active"
    assert await world.stop_daemon(daemon) == 0
