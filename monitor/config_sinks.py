"""Config models of the alert sinks: what every ``[[alerts]]`` table may say, by ``kind``.

Re-exported by ``monitor.config``; no business logic, nothing from the edges.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config_types import (
    Positive,
    Section,
    env_name,
    mask_url,
    read_secret_file,
    resolve_path,
)

# An HTTP header name is an RFC 9110 token; a value holds no line break or NUL (a CR/LF in a
# value would let the config inject headers, and the HTTP client refuses it at send time).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\r\n\x00]")


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

    def missing_secret(self) -> str | None:
        """Say which secret this sink needs to deliver and does not have, if any.

        Checked only by what delivers alerts (``run``, ``test-alert``, ``alerts send``,
        ``check-config``): browsing and rule commands work without a sink's secrets.
        """
        return None

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
    # Feedback buttons under each alert (a bot only; heard while `monitor run` runs).
    buttons: bool = True

    _resolve = field_validator("bot_token_file")(resolve_path)

    @model_validator(mode="after")
    def _token(self) -> TelegramSinkSettings:
        if self.bot_token is None and self.bot_token_file is not None:
            token = read_secret_file(self.bot_token_file, "bot_token")
            object.__setattr__(self, "bot_token", token)
        return self

    def missing_secret(self) -> str | None:
        """Say that the bot token is missing (unless the sink sends as the account)."""
        if self.bot_token is not None or self.as_account:
            return None
        env = env_name(self.name or "telegram")
        return (
            "bot_token is missing; set bot_token, bot_token_file, the environment "
            f"variable MONITOR_ALERTS_{env}_BOT_TOKEN, or as_account = true"
        )


class WebhookSinkSettings(SinkSettings):
    """POST each alert as JSON, signed with HMAC-SHA256 when a secret is set."""

    kind: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    secret_file: Path | None = None
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    headers: dict[str, str] = Field(default_factory=dict)

    _resolve = field_validator("secret_file")(resolve_path)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise PydanticCustomError(
                    "header_name",
                    "{name} is not a valid header name; use letters, digits and dashes",
                    {"name": repr(name)},
                )
            if _HEADER_VALUE_FORBIDDEN.search(text):
                raise PydanticCustomError(
                    "header_value",
                    "the value of header {name} holds a line break (CR/LF) or NUL; "
                    "put it on one line",
                    {"name": repr(name)},
                )
        return value

    @model_validator(mode="after")
    def _secret(self) -> WebhookSinkSettings:
        if self.secret is None and self.secret_file is not None:
            object.__setattr__(self, "secret", read_secret_file(self.secret_file, "secret"))
        return self


class AppriseSinkSettings(SinkSettings):
    """Deliver through Apprise URLs (Slack, Discord, Matrix, e-mail, ntfy, ...)."""

    kind: Literal["apprise"]
    urls: list[SecretStr] = Field(default_factory=list)
    urls_file: Path | None = None

    _resolve = field_validator("urls_file")(resolve_path)

    @model_validator(mode="after")
    def _urls_from_file(self) -> AppriseSinkSettings:
        if not self.urls and self.urls_file is not None:
            text = read_secret_file(self.urls_file, "urls").get_secret_value()
            lines = [line.strip() for line in text.splitlines()]
            urls = [SecretStr(line) for line in lines if line and not line.startswith("#")]
            object.__setattr__(self, "urls", urls)
        return self

    def missing_secret(self) -> str | None:
        """Say that no Apprise URL was given (they carry passwords, so they may come late)."""
        if self.urls:
            return None
        env = env_name(self.name or "apprise")
        return (
            "urls is missing; set urls, urls_file (one URL per line) or the environment "
            f"variable MONITOR_ALERTS_{env}_URLS (URLs separated by spaces)"
        )


class LogSinkSettings(SinkSettings):
    """Write alerts to the log (dry runs and the demo)."""

    kind: Literal["log"]


def check_http_url(value: str) -> str:
    """Accept an absolute http(s) URL with a host and nothing a request line cannot carry.

    Raises:
        PydanticCustomError: the URL is unusable; the message shows it with credentials masked.
    """
    problem = _http_url_problem(value)
    if problem:
        raise PydanticCustomError(
            "http_url",
            "{problem} (got {got}); {fix}",
            {"problem": problem[0], "got": repr(mask_url(value)), "fix": problem[1]},
        )
    return value


def _http_url_problem(value: str) -> tuple[str, str] | None:
    """Return what is wrong with an http(s) URL and the fix, or None."""
    if re.search(r"[\x00-\x20\x7f]", value):
        return "holds a space or control character", "percent-encode it (a space is %20)"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (parsing the port is the check: it raises when out of range)
    except ValueError as error:
        return f"is not a URL ({error})", "write it like https://example.org:8443/hook"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host", "like https://example.org/hook"
    return None


AnySinkSettings = Annotated[
    TelegramSinkSettings | WebhookSinkSettings | AppriseSinkSettings | LogSinkSettings,
    Field(discriminator="kind"),
]
