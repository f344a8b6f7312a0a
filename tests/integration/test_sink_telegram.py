"""The telegram sink as a bot, over real MTProto, against the local Telegram test server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from monitor.alerts.dispatch import Dispatcher
from monitor.alerts.format import RenderOptions, render_alert
from monitor.alerts.telegram_bot import TelegramBotSink
from monitor.config import DeliverySettings, TelegramSettings, TelegramSinkSettings
from monitor.errors import AlertError
from monitor.testing.server import TelegramTestServer
from tests.helpers import telegram_server
from tests.helpers.alerts import make_alert, make_post
from tests.helpers.outbox import Seeder, distinct_text, seeded
from tests.helpers.telegram_html import utf16_length
from tests.helpers.telegram_server import BOT_TOKEN

pytestmark = pytest.mark.telegram
tg_server = telegram_server.tg_server  # the shared fixtures, used by this module
telegram = telegram_server.telegram


@pytest.fixture
def group(tg_server: TelegramTestServer) -> Any:
    """A group the alerts bot is a member of."""
    bot = tg_server.add_bot(BOT_TOKEN, "alerts_bot")
    return tg_server.add_group("Alerts", members=[bot], username="alerts_chat")


@pytest.fixture
async def sink(telegram: TelegramSettings, group: Any) -> AsyncIterator[TelegramBotSink]:
    """A bot sink writing to ``@alerts_chat``, disconnected after the test."""
    settings = TelegramSinkSettings(
        kind="telegram", name="chat", chat="@alerts_chat", bot_token=SecretStr(BOT_TOKEN)
    )
    sink = TelegramBotSink(settings, telegram)
    yield sink
    await sink.aclose()


async def test_alert_arrives_formatted(
    tg_server: TelegramTestServer, group: Any, sink: TelegramBotSink
) -> None:
    """The alert reaches the chat with bold matches, a link to the post and every field."""
    post = make_post("Ушёл в СОЧ & <скрылся>, snake_case_name *x*", title="News & Co")
    message = render_alert(make_alert(post), RenderOptions())
    result = await sink.send(make_alert(post), message)
    [sent] = tg_server.sent_messages(group)
    assert sent.text.startswith(
        "desertion · soch-ru · score 0.90\nNews & Co · 2024-05-01 11:03 UTC · ru"
    )
    assert "Ушёл в СОЧ & <скрылся>, snake_case_name *x*" in sent.text
    assert "<strong>СОЧ</strong>" in sent.html
    assert '<a href="https://t.me/news_ch/7">News &amp; Co</a>' in sent.html
    assert result is not None
    assert result.ref == f"@alerts_chat:{sent.id}"


async def test_ten_thousand_characters_arrive_as_valid_messages(
    tg_server: TelegramTestServer,
    group: Any,
    sink: TelegramBotSink,
) -> None:
    """A 10,000-character post, rendered whole, arrives as several messages within the limit."""
    sentence = "Военнослужащий ушёл в СОЧ & <скрылся> под Курском, сообщают источники. "
    text = (sentence * 200)[:10_000]
    alert = make_alert(make_post(text))
    message = render_alert(alert, RenderOptions(html_template="$channel\n$text"))
    result = await sink.send(alert, message)
    sent = tg_server.sent_messages(group)
    assert len(sent) == len(message.html) >= 3
    assert all(utf16_length(m.text) <= 4096 for m in sent)
    assert re.sub(r"\s", "", text) in re.sub(r"\s", "", "".join(m.text for m in sent))
    assert all("<strong>СОЧ</strong>" in m.html for m in sent)
    assert result is not None
    assert result.messages == len(sent)


async def test_update_edits_the_message(
    tg_server: TelegramTestServer, group: Any, sink: TelegramBotSink
) -> None:
    """An update for a story with a new source edits the message already in the chat."""
    alert = make_alert()
    first = await sink.send(alert, render_alert(alert, RenderOptions()))
    assert first is not None
    other = make_post(channel_id=2002, username="other", title="Other")
    grown = make_alert(sources=(other,))
    await sink.send(grown, render_alert(grown, RenderOptions(), update=True, replaces=first.ref))
    [sent] = tg_server.sent_messages(group)
    assert sent.edited
    assert "Sources (2): News Channel, Other" in sent.text


async def test_flood_wait_becomes_retry_after(
    tg_server: TelegramTestServer, sink: TelegramBotSink
) -> None:
    """A FloodWait from Telegram is reported with its seconds, for the dispatcher to honour."""
    tg_server.faults.flood_wait("messages.sendMessage", 7)
    alert = make_alert()
    with pytest.raises(AlertError) as raised:
        await sink.send(alert, render_alert(alert, RenderOptions()))
    assert raised.value.retry_after == 7
    assert not raised.value.permanent


async def test_a_chat_without_the_bot_fails_permanently(
    tg_server: TelegramTestServer,
    telegram: TelegramSettings,
) -> None:
    """Writing to a group the bot is not in is refused for good, not retried."""
    tg_server.add_bot(BOT_TOKEN, "alerts_bot")
    tg_server.add_group("Elsewhere", members=[], username="elsewhere")
    settings = TelegramSinkSettings(
        kind="telegram", name="x", chat="@elsewhere", bot_token=SecretStr(BOT_TOKEN)
    )
    sink = TelegramBotSink(settings, telegram)
    alert = make_alert()
    try:
        with pytest.raises(AlertError, match="ChatWriteForbidden") as raised:
            await sink.send(alert, render_alert(alert, RenderOptions()))
        assert raised.value.permanent
    finally:
        await sink.aclose()


def test_repr_hides_the_token(telegram: TelegramSettings) -> None:
    """The bot token never appears in the sink's repr."""
    settings = TelegramSinkSettings(
        kind="telegram", name="x", chat="@c", bot_token=SecretStr(BOT_TOKEN)
    )
    assert BOT_TOKEN not in repr(TelegramBotSink(settings, telegram))


