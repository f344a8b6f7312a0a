"""The ``AlertSink`` protocol every delivery target implements, and what a send returns.

A sink turns one rendered ``Message`` into one delivery (a Telegram message, an HTTP POST,
an Apprise notification, a log line). It raises ``AlertError`` when it cannot deliver:
``retry_after`` when the target asked for a delay, ``permanent`` when retrying cannot help.
It never retries by itself, never sleeps out a rate limit and never touches the outbox:
that is the dispatcher's job. Its ``repr`` never shows a secret (tokens, webhook secrets,
Apprise URLs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from monitor.alerts.format import Message
from monitor.config import SinkSettings
from monitor.models import Alert


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a sink reports after a delivery.

    ``ref`` is the sink's own reference to what it delivered (for Telegram
    ``"<chat>:<message id>,..."``), kept with the alert so a later source of the same story
    can edit or answer it. ``messages`` is how many messages the chat received, for pacing.
    """

    ref: str | None = None
    messages: int = 1


@runtime_checkable
class AlertSink(Protocol):
    """A delivery target: a chat, a webhook, Apprise URLs or the log."""

    @property
    def name(self) -> str:
        """The sink's unique name from the config (its outbox rows carry it)."""
        ...

    @property
    def settings(self) -> SinkSettings:
        """The sink's settings: filters, quiet hours, template, attempts."""
        ...

    @property
    def pace_key(self) -> str | None:
        """The chat this sink writes to, for pacing; sinks sharing a key share a pace."""
        ...

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """Deliver ``message``: rendered from ``alert``, a digest led by it, or a notice.

        ``alert`` is None for an operational notice about the service itself.

        When ``message.replaces`` is set the sink updates that earlier delivery if it can,
        else it sends ``message`` as a follow-up.

        Raises:
            AlertError: the delivery failed; see ``retry_after`` and ``permanent``.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the sink is not used afterwards."""
        ...
