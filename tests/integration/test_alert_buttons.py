"""Feedback from the alert: the bot's alert carries buttons, and a press on the local Telegram
test server is recorded in the database (SQLite and PostgreSQL) and shown on the message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from monitor.alerts.buttons import button_data
from monitor.alerts.format import RenderOptions, render_alert
from monitor.alerts.presses import PressRecorder
from monitor.alerts.telegram_bot import TelegramBotSink
from monitor.config import TelegramSettings, TelegramSinkSettings
from monitor.storage.feedback import FeedbackStore
from monitor.testing.server import TelegramTestServer
from tests.helpers import telegram_server
from tests.helpers.outbox import Seeder, seeded
from tests.helpers.telegram_server import BOT_TOKEN, wait_until

pytestmark = pytest.mark.telegram
tg_server = telegram_server.tg_server  # the shared fixtures, used by this module
telegram = telegram_server.telegram


@pytest.fixture
def people(tg_server: TelegramTestServer) -> tuple[Any, Any]:
    """The alerts group (with the bot and an analyst, @ann) and the analyst."""
    bot = tg_server.add_bot(BOT_TOKEN, "alerts_bot")
    ann = tg_server.add_user(phone="+99966 1 0009", first_name="Ann", username="ann")
    group = tg_server.add_group("Alerts", members=[bot, ann], username="alerts_chat")
    return group, ann


@pytest.fixture
async def seeder(database_url: str) -> AsyncIterator[Seeder]:
    """A migrated database with one flagged post and its alert row for the sink ``chat``."""
    async with seeded(database_url) as made:
        await made.flag(["chat"])
        yield made


@pytest.fixture
async def sink(
    telegram: TelegramSettings, people: tuple[Any, Any], seeder: Seeder
) -> AsyncIterator[TelegramBotSink]:
    """The bot sink for ``@alerts_chat``, hearing presses through the real recorder."""
    settings = TelegramSinkSettings(
        kind="telegram", name="chat", chat="@alerts_chat", bot_token=SecretStr(BOT_TOKEN)
    )
    made = TelegramBotSink(settings, telegram)
    made.listen(PressRecorder(FeedbackStore(seeder.repository.engine)).record)
    yield made
    await made.aclose()


async def _send(seeder: Seeder, sink: TelegramBotSink) -> tuple[int, int]:
    """Send the seeded alert; return its alert id and the chat message id."""
    [item] = await seeder.rows()
    assert item.alert is not None
    result = await sink.send(item.alert, render_alert(item.alert, RenderOptions()))
    assert result is not None
    return item.alert.alert_id, int(result.ref.rsplit(":", 1)[1])


async def test_a_press_is_recorded_and_shown_on_the_alert(
    tg_server: TelegramTestServer, people: tuple[Any, Any], seeder: Seeder, sink: TelegramBotSink
) -> None:
    """ "False positive" pressed by @ann: stored with who, answered, the keyboard marks it."""
    group, ann = people
    alert_id, message_id = await _send(seeder, sink)
    [sent] = tg_server.sent_messages(group)
    assert [text for text, _ in sent.buttons[0]] == [
        "✅ Confirmed",
        "❌ False positive",
        "🔇 Mute channel 24 h",
    ]
    store = FeedbackStore(seeder.repository.engine)
    query = tg_server.press_button(group, message_id, button_data("false_positive", alert_id), ann)
    await wait_until(lambda: tg_server.callback_answer(query) is not None)
    assert tg_server.callback_answer(query) == "Recorded: false positive"
    [post] = await seeder.repository.stored_posts()
    [(label, who)] = [(f.label, f.who) for f in await store.feedback_history(post.id)]
    assert (label, who) == ("false_positive", "telegram:@ann")
    await wait_until(lambda: "@ann" in str(tg_server.sent_messages(group)[0].buttons))
    [shown] = tg_server.sent_messages(group)
    assert shown.buttons[0][1][0] == "❌ False positive · @ann"
    assert shown.text == sent.text  # the alert itself is unchanged


async def test_mute_button_mutes_the_posts_channel_for_a_day(
    tg_server: TelegramTestServer, people: tuple[Any, Any], seeder: Seeder, sink: TelegramBotSink
) -> None:
    """ "Mute channel 24 h" makes a 24-hour channel mute by @ann, shown on the button."""
    group, ann = people
    alert_id, message_id = await _send(seeder, sink)
    query = tg_server.press_button(group, message_id, button_data("mute", alert_id), ann)
    await wait_until(lambda: tg_server.callback_answer(query) is not None)
    [mute] = await FeedbackStore(seeder.repository.engine).active_mutes()
    assert (mute.kind, mute.target, mute.who) == ("channel", "chan1001", "telegram:@ann")
    assert mute.until is not None
    assert round((mute.until - mute.created_at).total_seconds()) == 24 * 3600
    await wait_until(lambda: "Muted" in str(tg_server.sent_messages(group)[0].buttons))


async def test_a_press_naming_another_alert_records_nothing(
    tg_server: TelegramTestServer, people: tuple[Any, Any], seeder: Seeder, sink: TelegramBotSink
) -> None:
    """A forged press whose data names an alert this message is not records nothing."""
    group, ann = people
    alert_id, message_id = await _send(seeder, sink)
    await seeder.outbox.finish([alert_id], "sent", seeder_now(), external_id="@alerts_chat:999")
    query = tg_server.press_button(group, message_id, button_data("confirmed", alert_id), ann)
    await wait_until(lambda: tg_server.callback_answer(query) is not None)
    assert tg_server.callback_answer(query) == "This alert is not known here; nothing was recorded"
    [post] = await seeder.repository.stored_posts()
    assert await FeedbackStore(seeder.repository.engine).feedback_for([post.id]) == {}


def seeder_now() -> Any:
    """Now, aware (the outbox takes aware datetimes)."""
    import datetime as dt

    return dt.datetime.now(dt.UTC)
