"""``monitor backfill``: older posts, resumable, flagged without alerts (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import signal

import pytest

from monitor.testing.state import ChannelRecord
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.processes import monitor, spawn, stop

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"
PLAIN = "В городе открыли новый парк"


async def seed(world: MonitorWorld, count: int, username: str = "old_news") -> ChannelRecord:
    """A channel with ``count`` posts; every 50th (ids 1, 51, 101, ...) matches the rules."""
    channel = world.server.add_channel(username=username, title="Old News")
    for index in range(count):
        await world.server.post(channel, FLAGGED if index % 50 == 0 else f"{PLAIN} {index}")
    return channel


async def assert_stored_once(world: MonitorWorld, ids: range) -> None:
    """Every id in ``ids`` is stored exactly once, and nothing else is."""
    rows = await world.query("select message_id, count(*) from posts group by message_id")
    assert {row[0]: row[1] for row in rows} == dict.fromkeys(ids, 1)


async def test_backfill_resumes_below_oldest_without_alerts(world: MonitorWorld) -> None:
    """Two limited runs read older pages below the sweep's posts; no alert, cursor untouched."""
    await seed(world, 250)
    world.write_config(["@old_news"], backfill=20)
    await world.login()
    await world.sweep()  # stores 231..250 and sets the cursor at 250
    first = await monitor(world, "backfill", "@old_news", "--limit", "100")
    assert first.code == 0, first.stderr
    assert "100 posts read, 100 new, 2 flagged, 0 alerts; oldest id 131 (more remain)" in (
        first.stdout
    )
    second = await monitor(world, "backfill", "old_news", "--limit", "1000")
    assert second.code == 0, second.stderr
    assert "130 posts read, 130 new, 3 flagged" in second.stdout
    assert "(reached the start)" in second.stdout
    await assert_stored_once(world, range(1, 251))
    assert await world.scalar("select last_message_id from channels") == 250
    flagged = await world.query("select message_id from posts where flagged order by message_id")
    assert [row[0] for row in flagged] == [1, 51, 101, 151, 201]
    assert await world.scalar("select count(*) from matches") == 5
    assert await world.scalar("select count(*) from alerts") == 0  # 231..250 hold no match
    third = await monitor(world, "backfill", "@old_news", "--limit", "10")
    assert "0 posts read" in third.stdout
    assert "(reached the start)" in third.stdout


async def test_backfill_killed_midway_resumes(world: MonitorWorld) -> None:
    """A backfill killed mid-walk leaves whole pages; the next run finishes with no duplicate."""
    await seed(world, 600)
    world.write_config(["@old_news"])
    await world.login()
    world.server.faults.latency = 0.2  # slow pages so the kill lands mid-walk
    process = spawn(world, "backfill", "@old_news", "--limit", "600")
    try:
        await wait_until(lambda: world.scalar("select count(*) from posts"), within=30)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        stop(process)
    stored = await world.scalar("select count(*) from posts")
    assert 0 < stored < 600
    assert stored % 100 == 0  # whole pages or nothing
    world.server.faults.clear()
    resumed = await monitor(world, "backfill", "@old_news", "--since", "2000-01-01")
    assert resumed.code == 0, resumed.stderr
    assert f"{600 - stored} posts read, {600 - stored} new" in resumed.stdout
    await assert_stored_once(world, range(1, 601))
    assert await world.scalar("select last_message_id from channels") == 0


async def test_backfill_since_stops_at_the_date(world: MonitorWorld) -> None:
    """``--since`` stores the posts from that date on and stops; a short flood wait is slept out."""
    channel = world.server.add_channel(username="dated", title="Dated")
    start = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
    for day in range(10):
        await world.server.post(channel, f"{PLAIN} {day}", date=start + dt.timedelta(days=day))
    world.write_config(["@dated"])
    await world.login()
    world.server.faults.flood_wait("messages.getHistory", seconds=1, count=1)
    result = await monitor(world, "backfill", "@dated", "--since", "2024-01-05")
    assert result.code == 0, result.stderr
    assert "6 posts read, 6 new" in result.stdout
    assert "(reached the start)" in result.stdout
    await assert_stored_once(world, range(5, 11))
    assert await world.scalar("select seconds from flood_waits where method = 'history'") == 1


async def test_backfill_alert_flag_queues_alerts(world: MonitorWorld) -> None:
    """With ``--alert`` a flagged old post gets its alert row per sink."""
    await seed(world, 60)
    world.write_config(["@old_news"])
    await world.login()
    result = await monitor(world, "backfill", "@old_news", "--limit", "100", "--alert")
    assert result.code == 0, result.stderr
    assert "60 posts read, 60 new, 2 flagged, 2 alerts" in result.stdout
    alerts = await world.query(
        "select p.message_id, a.sink from alerts a join posts p on p.id = a.post_id"
        " order by p.message_id"
    )
    assert [tuple(row) for row in alerts] == [(1, "log"), (51, "log")]


async def test_backfill_new_channel_keeps_albums_whole(world: MonitorWorld) -> None:
    """A channel never polled is resolved by the backfill; an album across a page is one post."""
    channel = world.server.add_channel(username="albums", title="Albums")
    for index in range(48):
        await world.server.post(channel, f"{PLAIN} {index}")
    for part in range(4):  # ids 49..52: the first page (51..150) cuts this album
        await world.server.post(channel, FLAGGED if part == 0 else "", media="photo", grouped_id=9)
    for index in range(98):
        await world.server.post(channel, f"{PLAIN} later {index}")
    world.write_config([])
    await world.login()
    result = await monitor(world, "backfill", "https://t.me/albums", "--limit", "1000")
    assert result.code == 0, result.stderr
    rows = await world.query("select message_id, flagged from posts where grouped_id = 9")
    assert [tuple(row) for row in rows] == [(49, True)]
    assert await world.scalar("select count(*) from posts") == 147
    assert await world.scalar("select ref from channels") == "https://t.me/albums"


async def test_backfill_needs_since_or_limit(world: MonitorWorld) -> None:
    """Without ``--since`` or ``--limit`` the command is a usage error (exit 2), no traceback."""
    world.write_config(["@old_news"])
    result = await monitor(world, "backfill", "@old_news")
    assert result.code == 2
    assert "give --since DATE, --limit N or both" in result.stderr
    assert "Traceback" not in result.stderr
