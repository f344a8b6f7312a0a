"""The daemon end to end: local Telegram server, real Telethon, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.telegram.session import session_path
from tests.helpers.monitor_world import MonitorWorld, wait_until

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"
PLAIN = "В городе открыли новый парк"


async def test_flagged_post_is_stored_with_its_alert(world: MonitorWorld) -> None:
    """A matching post is stored, flagged, matched and gets one pending alert row."""
    channel = world.server.add_channel(username="news_a", title="News A")
    await world.server.post(channel, PLAIN)
    flagged_id = await world.server.post(channel, FLAGGED)
    world.write_config(["@news_a"])
    await world.login()
    assert await world.sweep() == 0
    assert await world.scalar("select count(*) from posts") == 2
    rows = await world.query("select message_id, flagged, link from posts where flagged")
    assert [(r[0], bool(r[1]), r[2]) for r in rows] == [
        (flagged_id, True, f"https://t.me/news_a/{flagged_id}")
    ]
    matches = await world.query("select rule_id, category, terms, spans from matches")
    assert [(m[0], m[1]) for m in matches] == [("test-desertion", "desertion")]
    alerts = await world.query("select sink, state, kind from alerts")
    assert [tuple(a) for a in alerts] == [("log", "sent", "post")]  # run --once delivers too
    assert oct(session_path(world.config().telegram).stat().st_mode & 0o777) == "0o600"  # type: ignore[arg-type]


async def test_restart_realerts_nothing(world: MonitorWorld) -> None:
    """Sweeping again after a restart stores nothing twice and raises no second alert."""
    channel = world.server.add_channel(username="news_b", title="News B")
    await world.server.post(channel, FLAGGED)
    world.write_config(["@news_b"])
    await world.login()
    await world.sweep()
    await world.sweep()
    assert await world.scalar("select count(*) from alerts") == 1
    await world.server.post(channel, "Ещё один дезертир объявлен в розыск")
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 2
    assert await world.scalar("select count(*) from alerts") == 2
    assert await world.scalar("select last_message_id from channels") == 2


async def test_username_resolved_once(world: MonitorWorld) -> None:
    """A channel's username is resolved on the first run only; later runs use the stored id."""
    world.server.add_channel(username="news_c", title="News C")
    world.write_config(["@news_c"])
    await world.login()
    for _ in range(3):
        await world.sweep()
    resolves = [r for r in world.server.request_log if r.method == "contacts.resolveUsername"]
    assert len(resolves) == 1


async def test_album_is_one_flagged_post(world: MonitorWorld) -> None:
    """Three photos of one album with a matching caption make one flagged post and one alert."""
    channel = world.server.add_channel(username="news_d", title="News D")
    first = await world.server.post(channel, FLAGGED, media="photo", grouped_id=77)
    await world.server.post(channel, "", media="photo", grouped_id=77)
    await world.server.post(channel, "", media="photo", grouped_id=77)
    world.write_config(["@news_d"])
    await world.login()
    await world.sweep()
    rows = await world.query("select message_id, grouped_id, flagged from posts")
    assert [tuple(r) for r in rows] == [(first, 77, True)]
    assert await world.scalar("select count(*) from alerts") == 1


async def test_flood_wait_pauses_then_channel_resumes(world: MonitorWorld) -> None:
    """A FLOOD_WAIT on history is persisted, respected by the next run, then polling resumes."""
    channel = world.server.add_channel(username="news_e", title="News E")
    await world.server.post(channel, FLAGGED)
    world.write_config(["@news_e"])
    await world.login()
    world.server.faults.flood_wait("messages.getHistory", seconds=2, count=1)
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 0
    # On PostgreSQL the wait is the account's (`monitor/history`): accounts may share it.
    assert await world.scalar("select seconds from flood_waits where method like '%history'") == 2
    calls = len(world.server.request_log)
    await world.sweep()  # a restart inside the wait makes no history call
    history = [r for r in world.server.request_log[calls:] if r.method == "messages.getHistory"]
    assert history == []

    async def resumed() -> bool:
        await world.sweep()
        return bool(await world.scalar("select count(*) from posts"))

    assert await wait_until(resumed, within=10, interval=0.5)
    assert await world.scalar("select count(*) from alerts") == 1


