"""Structured logging: structlog configured once, for our code and for the libraries under it.

Console rendering on a terminal, JSON lines otherwise. The standard-library loggers of telethon,
sqlalchemy and apscheduler are routed through the same processor chain, and a redaction
processor masks secrets wherever they appear, by key, by value and by shape (bot tokens,
sessions, invite links). This module must not import anything from the edges.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from monitor.config_types import mask_url
from monitor.invite_links import mask_invite_links

REDACTED = "**********"
SECRET_KEY = re.compile(
    r"(api_hash|session_string|bot_token|token|secret|password|authorization|auth_key|urls?)$",
    re.IGNORECASE,
)
# Telegram bot tokens and StringSessions have recognisable shapes; mask them even in free text.
SECRET_SHAPES = (
    re.compile(r"\b\d{5,12}:[A-Za-z0-9_-]{30,}\b"),  # bot token
    re.compile(r"\b1[A-Za-z0-9_=-]{300,}"),  # Telethon StringSession
)
# Any URL in free text (a library's error, a repr) shows with its password and query values
# masked: webhook tokens ride in queries, database passwords in the user part.
URL_SHAPE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
LIBRARY_LOGGERS = ("telethon", "sqlalchemy", "apscheduler", "alembic", "apprise", "asyncio")


class SecretRedactor:
    """A processor that masks secret values: by key, by known value, and by shape."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def register(self, values: Iterable[str | None]) -> None:
        """Remember secret values (from the config) so they are masked in any field."""
        # Short values would mask ordinary words; real secrets are long (api_hash: 32 chars).
        self._values.update(value for value in values if value and len(value) >= 8)

    def mask_text(self, text: str) -> str:
        """Return ``text`` with every known secret value and secret shape masked."""
        text = mask_invite_links(text)  # first, so a link keeps the start of its hash
        # Longest first: masking a short secret inside a longer one would leave its tail.
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        for shape in SECRET_SHAPES:
            text = shape.sub(REDACTED, text)
        return URL_SHAPE.sub(lambda found: mask_url(found.group()), text)

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        """Mask secrets in every field of ``event_dict``."""
        for key, value in list(event_dict.items()):
            if SECRET_KEY.search(key) and value is not None:
                event_dict[key] = REDACTED
            elif isinstance(value, str):
                event_dict[key] = self.mask_text(value)
            elif value is not None and not isinstance(value, int | float | bool):
                event_dict[key] = self.mask_text(str(value))
        return event_dict


redactor = SecretRedactor()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        structlog.processors.format_exc_info,
        redactor,
    ]


def _renderer(log_format: str, stream: TextIO) -> Processor:
    use_console = log_format == "console" or (log_format == "auto" and stream.isatty())
    if use_console:
        return structlog.dev.ConsoleRenderer(colors=stream.isatty())
    return structlog.processors.JSONRenderer(ensure_ascii=False)


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


class StderrHandler(logging.StreamHandler[TextIO]):
    """A handler that writes to whatever ``sys.stderr`` is when a line is logged.

    While a rich progress bar is live, rich swaps ``sys.stderr`` for a proxy that prints each
    line above the bar; a handler holding on to the original stream would write through the
    bar and break it.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        """Ignore the stream ``StreamHandler`` sets: the current one is looked up each time."""


def configure_logging(
    level: str = "info", log_format: str = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog and the standard library once, for the whole process.

    Args:
        level: minimum level name (debug, info, warning, error).
        log_format: ``console``, ``json``, or ``auto`` (console on a terminal).
        stream: where log lines go (default: the current stderr, even once swapped for
            another, as a live progress bar does).
    """
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    stream = stream or sys.stderr
    numeric_level = logging.getLevelName(level.upper())
    shared = _shared_processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            _renderer(log_format, stream),
        ],
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    _quiet_libraries(numeric_level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=False,
    )


def _quiet_libraries(level: int) -> None:
    """Keep chatty libraries at WARNING unless debugging; their lines still go through us."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)


def get_logger(name: str) -> Any:
    """Return a structlog logger named ``name``."""
    return structlog.stdlib.get_logger(name)


def bind_context(**values: Any) -> None:
    """Bind ``values`` (channel, cycle id) to every log line of the current task."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context(*keys: str) -> None:
    """Unbind ``keys`` from the current task's log context."""
    structlog.contextvars.unbind_contextvars(*keys)


def secret_values(obj: MutableMapping[str, Any] | Any) -> list[str]:
    """Collect the plain values of every pydantic ``SecretStr`` inside a config object."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, SecretStr):
            found.append(node.get_secret_value())
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(obj)
    return found
