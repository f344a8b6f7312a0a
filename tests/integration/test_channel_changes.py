"""Channels that change under the monitor: stale access hashes, old edits, deleted posts.

End to end: the local Telegram server, the real Telethon client, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest

from monitor.testing.state import ChannelRecord
from monitor.testing.world import SentMessage
from tests.helpers.http_server import RecordingServer, Reply, serve
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.telegram_server import BOT_TOKEN

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"
PLAIN = "В городе открыли новый парк"


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    """A webhook receiver on 127.0.0.1."""
    with serve() as server:
        yield server


def resolves(world: MonitorWorld) -> int:
    """How many times the account resolved a username."""
    return sum(1 for r in world.server.request_log if r.method == "contacts.resolveUsername")


def history_calls(world: MonitorWorld) -> int:
    """How many history pages the account read."""
    return sum(1 for r in world.server.request_log if r.method == "messages.getHistory")


async def monitor(world: MonitorWorld, *args: str) -> tuple[int, str, str]:
    """Run ``monitor ARGS`` as a subprocess with the world's config."""
    process = world.spawn(*args)
    out, err = await asyncio.to_thread(process.communicate, timeout=60)
    return process.returncode, out, err


async def old_channel(world: MonitorWorld, username: str, newer: int = 15) -> ChannelRecord:
    """A channel whose first post is 30 hours old, followed by ``newer`` plain posts."""
    channel = world.server.add_channel(username=username, title=username)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    await world.server.post(channel, PLAIN, date=start)
    for index in range(newer):
        await world.server.post(channel, f"{PLAIN} {index}", date=start + dt.timedelta(hours=1))
    return channel


# Item 4: stale access hashes --------------------------------------------------------------


async def test_stale_access_hash_is_resolved_again(world: MonitorWorld) -> None:
    """When Telegram rejects the stored hash, the username is resolved again and reading goes on."""
    channel = world.server.add_channel(username="stale_a", title="Stale A")
    await world.server.post(channel, PLAIN)
    world.write_config(["@stale_a"])
    await world.login()
    await world.sweep()
    assert resolves(world) == 1
    world.server.invalidate_access_hashes(channel)
    story = await world.server.post(channel, FLAGGED)
    assert await world.sweep() == 0
    assert await world.scalar(f"select flagged from posts where message_id = {story}")
    assert tuple((await world.query("select status, last_error from channels"))[0]) == (
        "active",
        None,
    )
    assert resolves(world) == 2
    await world.sweep()  # the new hash is stored: no third resolve
    assert resolves(world) == 2


async def test_replaced_account_reads_with_its_own_hashes(world: MonitorWorld) -> None:
    """A new monitoring account on the same database resolves again instead of failing."""
    channel = world.server.add_channel(username="stale_b", title="Stale B")
    await world.server.post(channel, PLAIN)
    world.write_config(["@stale_b"])
    await world.login()
    await world.sweep()
    telegram = world.config().telegram
    assert telegram is not None
    telegram.session.unlink()
    world.server.state.users.clear()  # the old account is gone; the new one has the phone
    world.server.add_user(phone="+99966000001", first_name="Replacement")
    await world.login()
    story = await world.server.post(channel, FLAGGED)
    await world.sweep()
    assert await world.scalar(f"select flagged from posts where message_id = {story}")
    assert await world.scalar("select status from channels") == "active"


async def test_daemon_with_a_replaced_account_joins_again(world: MonitorWorld) -> None:
    """After the account is replaced, the running daemon resolves, joins, and gets posts live."""
    channel = world.server.add_channel(username="stale_d", title="Stale D")
    await world.server.post(channel, PLAIN)
    world.write_config(["@stale_d"], interval=5)
    await world.login()
    await world.sweep()
    telegram = world.config().telegram
    assert telegram is not None
    telegram.session.unlink()
    world.server.state.users.clear()
    replacement = world.server.add_user(phone="+99966000001", first_name="Replacement")
    await world.login()
    daemon = world.start_daemon()

    async def joined() -> bool:
        return replacement.id in channel.members

    await wait_until(joined, within=20)
    assert resolves(world) == 2
    story = await world.server.post(channel, FLAGGED)
    await wait_until(
        lambda: world.scalar(f"select live from posts where flagged and message_id = {story}")
    )
    assert await world.stop_daemon(daemon) == 0
    assert await world.scalar("select status from channels") == "active"