async def test_private_channel_does_not_stop_others(world: MonitorWorld) -> None:
    """A channel that turns private gets a status and one operational alert; others go on."""
    gone = world.server.add_channel(username="news_gone", title="Gone")
    good = world.server.add_channel(username="news_good", title="Good")
    await world.server.post(gone, PLAIN)
    world.write_config(["@news_gone", "@news_good"])
    await world.login()
    await world.sweep()
    world.server.faults.rpc_error("messages.getHistory", "CHANNEL_PRIVATE", code=400, count=1)
    await world.server.post(good, FLAGGED)
    await world.sweep()
    await world.sweep()
    statuses = await world.query("select ref, status, last_error from channels order by id")
    assert [(r[0], r[1]) for r in statuses] == [("@news_gone", "private"), ("@news_good", "active")]
    assert "private" in statuses[0][2]
    operational = await world.query("select payload from alerts where kind = 'operational'")
    assert len(operational) == 1
    assert await world.scalar("select count(*) from posts where flagged") == 1


async def test_unknown_username_marks_channel_not_found(world: MonitorWorld) -> None:
    """A username nobody holds is recorded as not_found, once, without stopping the run."""
    world.write_config(["@nobody_has_this"])
    await world.login()
    assert await world.sweep() == 0
    assert await world.scalar("select status from channels") == "not_found"


async def test_disconnect_during_fetch_leaves_no_gap(world: MonitorWorld) -> None:
    """Connections dropped while paging through history lose and duplicate no post."""
    channel = world.server.add_channel(username="news_f", title="News F")
    world.write_config(["@news_f"], backfill=1)
    await world.login()
    await world.server.post(channel, PLAIN)
    await world.sweep()  # the cursor now sits at the first post
    for index in range(250):
        await world.server.post(channel, FLAGGED if index % 50 == 0 else f"{PLAIN} {index}")
    world.server.faults.drop_after(3)
    await world.sweep()
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 251
    assert await world.scalar("select count(distinct message_id) from posts") == 251
    assert await world.scalar("select last_message_id from channels") == 251
    assert await world.scalar("select count(*) from alerts") == 5


async def test_first_backfill_cut_short_is_walked_again_whole(world: MonitorWorld) -> None:
    """A new channel's backfill that fails after its first page loses none of the older posts."""
    channel = world.server.add_channel(username="news_bf", title="News BF")
    for index in range(250):
        await world.server.post(channel, FLAGGED if index % 50 == 0 else f"{PLAIN} {index}")
    world.write_config(["@news_bf"], backfill=1000)
    await world.login()
    world.server.faults.rpc_error("messages.getHistory", "MSG_ID_INVALID", after=1)
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 100  # the newest page
    assert await world.scalar("select last_message_id from channels") == 0  # still new
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 250
    assert await world.scalar("select count(distinct message_id) from posts") == 250
    assert await world.scalar("select last_message_id from channels") == 250
    assert await world.scalar("select count(*) from alerts") == 5