@pytest.fixture
async def seeder(tmp_path: Path) -> AsyncIterator[Seeder]:
    """A migrated SQLite database with a seeder on it."""
    async with seeded(f"sqlite:///{tmp_path / 'monitor.db'}") as seeder:
        yield seeder


async def test_burst_of_one_hundred_reaches_the_chat_as_at_most_25_messages(
    tg_server: TelegramTestServer,
    group: Any,
    sink: TelegramBotSink,
    seeder: Seeder,
) -> None:
    """100 flagged posts at once reach the chat as at most 25 messages naming every post."""
    for i in range(100):
        await seeder.flag(["chat"], text=distinct_text(i), message_id=i + 1)
    delivery = DeliverySettings(per_chat_interval=0.01)
    stats = await Dispatcher(seeder.outbox, {"chat": sink}, delivery).drain()
    sent = tg_server.sent_messages(group)
    assert len(sent) <= 25
    html = "\n".join(m.html for m in sent)
    for i in range(1, 101):
        assert f'href="https://t.me/chan1001/{i}"' in html
    assert any("more flagged posts in the last" in m.text for m in sent)
    assert stats.sent + stats.digested == 100


async def test_five_forwards_give_one_message_naming_five_sources(
    tg_server: TelegramTestServer,
    group: Any,
    sink: TelegramBotSink,
    seeder: Seeder,
) -> None:
    """One story forwarded by five channels, arriving over time, is one message listing all five."""
    dispatcher = Dispatcher(seeder.outbox, {"chat": sink}, DeliverySettings(per_chat_interval=0))
    await seeder.flag(["chat"], telegram_id=3000, message_id=5)
    await dispatcher.drain()
    for i in range(1, 5):
        await seeder.flag(["chat"], telegram_id=3000 + i, message_id=5, forward_from="3000/5")
        await dispatcher.drain()
    [sent] = tg_server.sent_messages(group)
    assert sent.edited
    assert "Sources (5):" in sent.text
    for i in range(5):
        assert f'href="https://t.me/chan{3000 + i}/5"' in sent.html