async def test_channels_reset_resolves_a_stuck_channel(world: MonitorWorld) -> None:
    """`monitor channels reset REF` brings back a channel left not_found; posts are kept."""
    channel = world.server.add_channel(username="stale_c", title="Stale C")
    await world.server.post(channel, PLAIN)
    world.write_config(["@stale_c"])
    await world.login()
    await world.sweep()
    world.server.invalidate_access_hashes(channel)
    world.server.faults.rpc_error("contacts.resolveUsername", "USERNAME_NOT_OCCUPIED")
    await world.sweep()
    assert await world.scalar("select status from channels") == "not_found"
    story = await world.server.post(channel, FLAGGED)
    await world.sweep()  # a not_found channel rests for an hour
    assert await world.scalar(f"select count(*) from posts where message_id = {story}") == 0

    code, out, err = await monitor(world, "channels", "reset", "t.me/stale_c")
    assert (code, err) == (0, "")
    assert out.strip() == "@stale_c: reset (was not_found); it is resolved again next"
    await world.sweep()
    assert await world.scalar(f"select flagged from posts where message_id = {story}")
    assert await world.scalar("select status from channels") == "active"
    assert await world.scalar("select count(*) from posts") == 2

    code, _, err = await monitor(world, "channels", "reset", "@nobody_here")
    assert code == 2
    assert err.strip() == "@nobody_here: no stored channel match; see `monitor channels`"


# Item 5: edits made while nobody watched ---------------------------------------------------


async def test_edit_of_an_old_post_is_found_by_the_recheck_window(world: MonitorWorld) -> None:
    """An edit that turns a 30-hour-old post into a story is flagged by the next run."""
    channel = await old_channel(world, "recheck_a")
    world.write_config(["@recheck_a"])
    await world.login()
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 16
    await world.server.edit(channel, 1, FLAGGED)
    before = history_calls(world)
    await world.sweep()
    assert await world.scalar("select flagged from posts where message_id = 1")
    assert await world.scalar("select text from posts where message_id = 1") == FLAGGED
    assert await world.scalar("select count(*) from alerts") == 1  # the edit is fresh news
    # The sweep's page plus one page of re-read for 16 posts: never one request per post.
    assert history_calls(world) - before == 2


async def test_recheck_window_is_configurable_and_can_be_off(world: MonitorWorld) -> None:
    """`recheck_window = 0` turns the re-read off (the old post's edit stays unseen)."""
    channel = await old_channel(world, "recheck_b")
    world.write_config(["@recheck_b"], recheck_window=0)
    await world.login()
    await world.sweep()
    await world.server.edit(channel, 1, FLAGGED)
    await world.sweep()
    assert await world.scalar("select count(*) from posts where flagged") == 0


async def test_edit_of_an_unstored_post_in_store_flagged_mode(world: MonitorWorld) -> None:
    """With `store = "flagged"`, a post an edit made a story is stored and flagged."""
    channel = await old_channel(world, "recheck_c")
    world.write_config(["@recheck_c"], store="flagged")
    await world.login()
    await world.sweep()
    assert await world.scalar("select count(*) from posts") == 0
    await world.server.edit(channel, 3, FLAGGED)
    await world.sweep()
    rows = await world.query("select message_id, flagged from posts")
    assert [(r[0], bool(r[1])) for r in rows] == [(3, True)]


