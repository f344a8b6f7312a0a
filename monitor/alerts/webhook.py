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

Response: any 2xx is success. 429, 5xx (and 408) are retried later, honouring
``Retry-After`` (seconds or an HTTP date). Redirects are not followed, and every other
status fails permanently. Timeouts and connection errors are retried.

The POST runs ``urllib.request`` in a worker thread: no HTTP client is a dependency. This
module must not retry, sleep or touch the outbox (the dispatcher does), and must not show
the secret, the configured headers, or the URL's query and password in a repr or an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urlsplit

from monitor import __version__
from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import Config, WebhookSinkSettings
from monitor.errors import AlertError
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a POST must not silently become a GET somewhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def _reply(status: int, retry_after: str | None, body: bytes) -> Reply:
    snippet = body[:200].decode("utf-8", "replace").strip()
    return Reply(status, retry_after, snippet)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Reply:
    """POST ``body`` to ``url`` and return the reply (blocking; run it in a thread).

    Raises:
        OSError: the connection failed or timed out.
    """
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310  the URL is validated as http(s) by the config
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return _reply(response.status, response.headers.get("Retry-After"), response.read(200))
    except urllib.error.HTTPError as error:
        with error:
            return _reply(error.code, error.headers.get("Retry-After"), error.read(200))


class WebhookSink:
    """POST each alert as signed JSON to one URL."""

    kind: ClassVar[str] = "webhook"

    def __init__(
        self, settings: WebhookSinkSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._clock = clock

    @classmethod
    def from_config(cls, settings: WebhookSinkSettings, config: Config) -> WebhookSink:
        """Build the sink from its settings (the rest of the config is not needed)."""
        return cls(settings)

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
        body = message.body()
        headers = self.headers(message, body)
        target = redact_url(self.settings.url)
        try:
            reply = await asyncio.to_thread(
                post, self.settings.url, body, headers, self.settings.timeout
            )
        except OSError as error:
            raise AlertError(f"POST {target} failed: {error.__class__.__name__}: {error}") from None
        return self._judge(reply, target)

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
        """Nothing to release: each POST opens and closes its own connection."""
