"""The dispatcher over a real outbox (SQLite and PostgreSQL) and a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.apprise import AppriseSink
from monitor.alerts.dispatch import Dispatcher
from monitor.alerts.sink import AlertSink
from monitor.alerts.webhook import WebhookSink, verify_signature
from monitor.config import AppriseSinkSettings, DeliverySettings, WebhookSinkSettings
from tests.helpers.http_server import RecordingServer, Reply, serve
from tests.helpers.outbox import Seeder, distinct_text, seeded


class Clock:
    """A clock the test moves by hand, starting at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1, stopped after the test."""
    with serve() as server:
        yield server


@pytest.fixture
async def seeder(database_url: str) -> AsyncIterator[Seeder]:
    """A migrated database (SQLite file or fresh PostgreSQL) with a seeder on it."""
    async with seeded(database_url) as seeder:
        yield seeder


def webhook(server: RecordingServer, name: str = "hook", **settings: Any) -> WebhookSink:
    """Return a webhook sink posting to ``/<name>`` on the test server."""
    values: dict[str, Any] = {
        "kind": "webhook",
        "name": name,
        "url": f"{server.url}/{name}",
        **settings,
    }
    return WebhookSink(WebhookSinkSettings(**values))


def dispatcher(
    seeder: Seeder, *sinks: AlertSink, clock: Clock | None = None, **delivery: Any
) -> Dispatcher:
    """Return a dispatcher for ``sinks`` with jitter at its lowest (real time unless ``clock``)."""
    settings = DeliverySettings(**delivery)
    return Dispatcher(
        seeder.outbox,
        {s.name: s for s in sinks},
        settings,
        clock=clock or (lambda: datetime.now(UTC)),
        jitter=lambda: 0.0,
    )


async def test_delivers_each_alert_once_and_measures_the_duplicate_window(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """Three alerts arrive once each; the window from acceptance to commit stays tiny."""
    for i in range(3):
        await seeder.flag(["hook"], text=distinct_text(i), message_id=i + 1)
    stats = await Dispatcher(
        seeder.outbox, {"hook": webhook(http_server)}, DeliverySettings()
    ).drain()
    requests = http_server.wait_for(3)
    assert sorted(json.loads(r.body)["post"]["message_id"] for r in requests) == [1, 2, 3]
    rows = await seeder.rows()
    assert [(row.state, row.attempts, row.last_error) for row in rows] == [("sent", 1, None)] * 3
    assert stats.sent == 3
    assert len(stats.windows) == 3
    assert max(stats.windows) < 0.5, stats.windows
    for row, request in zip(
        rows, sorted(requests, key=lambda r: json.loads(r.body)["alert_id"]), strict=True
    ):
        assert row.sent_at is not None
        assert 0 <= row.sent_at.timestamp() - request.received_at < 1.0


async def test_500_is_retried_with_backoff(seeder: Seeder, http_server: RecordingServer) -> None:
    """A 500 schedules a retry after the backoff; the retry delivers the same alert."""
    http_server.script(Reply(500, body=b"oops"))
    await seeder.flag(["hook"])
    clock = Clock()
    dispatch = dispatcher(seeder, webhook(http_server), clock=clock, backoff_initial=10)
    await dispatch.drain()
    [row] = await seeder.rows()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error is not None
    assert "HTTP 500" in row.last_error
    assert row.next_attempt_at == clock.now + timedelta(seconds=5)  # 10 s, jitter at its lowest
    clock.advance(4)
    await dispatch.drain()
    assert len(http_server.requests) == 1
    clock.advance(1)
    await dispatch.drain()
    first, second = http_server.wait_for(2)
    assert first.body == second.body
    [row] = await seeder.rows()
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)


async def test_retry_after_is_honoured(seeder: Seeder, http_server: RecordingServer) -> None:
    """A 429 with Retry-After: 7 is retried after exactly seven seconds, not sooner."""
    http_server.script(Reply(429, {"Retry-After": "7"}))
    await seeder.flag(["hook"])
    clock = Clock()
    dispatch = dispatcher(seeder, webhook(http_server), clock=clock)
    await dispatch.drain()
    [row] = await seeder.rows()
    assert row.next_attempt_at == clock.now + timedelta(seconds=7)
    clock.advance(6.9)
    await dispatch.drain()
    assert len(http_server.requests) == 1
    clock.advance(0.1)
    await dispatch.drain()
    http_server.wait_for(2)
    assert [row.state for row in await seeder.rows()] == ["sent"]


async def test_400_fails_permanently_at_once(seeder: Seeder, http_server: RecordingServer) -> None:
    """A 400 marks the alert failed after one attempt, with the receiver's answer."""
    http_server.script(Reply(400, body=b"schema mismatch"))
    await seeder.flag(["hook"])
    stats = await dispatcher(seeder, webhook(http_server)).drain()
    [row] = await seeder.rows()
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error is not None
    assert "HTTP 400: schema mismatch" in row.last_error
    assert stats.failed == 1


