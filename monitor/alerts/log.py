"""The ``log`` sink: writes each alert to the structured log (dry runs and the demo).

It logs one ``alert_logged`` event with the alert ids, channel, link, category, rule and the
plain-text rendering. It never fails and holds no secret. It must not configure logging
(``monitor.logs`` does that once).
"""

from __future__ import annotations

from typing import ClassVar

import structlog

from monitor.alerts.format import Message
from monitor.alerts.sink import SendResult
from monitor.config import Config, LogSinkSettings
from monitor.models import Alert

logger = structlog.get_logger("monitor.alerts")


class LogSink:
    """Write alerts to the log."""

    kind: ClassVar[str] = "log"

    def __init__(self, settings: LogSinkSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, settings: LogSinkSettings, config: Config) -> LogSink:
        """Build the sink from its settings."""
        return cls(settings)

    def __repr__(self) -> str:
        return f"LogSink(name={self.name!r})"

    @property
    def name(self) -> str:
        """The sink's name."""
        return self.settings.name or self.kind

    @property
    def pace_key(self) -> str | None:
        """The log is never paced."""
        return None

    async def send(self, alert: Alert | None, message: Message) -> SendResult | None:
        """Log the message as one ``alert_logged`` event."""
        fields = {}
        if alert is not None:
            fields = {
                "channel": alert.post.channel_username or alert.post.channel_id,
                "link": alert.post.link,
                "category": alert.top_match.category,
                "rule": alert.top_match.rule_id,
            }
        logger.info(
            "alert_logged",
            sink=self.name,
            kind=message.event,
            alert_ids=list(message.alert_ids),
            text=message.text,
            **fields,
        )
        return SendResult(messages=1)

    async def aclose(self) -> None:
        """Nothing to release."""
