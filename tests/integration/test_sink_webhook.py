"""The webhook sink against a real HTTP server on 127.0.0.1: signature, retries, refusals."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from monitor.alerts.format import RenderOptions, render_alert, render_digest
from monitor.alerts.webhook import WebhookSink, parse_retry_after, redact_url, verify_signature
from monitor.config import WebhookSinkSettings
from monitor.errors import AlertError
from tests.helpers.alerts import make_alert
from tests.helpers.http_server import RecordingServer, Reply, serve

NOW = 1_714_561_380.0  # 2024-05-01 11:03:00 UTC
SECRET = "s3cret-key"
DELIVERY = "0b7c6a5e-4f7d-4b8e-9a51-2f0d8e6c1a93"  # what the outbox stores with the alert


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1, stopped after the test."""
    with serve() as server:
        yield server


def make_sink(url: str, **settings: Any) -> WebhookSink:
    """Return a webhook sink with a fixed clock."""
    values: dict[str, Any] = {
        "kind": "webhook",
        "name": "hook",
        "url": url,
        "secret": SECRET,
        **settings,
    }
    return WebhookSink(WebhookSinkSettings(**values), clock=lambda: NOW)


async def deliver(sink: WebhookSink, alert_id: int = 42) -> None:
    """Send one rendered alert through ``sink``, with its delivery id as the dispatcher would."""
    alert = make_alert(alert_id=alert_id, sink=sink.name)
    message = replace(render_alert(alert, RenderOptions()), deliveries=(DELIVERY,))
    await sink.send(alert, message)


async def test_signature_covers_timestamp_delivery_and_body(http_server: RecordingServer) -> None:
    """The receiver recomputes the HMAC-SHA256 of timestamp.delivery.body with the secret."""
    await deliver(make_sink(http_server.url + "/hook"))
    [request] = http_server.wait_for(1)
    timestamp = request.headers["X-Monitor-Timestamp"]
    assert timestamp == str(int(NOW))
    assert request.headers["X-Monitor-Delivery"] == DELIVERY
    signed = f"{timestamp}.{DELIVERY}.".encode() + request.body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Monitor-Signature"] == f"sha256={expected}"
    assert verify_signature(
        SECRET.encode(),
        timestamp,
        DELIVERY,
        request.body,
        request.headers["X-Monitor-Signature"],
        now=NOW + 10,
    )


async def test_body_and_headers_follow_the_documented_schema(http_server: RecordingServer) -> None:
    """The POST carries JSON of schema monitor.alert/1 and the event and delivery headers."""
    await deliver(make_sink(http_server.url + "/hook", headers={"Authorization": "Bearer t"}))
    [request] = http_server.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Monitor-Event"] == "alert"
    assert request.headers["X-Monitor-Delivery"] == DELIVERY
    assert request.headers["Authorization"] == "Bearer t"
    body = json.loads(request.body)
    assert body["schema"] == "monitor.alert/1"
    assert body["alert_id"] == 42
    assert body["post"]["link"] == "https://t.me/news_ch/7"


async def test_tampered_or_stale_webhooks_do_not_verify(http_server: RecordingServer) -> None:
    """A changed body or delivery key, a wrong secret or an old timestamp fails verification."""
    await deliver(make_sink(http_server.url + "/hook"))
    [request] = http_server.wait_for(1)
    timestamp, signature = (
        request.headers["X-Monitor-Timestamp"],
        request.headers["X-Monitor-Signature"],
    )
    key, body = SECRET.encode(), request.body
    assert verify_signature(key, timestamp, DELIVERY, body, signature, now=NOW)
    assert not verify_signature(key, timestamp, DELIVERY, body + b" ", signature, now=NOW)
    assert not verify_signature(key, timestamp, str(uuid.uuid4()), body, signature, now=NOW)
    assert not verify_signature(b"wrong", timestamp, DELIVERY, body, signature, now=NOW)
    assert not verify_signature(key, timestamp, DELIVERY, body, signature, now=NOW + 301)
    assert not verify_signature(key, "soon", DELIVERY, body, signature, now=NOW)


async def test_unsigned_without_a_secret(http_server: RecordingServer) -> None:
    """Without a secret there is a timestamp but no signature header."""
    await deliver(make_sink(http_server.url + "/hook", secret=None))
    [request] = http_server.wait_for(1)
    assert "X-Monitor-Signature" not in request.headers
    assert "X-Monitor-Timestamp" in request.headers


async def test_500_is_retried_and_the_retry_is_delivered(http_server: RecordingServer) -> None:
    """A 500 raises a retryable error; the next attempt delivers the same alert."""
    http_server.script(Reply(500, body=b"database down"))
    sink = make_sink(http_server.url + "/hook")
    with pytest.raises(AlertError) as raised:
        await deliver(sink)
    assert not raised.value.permanent
    assert raised.value.retry_after is None
    assert "HTTP 500" in str(raised.value)
    assert "database down" in str(raised.value)
    await deliver(sink)
    first, second = http_server.wait_for(2)
    assert first.body == second.body
    assert first.headers["X-Monitor-Delivery"] == second.headers["X-Monitor-Delivery"] == DELIVERY


