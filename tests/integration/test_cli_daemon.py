"""``monitor rescan`` and ``monitor channels`` on stored data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers.monitor_world import RULES, MonitorWorld, wait_until
from tests.helpers.processes import monitor

pytestmark = pytest.mark.telegram

DESERTERS = "Двое дезертиров задержаны военной полицией под Курском"
HAZING = "В части выявлена дедовщина, возбуждено дело"
PARK = "В городе открыли новый парк"
MORE_RULES = """
[[rules]]
id = "test-hazing"
category = "hazing"
score = 0.7
any = ["дедовщина"]

[[rules]]
id = "test-police"
category = "crime"
score = 0.5
any = ["полицией"]
"""
PARK_RULE = """
[[rules]]
id = "test-park"
category = "crime"
score = 0.3
any = ["парк"]
"""


async def test_rescan_flags_with_new_rules_without_alerts(world: MonitorWorld) -> None:
    """New rules flag stored posts and add matches once; alerts only with ``--alert``."""
    channel = world.server.add_channel(username="rescan_news", title="Rescan")
    for text in (DESERTERS, HAZING, PARK):
        await world.server.post(channel, text)
    world.write_config(["@rescan_news"])
    await world.login()
    await world.sweep()
    assert await world.scalar("select count(*) from posts where flagged") == 1
    rules = world.folder / "rules.toml"
    rules.write_text(RULES + MORE_RULES, encoding="utf-8")
    result = await monitor(world, "rescan")
    assert result.code == 0, result.stderr
    assert "rescanned 3 posts: 1 newly flagged, 2 matches recorded, 0 alerts" in result.stdout
    assert "3/3" in result.stderr  # the bar's total is counted first (it showed "3/?")
    again = await monitor(world, "rescan")
    assert "rescanned 3 posts: 0 newly flagged, 0 matches recorded, 0 alerts" in again.stdout
    matches = await world.query(
        "select p.message_id, m.rule_id from matches m join posts p on p.id = m.post_id"
        " order by p.message_id, m.rule_id"
    )
    assert [tuple(row) for row in matches] == [
        (1, "test-desertion"),
        (1, "test-police"),
        (2, "test-hazing"),
    ]
    assert await world.scalar("select count(*) from alerts") == 1  # the sweep's, for post 1
    rules.write_text(RULES + MORE_RULES + PARK_RULE, encoding="utf-8")
    alerted = await monitor(world, "rescan", "--alert")
    assert "1 newly flagged, 1 matches recorded, 1 alerts" in alerted.stdout
    rows = await world.query(
        "select p.message_id, a.sink from alerts a join posts p on p.id = a.post_id"
        " where p.message_id = 3"
    )
    assert [tuple(row) for row in rows] == [(3, "log")]


async def test_rescan_bad_rules_exit_2(world: MonitorWorld) -> None:
    """A rule file that does not load makes ``rescan`` exit 2 with one line, no traceback."""
    world.write_config(["@rescan_news"])
    (world.folder / "rules.toml").write_text('[[rules]]\nid = "x"\n', encoding="utf-8")
    result = await monitor(world, "rescan")
    assert result.code == 2
    assert "rules.toml" in result.stderr
    assert "Traceback" not in result.stderr


async def test_channels_table_shows_state(world: MonitorWorld) -> None:
    """``monitor channels`` lists status, cursor, flagged count, flood wait and last error."""
    good = world.server.add_channel(username="table_good", title="Good")
    gone = world.server.add_channel(username="table_gone", title="Gone")
    await world.server.post(good, DESERTERS)
    await world.server.post(good, PARK)
    await world.server.post(gone, PARK)
    world.write_config(["@table_gone", "@table_good"])
    await world.login()
    await world.sweep()
    world.server.faults.rpc_error("messages.getHistory", "CHANNEL_PRIVATE", code=400, count=1)
    await world.server.post(gone, PARK)
    await world.sweep()
    world.server.faults.flood_wait("messages.getHistory", seconds=600, count=1)
    await world.sweep()
    result = await monitor(world, "channels")
    assert result.code == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "@" in line}
    good_cells = [cell.strip() for cell in lines["@table_good"].split("│")]
    gone_cells = [cell.strip() for cell in lines["@table_gone"].split("│")]
    # channel, status, last post, cursor, lag, interval, flagged, missed live, flood wait,
    # last error
    assert good_cells[2] == "active"
    assert good_cells[4] == "2"
    assert good_cells[7] == "1"
    assert good_cells[8] == "0"
    assert good_cells[9] in ("10m", "9m")
    assert gone_cells[2] == "private"
    assert gone_cells[7] == "0"
    assert gone_cells[9] == "-"
    assert "private" in gone_cells[10]


async def test_channels_table_shows_what_live_updates_missed(world: MonitorWorld) -> None:
    """The sweep's "missed by live" count outlives the daemon: `monitor channels` shows it."""
    channel = world.server.add_channel(username="missed_news", title="Missed")
    await world.server.post(channel, PARK)
    world.write_config(["@missed_news"], interval=5, live=True)
    await world.login()
    daemon = world.start_daemon()
    daemon.live_grace = dt.timedelta(0)
    await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
    await wait_until(
        lambda: world.scalar("select count(*) from channels where last_polled_at is not null")
    )
    world.server.faults.withhold_updates(channel)
    missed = [await world.server.post(channel, f"{PARK} {index}") for index in range(3)]
    await wait_until(
        lambda: world.scalar(f"select count(*) from posts where message_id = {missed[-1]}"),
        within=20,
    )
    # The count is written just after the batch's commit: wait for it, not for the posts alone.
    await wait_until(
        lambda: world.scalar("select count(*) from channels where missed_by_live = 3"), within=20
    )
    assert await world.stop_daemon(daemon) == 0
    result = await monitor(world, "channels")
    assert result.code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "missed live" in line)
    row = next(line for line in result.stdout.splitlines() if "@missed_news" in line)
    column = [cell.strip() for cell in header.replace("┃", "│").split("│")].index("missed live")
    assert [cell.strip() for cell in row.split("│")][column] == "3"
