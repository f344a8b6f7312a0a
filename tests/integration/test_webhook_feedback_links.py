"""Webhook alerts carry signed feedback links that name the stored post (real HTTP receiver,
SQLite and PostgreSQL); without [feedback] settings the body has none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from pydantic import SecretStr

from monitor.alerts.format import RenderOptions, render_alert
from monitor.alerts.webhook import WebhookSink
from monitor.config import FeedbackSettings, WebhookSinkSettings
from monitor.feedback_links import verify_feedback
from monitor.storage.feedback import FeedbackStore
from tests.helpers.http_server import RecordingServer, serve
from tests.helpers.outbox import seeded

SECRET = "desk-secret"


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1, stopped after the test."""
    with serve() as server:
        yield server


@pytest.mark.parametrize("with_links", [True, False], ids=["links", "no-links"])
async def test_webhook_alert_links_record_feedback_on_its_post(
    database_url: str, http_server: RecordingServer, with_links: bool
) -> None:
    """Each link verifies to the alert's stored post and its label, and can be recorded."""
    links = FeedbackSettings(public_url="https://desk.example.org", secret=SecretStr(SECRET))
    settings = WebhookSinkSettings(kind="webhook", name="hook", url=http_server.url + "/hook")
    sink = WebhookSink(settings, feedback=links if with_links else FeedbackSettings())
    async with seeded(database_url) as seeder:
        await seeder.flag(["hook"])
        [item] = await seeder.rows()
        assert item.alert is not None
        message = replace(render_alert(item.alert, RenderOptions()), deliveries=("d-1",))
        try:
            await sink.send(item.alert, message)
        finally:
            await sink.aclose()
        [request] = http_server.wait_for(1)
        body = json.loads(request.body)
        if not with_links:
            assert "feedback" not in body
            return
        [post] = await seeder.repository.stored_posts()
        assert sorted(body["feedback"]) == ["confirmed", "false_positive"]
        url = body["feedback"]["false_positive"]
        assert url.startswith("https://desk.example.org/feedback/")
        link = verify_feedback(url.rsplit("/", 1)[1], SECRET)
        assert (link.post_id, link.label) == (post.id, "false_positive")
        store = FeedbackStore(seeder.repository.engine)
        await store.record_feedback(link.post_id, link.label, None, "link")
        assert (await store.feedback_for([post.id]))[post.id].label == "false_positive"
