"""Live updates and catching up: pushed channel updates, differences, withheld pushes."""

from __future__ import annotations

from typing import Any

import pytest
from telethon import events

from monitor.testing.server import TelegramTestServer
from tests.helpers.telegram_server import wait_until

pytestmark = pytest.mark.telegram


async def joined_channel(server: TelegramTestServer, client: Any, username: str) -> Any:
    """A public channel the client has joined (and whose pts it knows from one live post)."""
    from telethon.tl.functions.channels import JoinChannelRequest

    channel = server.add_channel(username=username, title=username)
    await client(JoinChannelRequest(username))
    return channel


async def test_new_and_edited_messages_are_pushed(
    tg_server: TelegramTestServer, client: Any
) -> None:
    """events.NewMessage and events.MessageEdited fire for a joined channel's posts."""
    channel = await joined_channel(tg_server, client, "live_test")
    new: list[str] = []
    edited: list[str] = []
    client.add_event_handler(
        lambda e: new.append(e.raw_text), events.NewMessage(chats=[channel.id])
    )
    client.add_event_handler(lambda e: edited.append(e.raw_text), events.MessageEdited())
    first = await tg_server.post(channel, "first post")
    await tg_server.post(channel, "second post")
    await wait_until(lambda: new == ["first post", "second post"])
    await tg_server.edit(channel, first, "first post, corrected")
    await wait_until(lambda: edited == ["first post, corrected"])


async def test_deleted_messages_are_pushed(tg_server: TelegramTestServer, client: Any) -> None:
    """events.MessageDeleted carries the deleted ids."""
    channel = await joined_channel(tg_server, client, "delete_test")
    deleted: list[int] = []
    client.add_event_handler(
        lambda e: deleted.extend(e.deleted_ids), events.MessageDeleted(chats=[channel.id])
    )
    ids = [await tg_server.post(channel, f"post {n}") for n in range(3)]
    await tg_server.delete(channel, ids[:2])
    await wait_until(lambda: deleted == ids[:2])


async def test_not_joined_channel_gets_no_pushes(
    tg_server: TelegramTestServer, client: Any
) -> None:
    """Posts in a channel the account did not join are not pushed, but history has them."""
    joined = await joined_channel(tg_server, client, "joined_test")
    other = tg_server.add_channel(username="other_test", title="Other")
    seen: list[int] = []
    client.add_event_handler(lambda e: seen.append(e.chat_id), events.NewMessage())
    await tg_server.post(other, "not for you")
    await tg_server.post(joined, "for you")
    await wait_until(lambda: len(seen) == 1)
    assert seen == [-1000000000000 - joined.id]
    [post] = await client.get_messages("@other_test", limit=1)
    assert post.text == "not for you"


async def test_catch_up_after_disconnect(tg_server: TelegramTestServer, client: Any) -> None:
    """catch_up() after a reconnect delivers what was posted while the client was away."""
    channel = await joined_channel(tg_server, client, "catchup_test")
    texts: list[str] = []
    client.add_event_handler(lambda e: texts.append(e.raw_text), events.NewMessage())
    await tg_server.post(channel, "before")
    await wait_until(lambda: texts == ["before"])
    await client.disconnect()
    for number in range(3):
        await tg_server.post(channel, f"while away {number}")
    await client.connect()
    await client.catch_up()
    await wait_until(lambda: texts == ["before", "while away 0", "while away 1", "while away 2"])


async def test_withheld_updates_arrive_through_difference(
    tg_server: TelegramTestServer, client: Any
) -> None:
    """Withheld posts are not pushed; the next live post exposes the gap and they follow."""
    channel = await joined_channel(tg_server, client, "withheld_test")
    texts: list[str] = []
    client.add_event_handler(lambda e: texts.append(e.raw_text), events.NewMessage())
    await tg_server.post(channel, "live")
    await wait_until(lambda: texts == ["live"])
    tg_server.faults.withhold_updates(channel)
    await tg_server.post(channel, "quiet 1")
    await tg_server.post(channel, "quiet 2")
    history = await client.get_messages("@withheld_test", limit=2)
    assert [m.text for m in history] == ["quiet 2", "quiet 1"]
    assert texts == ["live"]
    tg_server.faults.release_updates(channel)
    await tg_server.post(channel, "loud")
    await wait_until(lambda: sorted(texts) == ["live", "loud", "quiet 1", "quiet 2"])
    assert "updates.getChannelDifference" in {r.method for r in tg_server.request_log}


async def test_too_long_channel_difference(tg_server: TelegramTestServer, client: Any) -> None:
    """More than 100 missed posts answer channelDifferenceTooLong: no events, pts jumps."""
    channel = await joined_channel(tg_server, client, "toolong_test")
    texts: list[str] = []
    client.add_event_handler(lambda e: texts.append(e.raw_text), events.NewMessage())
    await tg_server.post(channel, "start")
    await wait_until(lambda: texts == ["start"])
    await client.disconnect()
    for number in range(120):
        await tg_server.post(channel, f"missed {number}")
    await client.connect()
    await client.catch_up()
    await wait_until(
        lambda: any(r.method == "updates.getChannelDifference" for r in tg_server.request_log)
    )
    await tg_server.post(channel, "after the gap")
    await wait_until(lambda: texts[-1:] == ["after the gap"])
    assert texts == ["start", "after the gap"]
