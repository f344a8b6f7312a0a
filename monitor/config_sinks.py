"""Config models of the alert sinks: what every ``[[alerts]]`` table may say, by ``kind``.

Re-exported by ``monitor.config``; no business logic, nothing from the edges.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config_types import (
    Positive,
    Section,
    env_name,
    read_secret_file,
    resolve_path,
)


def _parse_clock(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


class SinkSettings(Section):
    """What every alert sink shares: its name, filters and quiet hours."""

    name: str = ""
    categories: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    min_score: float = 0.0
    quiet_hours: str | None = None
    quiet_min_score: float = 0.9
    max_attempts: Positive = 8
    template: str | None = None
    enabled: bool = True

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d-([01]?\d|2[0-3]):[0-5]\d", value):
            raise PydanticCustomError(
                "quiet_hours", "must look like 23:00-07:00 (got {got})", {"got": repr(value)}
            )
        return value

    def quiet_window(self) -> tuple[time, time] | None:
        """Return the (start, end) clock times of the quiet hours, if any."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours.split("-")
        return _parse_clock(start), _parse_clock(end)


class TelegramSinkSettings(SinkSettings):
    """Send alerts to a Telegram chat, as a bot (preferred) or as the monitoring account."""

    kind: Literal["telegram"]
    chat: str | int
    bot_token: SecretStr | None = None
    bot_token_file: Path | None = None
    as_account: bool = False

    _resolve = field_validator("bot_token_file")(resolve_path)

    @model_validator(mode="after")
    def _token(self) -> TelegramSinkSettings:
        if self.bot_token is None and self.bot_token_file is not None:
            token = read_secret_file(self.bot_token_file, "bot_token")
            object.__setattr__(self, "bot_token", token)
        if self.bot_token is None and not self.as_account:
            raise PydanticCustomError(
                "missing_secret",
                "bot_token is missing; set bot_token, bot_token_file, the environment "
                "variable MONITOR_ALERTS_{env}_BOT_TOKEN, or as_account = true",
                {"env": env_name(self.name or "telegram")},
            )
        return self


class WebhookSinkSettings(SinkSettings):
    """POST each alert as JSON, signed with HMAC-SHA256 when a secret is set."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None
    secret_file: Path | None = None
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    headers: dict[str, str] = Field(default_factory=dict)

    _resolve = field_validator("secret_file")(resolve_path)

    @model_validator(mode="after")
    def _secret(self) -> WebhookSinkSettings:
        if self.secret is None and self.secret_file is not None:
            object.__setattr__(self, "secret", read_secret_file(self.secret_file, "secret"))
        return self


class AppriseSinkSettings(SinkSettings):
    """Deliver through Apprise URLs (Slack, Discord, Matrix, e-mail, ntfy, ...)."""

    kind: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)


class LogSinkSettings(SinkSettings):
    """Write alerts to the log (dry runs and the demo)."""

    kind: Literal["log"]


AnySinkSettings = Annotated[
    TelegramSinkSettings | WebhookSinkSettings | AppriseSinkSettings | LogSinkSettings,
    Field(discriminator="kind"),
]