@pytest.mark.parametrize(
    ("reply", "delay"),
    [
        pytest.param(Reply(429, {"Retry-After": "7"}), 7.0, id="429-seconds"),
        pytest.param(Reply(503, {"Retry-After": "120"}), 120.0, id="503-seconds"),
        pytest.param(
            Reply(
                429,
                {
                    "Retry-After": format_datetime(
                        datetime.fromtimestamp(NOW + 90, UTC), usegmt=True
                    )
                },
            ),
            90.0,
            id="429-http-date",
        ),
        pytest.param(Reply(429), None, id="429-without-header"),
        pytest.param(Reply(429, {"Retry-After": "soon"}), None, id="429-unparseable"),
    ],
)
async def test_retry_after_is_reported(
    http_server: RecordingServer, reply: Reply, delay: float | None
) -> None:
    """429 and 5xx are retryable and carry the Retry-After delay the receiver asked for."""
    http_server.script(reply)
    with pytest.raises(AlertError) as raised:
        await deliver(make_sink(http_server.url + "/hook"))
    assert not raised.value.permanent
    assert raised.value.retry_after == delay


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
async def test_other_4xx_fail_permanently(http_server: RecordingServer, status: int) -> None:
    """A 4xx other than 408/429 means retrying cannot help."""
    http_server.script(Reply(status, body=b"bad payload"))
    with pytest.raises(AlertError) as raised:
        await deliver(make_sink(http_server.url + "/hook"))
    assert raised.value.permanent
    assert f"HTTP {status}" in str(raised.value)


async def test_redirects_are_not_followed(http_server: RecordingServer) -> None:
    """A redirect fails permanently and the POST is not replayed elsewhere."""
    http_server.script(Reply(302, {"Location": http_server.url + "/elsewhere"}))
    with pytest.raises(AlertError, match="redirects are not followed") as raised:
        await deliver(make_sink(http_server.url + "/hook"))
    assert raised.value.permanent
    assert [r.path for r in http_server.requests] == ["/hook"]


async def test_timeout_is_retryable(http_server: RecordingServer) -> None:
    """A receiver slower than the timeout gives a retryable error, not a hang."""
    http_server.script(Reply(200, stall=5.0))
    with pytest.raises(AlertError, match="timed out") as raised:
        await deliver(make_sink(http_server.url + "/hook", timeout=0.2))
    assert not raised.value.permanent


async def test_connection_refused_is_retryable() -> None:
    """Nobody listening gives a retryable error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AlertError, match=r"POST http://127\.0\.0\.1") as raised:
        await deliver(make_sink(f"http://127.0.0.1:{port}/hook"))
    assert not raised.value.permanent


async def test_digest_is_one_post_with_every_alert(http_server: RecordingServer) -> None:
    """A digest is delivered as one POST that lists every folded alert and delivery id."""
    sink = make_sink(http_server.url + "/hook")
    alerts = [make_alert(alert_id=i) for i in (3, 4, 5)]
    message = render_digest(
        alerts, RenderOptions(), heading="3 more flagged posts in the last minute:"
    )
    deliveries = tuple(str(uuid.uuid4()) for _ in alerts)
    await sink.send(alerts[0], replace(message, deliveries=deliveries))
    [request] = http_server.wait_for(1)
    assert request.headers["X-Monitor-Event"] == "digest"
    assert request.headers["X-Monitor-Delivery"] == ",".join(deliveries)
    assert [a["alert_id"] for a in json.loads(request.body)["alerts"]] == [3, 4, 5]


async def test_a_message_from_outside_the_outbox_gets_a_fresh_uuid(
    http_server: RecordingServer,
) -> None:
    """``monitor test-alert`` sends no stored alert: its key is a new UUID each time."""
    sink = make_sink(http_server.url + "/hook")
    alert = make_alert(alert_id=0)
    for _ in range(2):
        await sink.send(alert, render_alert(alert, RenderOptions()))
    first, second = http_server.wait_for(2)
    keys = [request.headers["X-Monitor-Delivery"] for request in (first, second)]
    assert keys[0] != keys[1]
    assert [str(uuid.UUID(key)) for key in keys] == keys


def test_repr_and_errors_hide_secrets() -> None:
    """Neither the repr nor the redacted URL shows the secret, a password or a query token."""
    sink = make_sink(
        "https://user:pw@hooks.example.com:8443/in?token=abc#x",
        headers={"Authorization": "Bearer zzz"},
    )
    text = repr(sink)
    for secret in (SECRET, "pw", "abc", "zzz"):
        assert secret not in text
    assert "https://hooks.example.com:8443/in" in text
    assert redact_url("http://h/p?q=1") == "http://h/p"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="missing"),
        pytest.param(" 30 ", 30.0, id="seconds"),
        pytest.param("Wed, 01 May 2024 11:04:00 GMT", 60.0, id="http-date"),
        pytest.param("Wed, 01 May 2024 11:00:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("-5", None, id="negative"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After parses as seconds or as an HTTP date."""
    assert parse_retry_after(value, datetime.fromtimestamp(NOW, UTC)) == expected
