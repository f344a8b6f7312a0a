"""The ``webhook`` sink: an HTTP POST of the alert's JSON body, signed with HMAC-SHA256.

Request: ``POST <url>`` with the body described in ``monitor.alerts.format`` and headers

* ``Content-Type: application/json; charset=utf-8``
* ``X-Monitor-Event``: ``alert``, ``update``, ``deleted`` (the channel deleted an alerted
  post), ``digest`` or ``notice``
* ``X-Monitor-Delivery``: the idempotency key: the delivery ids (random UUIDs stored with
  each alert, unique across databases) of the alerts the body accounts for, comma-separated
  for a digest. The same key comes back on every retry, so a receiver drops a duplicate.
* ``X-Monitor-Timestamp``: Unix seconds when this attempt was signed
* ``X-Monitor-Signature: sha256=<hex>`` when a secret is set: the HMAC-SHA256, keyed with the
  secret, of ``<timestamp>.<delivery>.<body>`` (the timestamp header, a dot, the delivery
  header, a dot, the raw body bytes). Signing the timestamp stops replays and signing the
  delivery key stops a replayed body from passing as a new delivery: a receiver recomputes
  the HMAC over what it got, compares it in constant time, and rejects a timestamp more than
  a few minutes old (``verify_signature`` does all three)
* the ``headers`` from the config.

With ``[feedback] public_url`` and ``secret`` set, the body of an ``alert`` or ``update``
gains ``"feedback": {"confirmed": URL, "false_positive": URL}``: signed links (see
``monitor.feedback_links``) that record that judgement of the post on the web desk.

Response: any 2xx is success. 429, 5xx (and 408) are retried later, honouring
``Retry-After`` (seconds or an HTTP date). Redirects are not followed, and every other
status fails permanently. Timeouts and connection errors are retried.

The POST goes through one ``httpx.AsyncClient`` per sink, opened on the first send and closed
by ``aclose``: its connections are kept alive between alerts, and ``timeout`` bounds the whole
request (connect, send, the reply's headers and first bytes), however slowly a receiver
drips its answer. This module must not retry, sleep or touch the outbox (the dispatcher
does), and must not show the secret, the configured headers, or the URL's query and password
in a repr or an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import Config, FeedbackSettings, WebhookSinkSettings
from monitor.errors import AlertError
from monitor.feedback_links import LINK_LABELS, feedback_url
from monitor.models import Alert

SIGNATURE_HEADER = "X-Monitor-Signature"
DELIVERY_HEADER = "X-Monitor-Delivery"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
RETRYABLE = frozenset({408, 429})
SIGNATURE_TOLERANCE = 300.0


def sign(secret: bytes, timestamp: str, delivery: str, body: bytes) -> str:
    """Return the signature header: ``sha256=`` and the HMAC of ``timestamp.delivery.body``."""
    signed = f"{timestamp}.{delivery}.".encode() + body
    return f"sha256={hmac.new(secret, signed, hashlib.sha256).hexdigest()}"


def verify_signature(
    secret: bytes,
    timestamp: str,
    delivery: str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """Return whether a received webhook is authentic and fresh (for receivers and tests).

    Args:
        secret: the shared secret.
        timestamp: the ``X-Monitor-Timestamp`` header.
        delivery: the ``X-Monitor-Delivery`` header (the idempotency key).
        body: the raw request body.
        signature: the ``X-Monitor-Signature`` header.
        now: the receiver's current Unix time.
        tolerance: how many seconds old (or ahead) the timestamp may be.
    """
    try:
        age = abs(now - float(timestamp))
    except ValueError:
        return False
    expected = sign(secret, timestamp, delivery, body)
    return age <= tolerance and hmac.compare_digest(expected, signature)


def redact_url(url: str) -> str:
    """Return ``url`` without its password, query and fragment, for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the delay a ``Retry-After`` header asks for, in seconds, if it parses."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class Reply:
    """The part of an HTTP response the sink judges: status, Retry-After, body start."""

    status: int
    retry_after: str | None
    snippet: str


_SNIPPET = 200


