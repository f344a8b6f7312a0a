"""``monitor rescan`` over thousands of stored posts: classified in worker processes, with a
true total, resumable after Ctrl-C, and the same result however many workers ran it; on SQLite
and PostgreSQL."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from monitor.storage.engine import create_engine
from monitor.storage.rows import posts_t
from tests.helpers.monitor_world import RULES, MonitorWorld, wait_until
from tests.helpers.processes import finish, monitor, spawn

pytestmark = pytest.mark.telegram

POSTS = 20_000
STORY = "Двое дезертиров задержаны военной полицией под Курском"  # the test rules flag it
DULL = "В городе открыли новый парк, жители довольны погодой"
POLICE_RULE = """
[[rules]]
id = "test-police"
category = "crime"
score = 0.5
any = ["полицией"]
"""


async def _store(world: MonitorWorld, count: int) -> int:
    """A channel swept once, then ``count`` more of its posts written straight to the database
    (one in ten a story); return how many stories that stored."""
    channel = world.server.add_channel(username="rescan_many", title="Many")
    await world.server.post(channel, DULL)
    world.write_config(["@rescan_many"])
    await world.login()
    await world.sweep()
    channel_id = await world.scalar("select id from channels")
    start = datetime.now(UTC) - timedelta(days=30)
    rows = [
        {
            "channel_id": channel_id,
            "message_id": 100 + number,
            "date": start + timedelta(seconds=number),
            "text": STORY if number % 10 == 0 else DULL,
            "link": f"https://t.me/rescan_many/{100 + number}",
            "flagged": False,
            "live": False,
            "created_at": start,
        }
        for number in range(count)
    ]
    engine = create_engine(world.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(posts_t), rows)
    finally:
        await engine.dispose()
    return count // 10


async def _police_matches(world: MonitorWorld) -> int:
    return int(await world.scalar("select count(*) from matches where rule_id = 'test-police'"))


async def test_rescan_stopped_with_ctrl_c_resumes_where_it_stopped(world: MonitorWorld) -> None:
    """Ctrl-C mid-rescan keeps what was recorded; the next run resumes after it, says so,
    counts the full total, and the end state is that of one uninterrupted run."""
    stories = await _store(world, POSTS)
    (world.folder / "rules.toml").write_text(RULES + POLICE_RULE, encoding="utf-8")
    process = spawn(world, "rescan", "--jobs", "2")
    scanned = "select scanned from rescan_progress where finished_at is null"
    await wait_until(lambda: world.scalar(scanned), within=60)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    stopped = await finish(process, within=60)
    assert stopped.code == 130, stopped.stderr
    assert "run `monitor rescan` again" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    done_before = int(await world.scalar("select scanned from rescan_progress"))
    assert 0 < done_before < POSTS + 1
    assert await _police_matches(world) < stories
    resumed = await monitor(world, "rescan", "--jobs", "2")
    assert resumed.code == 0, resumed.stderr
    assert f"rescanned {POSTS + 1} posts (resumed after {done_before})" in resumed.stdout
    assert f"{POSTS + 1}/{POSTS + 1}" in resumed.stderr  # the bar's total, known from the start
    assert await _police_matches(world) == stories


async def test_workers_and_one_process_find_the_same(world: MonitorWorld) -> None:
    """A rescan in two workers records what one process would: a second run in one process,
    started over, finds nothing more to record."""
    stories = await _store(world, 3_000)
    (world.folder / "rules.toml").write_text(RULES + POLICE_RULE, encoding="utf-8")
    parallel = await monitor(world, "rescan", "--jobs", "2")
    assert parallel.code == 0, parallel.stderr
    assert f"rescanned 3001 posts: {stories} newly flagged" in parallel.stdout
    serial = await monitor(world, "rescan", "--jobs", "1", "--restart")
    assert serial.code == 0, serial.stderr
    assert "rescanned 3001 posts: 0 newly flagged, 0 matches recorded" in serial.stdout
    assert await _police_matches(world) == stories