async def test_changes_while_the_daemon_was_down_are_found_at_start(world: MonitorWorld) -> None:
    """Edits and deletions made while the daemon was stopped are seen after it starts."""
    channel = await old_channel(world, "recheck_d")
    world.write_config(["@recheck_d"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from posts where message_id = 16"))
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    assert await world.stop_daemon(daemon) == 0
    await world.server.edit(channel, 1, FLAGGED)
    await world.server.delete(channel, [2, 16])
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from posts where flagged"))
    await wait_until(
        lambda: world.scalar("select count(*) from posts where deleted_at is not null")
    )
    assert await world.stop_daemon(daemon) == 0
    deleted = await world.query("select message_id from posts where deleted_at is not null")
    assert sorted(r[0] for r in deleted) == [2, 16]


async def test_daemon_catches_up_on_updates_at_start(world: MonitorWorld) -> None:
    """A story posted while the daemon was down arrives through the updates Telegram kept.

    History reads fail at first, so only the catch-up at start can bring it. (Telethon 1.x
    drops the edits and deletions a channel difference carries; the re-read finds those.)
    """
    channel = await old_channel(world, "catchup_a", newer=2)
    world.write_config(["@catchup_a"], interval=3600, recheck_window=0)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    await wait_until(lambda: world.scalar("select count(*) from posts where message_id = 3"))
    live = await world.server.post(channel, PLAIN)  # the account now follows the channel's pts
    await wait_until(lambda: world.scalar(f"select count(*) from posts where message_id = {live}"))
    assert await world.stop_daemon(daemon) == 0
    story = await world.server.post(channel, FLAGGED)
    world.server.faults.rpc_error("messages.getHistory", "TEST_HISTORY_DOWN", code=500, count=50)
    daemon = world.start_daemon()
    await wait_until(
        lambda: world.scalar(f"select live from posts where flagged and message_id = {story}")
    )
    assert await world.stop_daemon(daemon) == 0


# Item 6: deletions ------------------------------------------------------------------------


async def test_live_deletion_edits_the_telegram_alert(world: MonitorWorld) -> None:
    """A post deleted while the daemon runs is marked, and its Telegram alert edited to say so."""
    bot = world.server.add_bot(BOT_TOKEN, "alerts_bot")
    group = world.server.add_group("Alerts", members=[bot], username="alerts_chat")
    channel = world.server.add_channel(username="deleted_a", title="Deleted A")
    await world.server.post(channel, PLAIN)
    sink = (
        '[[alerts]]\nkind = "telegram"\nname = "chat"\nchat = "@alerts_chat"\n'
        f'bot_token = "{BOT_TOKEN}"\n'
    )
    world.write_config(["@deleted_a"], extra=sink, interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select joined from channels where joined"))
    story = await world.server.post(channel, FLAGGED)

    async def alerts_in_chat() -> list[SentMessage]:
        return world.server.sent_messages(group)

    await wait_until(alerts_in_chat, within=20)
    [alert] = world.server.sent_messages(group)
    assert not alert.edited
    await world.server.delete(channel, [story])

    async def edited_alert() -> bool:
        return world.server.sent_messages(group)[0].edited

    await wait_until(edited_alert, within=20)
    assert await world.stop_daemon(daemon) == 0
    [edited] = world.server.sent_messages(group)
    assert edited.id == alert.id
    assert edited.text.startswith("Deleted by the channel (")
    assert FLAGGED in edited.text
    assert await world.scalar(f"select deleted_at from posts where message_id = {story}")
    states = await world.query("select kind, state from alerts where sink = 'chat' order by id")
    assert [tuple(s) for s in states] == [("post", "sent"), ("deletion", "sent")]


async def test_deletion_found_by_the_sweep_reaches_the_webhook(
    world: MonitorWorld, receiver: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion found by the re-read sends a `deleted` event; flagged and export mark it."""
    channel = world.server.add_channel(username="deleted_b", title="Deleted B")
    story = await world.server.post(channel, FLAGGED)
    await world.server.post(channel, PLAIN)
    hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{receiver.url}/hook"\n'
    world.write_config(["@deleted_b"], extra=hook)
    await world.login()
    await world.sweep()
    await world.server.delete(channel, [story])
    await world.sweep()
    bodies = [json.loads(r.body) for r in receiver.wait_until(lambda rs: len(rs) == 2)]
    assert [b["event"] for b in bodies] == ["alert", "deleted"]
    assert bodies[1]["alert_id"] == bodies[0]["alert_id"]
    assert bodies[1]["post"]["deleted_at"]
    assert bodies[1]["text"].startswith("[Deleted by the channel (")
    assert receiver.requests[1].headers["X-Monitor-Event"] == "deleted"
    await world.sweep()  # recorded once: no second event
    assert len(receiver.requests) == 2

    code, out, _ = await monitor(world, "flagged", "--format", "json")
    assert code == 0
    [row] = json.loads(out)
    assert row["message_id"] == story
    assert row["deleted_at"]
    code, out, _ = await monitor(world, "export", "--all")
    rows = {int(r["message_id"]): r for r in csv.DictReader(io.StringIO(out))}
    assert rows[story]["deleted_at"]
    assert rows[story + 1]["deleted_at"] == ""
    monkeypatch.setenv("COLUMNS", "200")  # the table's text column in one piece
    code, out, _ = await monitor(world, "flagged")
    assert "[deleted by the channel 20" in out


async def test_deletion_of_a_post_not_yet_alerted_is_in_its_alert(
    world: MonitorWorld, receiver: RecordingServer
) -> None:
    """An alert still waiting when its post is deleted goes out saying so, and only once."""
    channel = world.server.add_channel(username="deleted_c", title="Deleted C")
    story = await world.server.post(channel, FLAGGED)
    hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{receiver.url}/hook"\n'
    world.write_config(["@deleted_c"], extra=hook + "[delivery]\nbackoff_initial = 1\n")
    await world.login()
    receiver.script(Reply(status=503))
    await world.sweep()  # the alert waits for its retry
    await world.server.delete(channel, [story])

    async def delivered() -> bool:
        await world.sweep()
        return len(receiver.requests) >= 2

    await wait_until(delivered, within=30, interval=0.5)
    await world.sweep()
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["event"] for b in bodies] == ["alert", "alert"]
    assert bodies[1]["text"].startswith("[Deleted by the channel (")
    assert bodies[1]["post"]["deleted_at"]
