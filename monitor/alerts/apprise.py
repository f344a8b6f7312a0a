"""The ``apprise`` sink: one alert to one or more Apprise URLs (Slack, Discord, Matrix, ...).

Each URL is notified on its own with the plain-text rendering (the title is
``category: channel``). When some URLs accept and others fail, the sink remembers, in memory,
which ones accepted; the dispatcher's retry then goes only to the ones that failed, so a
working service never gets the alert twice (unless the process restarts in between).

Apprise reports no status codes or Retry-After, so every failure is retried by the
dispatcher's backoff. URLs are checked when the sink is built, so a typo fails at startup.
This module must not retry or sleep by itself and must never show a URL (they carry tokens)
in a repr, a log line or an error: only its scheme.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any, ClassVar

import apprise

from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import AppriseSinkSettings, Config
from monitor.errors import AlertError, ConfigError
from monitor.models import Alert


def scheme(url: str) -> str:
    """Return the scheme of an Apprise URL (``json``, ``slack``, ...), the part safe to show."""
    return url.split("://", 1)[0] if "://" in url else "?"


def _understood(url: str) -> bool:
    """Return whether Apprise knows the URL's service and can parse it."""
    # Apprise logs its own "Unsupported URL" error; the caller says it once, in its words.
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        with warnings.catch_warnings():
            # Apprise loads its plugins on first use; one of them imports the stdlib's deprecated
            # ``imghdr``. The warning is Apprise's business, and tests turn warnings into errors.
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            return apprise.Apprise.instantiate(url) is not None
    finally:
        logger.disabled = was_disabled


def _notify(url: str, message: Message) -> bool:
    """Notify one URL (blocking; run it in a thread) and return whether it accepted."""
    client = apprise.Apprise()
    client.add(url)
    result: Any = client.notify(
        body=message.text, title=message.title, body_format=apprise.NotifyFormat.TEXT
    )
    accepted = bool(result)
    close = getattr(result, "close", None)  # Apprise 2 returns a result holding log files
    if close is not None:
        close()
    return accepted


class AppriseSink:
    """Deliver alerts through one or more Apprise URLs."""

    kind: ClassVar[str] = "apprise"

    def __init__(self, settings: AppriseSinkSettings) -> None:
        self.settings = settings
        self._urls = [url.get_secret_value() for url in settings.urls]
        self._accepted: dict[tuple[int, ...], set[int]] = {}
        bad = [i for i, url in enumerate(self._urls) if not _understood(url)]
        if bad:
            raise ConfigError(
                [
                    f"urls[{i}]: Apprise does not understand {scheme(self._urls[i])}://...; "
                    "write it as the Apprise wiki shows for the service (like ntfy://host/topic)"
                    for i in bad
                ]
            )

    @classmethod
    def from_config(cls, settings: AppriseSinkSettings, config: Config) -> AppriseSink:
        """Build the sink from its settings (the rest of the config is not needed)."""
        return cls(settings)

    def __repr__(self) -> str:
        schemes = [f"{scheme(url)}://..." for url in self._urls]
        return f"AppriseSink(name={self.name!r}, urls={schemes!r})"

    @property
    def name(self) -> str:
        """The sink's name."""
        return self.settings.name or self.kind

    @property
    def pace_key(self) -> str | None:
        """Apprise targets are chats too: pace them like one."""
        return f"apprise:{self.name}"

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """Notify every URL that has not yet accepted this message.

        Raises:
            AlertError: at least one URL failed; the others will not be notified again.
        """
        done = self._accepted.setdefault(message.alert_ids, set())
        failed: list[int] = []
        for index, url in enumerate(self._urls):
            if index in done:
                continue
            if await asyncio.to_thread(_notify, url, message):
                done.add(index)
            else:
                failed.append(index)
        if failed:
            where = ", ".join(f"urls[{i}] ({scheme(self._urls[i])})" for i in failed)
            raise AlertError(f"Apprise could not notify {where}")
        del self._accepted[message.alert_ids]
        return SendResult(messages=1)

    async def aclose(self) -> None:
        """Forget partial deliveries; nothing else is held between sends."""
        self._accepted.clear()