def open_client(timeout: float) -> httpx.AsyncClient:
    """Return the HTTP client of one sink: kept-alive connections, redirects not followed."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,  # a POST must not silently become a GET somewhere else
        limits=httpx.Limits(max_connections=4, keepalive_expiry=60.0),
    )


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]
) -> Reply:
    """POST ``body`` to ``url`` and return the reply with at most 200 bytes of its body.

    Raises:
        httpx.HTTPError: the connection failed, broke or timed out.
    """
    async with client.stream("POST", url, content=body, headers=dict(headers)) as response:
        start = b""
        async for chunk in response.aiter_bytes():
            start += chunk
            if len(start) >= _SNIPPET:
                break
    snippet = start[:_SNIPPET].decode("utf-8", "replace").strip()
    return Reply(response.status_code, response.headers.get("Retry-After"), snippet)


class WebhookSink:
    """POST each alert as signed JSON to one URL."""

    kind: ClassVar[str] = "webhook"

    def __init__(
        self,
        settings: WebhookSinkSettings,
        *,
        clock: Callable[[], float] = time.time,
        feedback: FeedbackSettings | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._feedback = feedback if feedback is not None and feedback.links else None

    @classmethod
    def from_config(cls, settings: WebhookSinkSettings, config: Config) -> WebhookSink:
        """Build the sink from its settings and the ``[feedback]`` links' settings."""
        return cls(settings, feedback=config.feedback)

    def __repr__(self) -> str:
        url = redact_url(self.settings.url)
        signed = self.settings.secret is not None
        return f"WebhookSink(name={self.name!r}, url={url!r}, signed={signed})"

    @property
    def name(self) -> str:
        """The sink's name."""
        return self.settings.name or self.kind

    @property
    def pace_key(self) -> str | None:
        """Webhooks are machines: they are not paced (they answer 429 when they must)."""
        return None

    def headers(self, message: Message, body: bytes) -> dict[str, str]:
        """Return the request headers for ``body``, signed when a secret is set.

        A message that did not come through the outbox (``monitor test-alert``) has no
        delivery ids and gets a fresh one.
        """
        timestamp = str(int(self._clock()))
        delivery = ",".join(message.deliveries) or str(uuid.uuid4())
        headers = {
            **self.settings.headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"telegram-discipline-monitor/{__version__}",
            "X-Monitor-Event": message.event,
            DELIVERY_HEADER: delivery,
            TIMESTAMP_HEADER: timestamp,
        }
        if self.settings.secret is not None:
            secret = self.settings.secret.get_secret_value().encode()
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, delivery, body)
        return headers

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """POST the message's JSON body.

        Raises:
            AlertError: the receiver refused it or could not be reached.
        """
        body = self.with_links(alert, message).body()
        headers = self.headers(message, body)
        target = redact_url(self.settings.url)
        if self._client is None:
            self._client = open_client(self.settings.timeout)
        try:
            async with asyncio.timeout(self.settings.timeout):
                reply = await post(self._client, self.settings.url, body, headers)
        except (TimeoutError, httpx.TimeoutException):
            limit = f"{self.settings.timeout:g}"
            raise AlertError(f"POST {target} failed: timed out after {limit} s") from None
        except httpx.HTTPError as error:
            reason = str(error).replace(self.settings.url, target) or "no detail"
            raise AlertError(
                f"POST {target} failed: {error.__class__.__name__}: {reason}"
            ) from None
        return self._judge(reply, target)

    def with_links(self, alert: Alert | None, message: Message) -> Message:
        """Add the signed feedback links to an alert's body (when ``[feedback]`` has them)."""
        links = self._feedback
        if links is None or alert is None or alert.post_id is None:
            return message
        if message.event not in ("alert", "update") or links.secret is None:
            return message
        base, secret = str(links.public_url), links.secret.get_secret_value()
        now = self._clock()
        urls = {
            label: feedback_url(base, alert.post_id, label, secret, issued=now)
            for label in LINK_LABELS
        }
        return replace(message, payload={**message.payload, "feedback": urls})

    def _judge(self, reply: Reply, target: str) -> SendResult:
        if 200 <= reply.status < 300:
            return SendResult(messages=1)
        detail = f"POST {target} answered HTTP {reply.status}"
        if reply.snippet:
            detail += f": {reply.snippet}"
        if reply.status in RETRYABLE or reply.status >= 500:
            delay = parse_retry_after(reply.retry_after, datetime.fromtimestamp(self._clock(), UTC))
            raise AlertError(detail, retry_after=delay)
        if 300 <= reply.status < 400:
            detail += " (redirects are not followed; configure the final URL)"
        raise AlertError(detail, permanent=True)

    async def aclose(self) -> None:
        """Close the kept-alive connections (the next send opens a new client)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
