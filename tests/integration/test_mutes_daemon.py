"""Mutes in the running daemon: a muted channel's stories are stored but not alerted, at once,
without a restart, while other channels still alert (local Telegram server, both databases)."""

from __future__ import annotations

import asyncio

import pytest

from monitor.storage.engine import create_engine
from monitor.storage.feedback import FeedbackStore
from monitor.testing.world import SentMessage
from tests.helpers.cli import invoke
from tests.helpers.monitor_world import MonitorWorld, wait_until
from tests.helpers.telegram_server import BOT_TOKEN

pytestmark = pytest.mark.telegram

FLAGGED = "Двое дезертиров задержаны военной полицией под Курском"


async def _alerts_of(world: MonitorWorld, channel: str, message_id: int) -> int:
    return int(
        await world.scalar(
            "select count(*) from alerts join posts on posts.id = alerts.post_id"
            " join channels on channels.id = posts.channel_id"
            f" where channels.username = '{channel}' and posts.message_id = {message_id}"
        )
    )


async def _flagged(world: MonitorWorld, channel: str, message_id: int) -> bool:
    return bool(
        await world.scalar(
            "select count(*) from posts join channels on channels.id = posts.channel_id"
            f" where channels.username = '{channel}' and posts.message_id = {message_id}"
            " and posts.flagged"
        )
    )


async def test_a_channel_muted_while_the_daemon_runs_stops_alerting(world: MonitorWorld) -> None:
    """Muted: stored and flagged, no alert; the other channel alerts; undone: alerts again."""
    quiet = world.server.add_channel(username="mute_a", title="Mute A")
    loud = world.server.add_channel(username="mute_b", title="Mute B")
    world.write_config(["@mute_a", "@mute_b"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) = 2 from channels where joined"))
    store = FeedbackStore(create_engine(world.database_url))
    try:
        mute = await store.mute("channel", "@mute_a", 24, "test")
        held = await world.server.post(quiet, FLAGGED)
        told = await world.server.post(loud, FLAGGED)
        await wait_until(lambda: _alerts_of(world, "mute_b", told))
        await wait_until(lambda: _flagged(world, "mute_a", held))
        assert await _alerts_of(world, "mute_a", held) == 0
        await store.undo_mute(mute.id)
        again = await world.server.post(quiet, FLAGGED + " снова")
        await wait_until(lambda: _alerts_of(world, "mute_a", again))
    finally:
        await store.engine.dispose()
    assert await world.stop_daemon(daemon) == 0


async def test_a_rule_muted_from_the_cli_holds_back_its_alerts(world: MonitorWorld) -> None:
    """`monitor mute rule` while the daemon runs: the rule's flags are stored, not alerted."""
    channel = world.server.add_channel(username="mute_c", title="Mute C")
    world.write_config(["@mute_c"], interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
    result = await asyncio.to_thread(
        invoke, ["mute", "rule", "test-desertion", "--config", str(world.config_path)]
    )
    assert result.code == 0, result.stderr
    held = await world.server.post(channel, FLAGGED)
    await wait_until(lambda: _flagged(world, "mute_c", held))
    assert await _alerts_of(world, "mute_c", held) == 0
    assert await world.stop_daemon(daemon) == 0


async def test_the_alerts_mute_button_stops_the_running_daemon_alerting(
    world: MonitorWorld,
) -> None:
    """A press of "mute channel 24 h" under a bot's alert: the next story is stored, not sent."""
    bot = world.server.add_bot(BOT_TOKEN, "alerts_bot")
    ann = world.server.add_user(phone="+99966 1 0009", first_name="Ann", username="ann")
    group = world.server.add_group("Alerts", members=[bot, ann], username="alerts_chat")
    channel = world.server.add_channel(username="mute_d", title="Mute D")
    sink = (
        '[[alerts]]\nkind = "telegram"\nname = "chat"\nchat = "@alerts_chat"\n'
        f'bot_token = "{BOT_TOKEN}"\n'
    )
    world.write_config(["@mute_d"], extra=sink, interval=3600)
    await world.login()
    daemon = world.start_daemon()
    await wait_until(lambda: world.scalar("select count(*) from channels where joined"))
    await world.server.post(channel, FLAGGED)

    async def sent() -> list[SentMessage]:
        return world.server.sent_messages(group)

    [alert] = await wait_until(sent, within=20)
    mute = next(data for text, data in alert.buttons[0] if text.startswith("🔇"))
    query = world.server.press_button(group, alert.id, mute, ann)

    async def answered() -> str | None:
        return world.server.callback_answer(query)

    assert (await wait_until(answered)).startswith("Channel muted for 24 h")
    held = await world.server.post(channel, FLAGGED + " снова")
    await wait_until(lambda: _flagged(world, "mute_d", held))
    assert await _alerts_of(world, "mute_d", held) == 0
    assert await world.scalar("select who from mutes") == "telegram:@ann"
    assert await world.stop_daemon(daemon) == 0
    assert len(world.server.sent_messages(group)) == 1