async def test_live_post_is_flagged_at_once(world: MonitorWorld) -> None:
    """With the daemon running, a new post arrives live and is flagged before any sweep."""
    channel = world.server.add_channel(username="news_g", title="News G")
    await world.server.post(channel, PLAIN)
    world.write_config(["@news_g"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(lambda: world.scalar("select count(*) from posts"))
    message_id = await world.server.post(channel, FLAGGED)
    await wait_until(
        lambda: world.scalar(
            f"select count(*) from posts where flagged and message_id = {message_id}"
        )
    )
    assert await world.scalar("select count(*) from alerts") == 1
    assert await world.stop_daemon(daemon) == 0


async def test_edit_that_makes_a_match_alerts_once(world: MonitorWorld) -> None:
    """An edit that makes a post match gives exactly one alert, however often it is edited."""
    channel = world.server.add_channel(username="news_h", title="News H")
    world.write_config(["@news_h"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    message_id = await world.server.post(channel, PLAIN)
    await wait_until(lambda: world.scalar("select count(*) from posts"))
    await world.server.edit(channel, message_id, FLAGGED)
    await wait_until(lambda: world.scalar("select count(*) from posts where flagged"))
    await world.server.edit(channel, message_id, FLAGGED + " (обновлено)")
    await wait_until(
        lambda: world.scalar("select count(*) from posts where text like '%обновлено%'")
    )
    assert await world.stop_daemon(daemon) == 0
    assert await world.scalar("select count(*) from alerts") == 1
    assert await world.scalar("select count(*) from matches") == 1


async def test_sweep_counts_what_live_mode_missed(world: MonitorWorld) -> None:
    """Live mode and the sweep store each post once; the sweep counts the withheld one."""
    channel = world.server.add_channel(username="news_i", title="News I")
    world.write_config(["@news_i"], interval=5)
    await world.login()
    daemon = world.start_daemon()
    daemon.live_grace = dt.timedelta(0)
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(
        lambda: world.scalar("select count(*) from channels where last_polled_at is not null")
    )
    live_id = await world.server.post(channel, FLAGGED)
    await wait_until(
        lambda: world.scalar(f"select count(*) from posts where message_id = {live_id}")
    )
    world.server.faults.withhold_updates(channel)
    missed_id = await world.server.post(channel, "Дезертир сбежал из части")
    await wait_until(
        lambda: world.scalar(f"select count(*) from posts where message_id = {missed_id}"),
        within=20,
    )
    assert daemon.watcher is not None
    assert daemon.watcher.counters.missed_by_live == 1
    assert await world.stop_daemon(daemon) == 0
    assert await world.scalar("select count(*) from posts") == 2
    assert await world.scalar("select count(*) from alerts") == 2


async def test_new_channel_backfill_since_a_date(world: MonitorWorld) -> None:
    """`backfill_since` reads every post since the date across pages, and no older one."""
    channel = world.server.add_channel(username="news_j", title="News J")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).replace(microsecond=0)
    for index in range(150):
        await world.server.post(channel, PLAIN, date=start + dt.timedelta(minutes=index))
    since = start + dt.timedelta(minutes=30)
    world.write_config(["@news_j"], backfill_since=since.isoformat())
    await world.login()
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 120
    assert await world.scalar("select min(message_id) from posts") == 31
    assert await world.scalar("select last_message_id from channels") == 150


async def test_store_flagged_keeps_only_flagged_posts(world: MonitorWorld) -> None:
    """With `store = "flagged"` only matching posts are kept, and the cursor still moves."""
    channel = world.server.add_channel(username="news_k", title="News K")
    await world.server.post(channel, PLAIN)
    await world.server.post(channel, FLAGGED)
    await world.server.post(channel, PLAIN)
    world.write_config(["@news_k"], store="flagged")
    await world.login()
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 1
    assert await world.scalar("select last_message_id from channels") == 3
    assert await world.scalar("select count(*) from alerts") == 1


@pytest.mark.slow
async def test_telegram_outage_then_recovery(world: MonitorWorld) -> None:
    """Telegram down for a while (longer than Telethon's retries): the daemon stays up,
    reconnects when it is back, and stores what was posted meanwhile."""
    channel = world.server.add_channel(username="news_l", title="News L")
    world.write_config(["@news_l"], interval=5)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
    await world.server.stop()
    assert daemon.watcher is not None
    failures = daemon.watcher.counters.failures
    await wait_until(lambda: _more_failures(daemon, failures), within=45, interval=0.2)
    await world.server.start()
    message_id = await world.server.post(channel, FLAGGED)
    await wait_until(
        lambda: world.scalar(f"select count(*) from posts where message_id = {message_id}"),
        within=40,
        interval=0.2,
    )
    assert await world.stop_daemon(daemon) == 0
    assert await world.scalar("select count(*) from alerts") == 1


async def _more_failures(daemon: object, count: int) -> bool:
    watcher = getattr(daemon, "watcher", None)
    return watcher is not None and watcher.counters.failures > count