async def test_max_attempts_then_failed(seeder: Seeder, http_server: RecordingServer) -> None:
    """After max_attempts failures the alert is failed with the last error."""
    http_server.script(Reply(503), Reply(503), Reply(502, body=b"last"))
    await seeder.flag(["hook"])
    clock = Clock()
    dispatch = dispatcher(seeder, webhook(http_server, max_attempts=3), clock=clock)
    for _ in range(3):
        await dispatch.drain()
        clock.advance(3600)
    [row] = await seeder.rows()
    assert (row.state, row.attempts) == ("failed", 3)
    assert row.last_error is not None
    assert "HTTP 502: last" in row.last_error
    await dispatch.drain()
    assert len(http_server.requests) == 3


async def test_a_stuck_sink_never_blocks_another(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """While one sink hangs on its receiver, the other delivers all of its alerts."""
    http_server.script(Reply(200, stall=30), path="/slow")
    for i in range(3):
        await seeder.flag(["slow", "fast"], text=distinct_text(i), message_id=i + 1)
    dispatch = dispatcher(
        seeder, webhook(http_server, "slow", timeout=25), webhook(http_server, "fast")
    )
    stop = asyncio.Event()
    running = asyncio.create_task(dispatch.run(stop))
    # The server's wait blocks its caller: run it in a thread so the lanes keep going.
    await asyncio.to_thread(
        http_server.wait_until, lambda rs: [r.path for r in rs].count("/fast") == 3
    )
    assert http_server.paths().count("/slow") == 1
    slow_rows = [row for row in await seeder.rows() if row.sink == "slow"]
    assert [row.state for row in slow_rows] == ["pending"] * 3
    stop.set()
    http_server.released.set()  # the receiver answers: the slow lane finishes its attempt
    await asyncio.wait_for(running, 15)
    states = {(row.sink, row.state) for row in await seeder.rows()}
    assert ("fast", "pending") not in states


async def test_burst_of_one_hundred_folds_into_at_most_25_messages(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """100 alerts to one chat arrive as at most 25 messages that account for every post."""
    for i in range(100):
        await seeder.flag(["team"], text=distinct_text(i), message_id=i + 1)
    url = SecretStr(f"json://127.0.0.1:{http_server.port}/team")
    sink = AppriseSink(AppriseSinkSettings(kind="apprise", name="team", urls=[url]))
    stats = await dispatcher(seeder, sink, per_chat_interval=0.01).drain()
    requests = http_server.wait_for(1)
    assert len(requests) <= 25
    text = "\n".join(json.loads(r.body)["message"] for r in requests)
    for i in range(1, 101):
        assert (
            f"https://t.me/chan1001/{i}\n" in text + "\n" or f"https://t.me/chan1001/{i} " in text
        )
    assert any("more flagged posts in the last" in json.loads(r.body)["title"] for r in requests)
    assert {row.state for row in await seeder.rows()} == {"sent", "digested"}
    assert stats.sent + stats.digested == 100


async def test_five_forwards_are_one_alert_naming_five_sources(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """Five channels forwarding one story produce one alert that lists all five."""
    for i in range(5):
        await seeder.flag(["hook"], telegram_id=2000 + i, message_id=10 + i, forward_from="9/5")
    await dispatcher(seeder, webhook(http_server)).drain()
    [request] = http_server.wait_for(1)
    body = json.loads(request.body)
    assert sorted(s["channel_id"] for s in body["sources"]) == [2000, 2001, 2002, 2003, 2004]
    assert "Sources (5):" in body["text"]
    assert sorted(row.state for row in await seeder.rows()) == ["merged"] * 4 + ["sent"]


async def test_later_sources_update_the_first_alert(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """Forwards arriving after the first alert went out update it instead of alerting again."""
    dispatch = dispatcher(seeder, webhook(http_server))
    await seeder.flag(["hook"], telegram_id=2000, message_id=10)
    await dispatch.drain()
    for i in range(1, 5):
        await seeder.flag(["hook"], telegram_id=2000 + i, message_id=10 + i, forward_from="2000/10")
    await dispatch.drain()
    requests = http_server.wait_for(5)
    bodies = [json.loads(r.body) for r in requests]
    assert [b["event"] for b in bodies] == ["alert"] + ["update"] * 4
    assert {b["alert_id"] for b in bodies} == {bodies[0]["alert_id"]}
    assert [len(b["sources"]) for b in bodies] == [1, 2, 3, 4, 5]
    assert sorted(row.state for row in await seeder.rows()) == ["merged"] * 4 + ["sent"]


async def test_quiet_hours_hold_low_scores_for_one_digest(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """During quiet hours severe alerts go out; the rest arrive as one digest when they end."""
    zone = ZoneInfo("Europe/Kyiv")
    local = datetime.now(UTC).astimezone(zone)
    quiet = f"{(local.hour - 1) % 24:02d}:00-{(local.hour + 2) % 24:02d}:00"
    await seeder.flag(["hook"], text=distinct_text(1), message_id=1, score=0.95)
    await seeder.flag(["hook"], text=distinct_text(2), message_id=2, score=0.5)
    await seeder.flag(["hook"], text=distinct_text(3), message_id=3, score=0.6)
    clock = Clock()
    sink = webhook(http_server, quiet_hours=quiet, quiet_min_score=0.9)
    dispatch = dispatcher(seeder, sink, clock=clock, timezone="Europe/Kyiv")
    await dispatch.drain()
    [severe] = http_server.wait_for(1)
    assert json.loads(severe.body)["score"] == 0.95
    clock.advance(3 * 3600)
    await dispatch.drain()
    _, digest = http_server.wait_for(2)
    body = json.loads(digest.body)
    assert body["event"] == "digest"
    assert body["heading"] == "2 flagged posts during quiet hours:"
    assert sorted(a["post"]["message_id"] for a in body["alerts"]) == [2, 3]


async def test_operational_notices_are_delivered(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """A notice about the service itself reaches the sink as event notice."""
    await seeder.repository.add_operational_alert(["hook"], "channel @gone went private", "gone")
    await dispatcher(seeder, webhook(http_server)).drain()
    [request] = http_server.wait_for(1)
    body = json.loads(request.body)
    assert (body["event"], body["text"]) == ("notice", "channel @gone went private")


async def test_alerts_of_an_unconfigured_sink_are_named_at_start(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """Alerts waiting for a sink the config no longer has are reported, with the way out."""
    await seeder.flag(["hook"], message_id=1)
    await seeder.flag(["old_chat"], text=distinct_text(2), message_id=2)
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(dispatcher(seeder, webhook(http_server)).run(stop))
        await asyncio.to_thread(http_server.wait_for, 1)
        stop.set()
        await running
    [warning] = [e for e in logs if e["event"] == "alerts_for_unconfigured_sink"]
    assert (warning["sink"], warning["waiting"]) == ("old_chat", 1)
    assert "monitor alerts drop --sink old_chat" in warning["fix"]


async def test_delivery_key_is_the_alerts_stored_uuid_signed_and_the_same_on_retry(
    seeder: Seeder, http_server: RecordingServer
) -> None:
    """X-Monitor-Delivery is each alert's own UUID from the database, unique across alerts and
    databases, repeated on the retry, and covered by the signature."""
    http_server.script(Reply(500, body=b"oops"))
    await seeder.flag(["hook"], text=distinct_text(1), message_id=1)
    await seeder.flag(["hook"], text=distinct_text(2), message_id=2)
    clock = Clock()
    dispatch = dispatcher(seeder, webhook(http_server, secret="k"), clock=clock)
    await dispatch.drain()
    clock.advance(3600)
    await dispatch.drain()
    requests = http_server.wait_for(3)
    stored = await seeder.repository.engine.connect()
    try:
        rows = dict(list(await stored.exec_driver_sql("select id, delivery_id from alerts")))
    finally:
        await stored.close()
    assert len(set(rows.values())) == 2
    for value in rows.values():
        assert str(uuid.UUID(value)) == value
    by_alert = {}
    for request in requests:
        alert_id = json.loads(request.body)["alert_id"]
        key = request.headers["X-Monitor-Delivery"]
        assert key == rows[alert_id]
        by_alert.setdefault(alert_id, set()).add(key)
        assert verify_signature(
            b"k",
            request.headers["X-Monitor-Timestamp"],
            key,
            request.body,
            request.headers["X-Monitor-Signature"],
            now=request.received_at,
        )
    assert sorted(len(keys) for keys in by_alert.values()) == [1, 1]
    assert len(requests) == 3  # one alert failed once, then both went out
