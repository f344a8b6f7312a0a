"""Alert delivery: the ``AlertSink`` protocol, the registry of sink kinds, ``build_sinks``.

Sink kinds (the ``kind`` of an ``[[alerts]]`` table):

* ``telegram``: a chat, as a bot (preferred) or as the monitoring account; Telegram HTML.
* ``webhook``: an HTTP POST of a documented JSON body, HMAC-SHA256 signed.
* ``apprise``: one or more Apprise URLs (Slack, Discord, Matrix, e-mail, ntfy, ...).
* ``log``: the structured log, for dry runs and the demo.

Adding a kind costs one module with a class that has ``from_config(settings, config)``, one
line in ``SINK_KINDS`` and one config model. This package's ``__init__`` builds sinks; it
does not deliver (the dispatcher does) and it renders nothing (``format`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from monitor.alerts.apprise import AppriseSink
from monitor.alerts.format import Message, RenderOptions, check_template
from monitor.alerts.log import LogSink
from monitor.alerts.sink import AlertSink, SendResult
from monitor.alerts.telegram_bot import TelegramBotSink
from monitor.alerts.webhook import WebhookSink
from monitor.config import Config, DeliverySettings, SinkSettings
from monitor.errors import ConfigError

__all__ = [
    "SINK_KINDS",
    "AlertSink",
    "Message",
    "SendResult",
    "build_sinks",
    "render_options",
]

SinkFactory = Callable[[Any, Config], AlertSink]

#: Every sink kind: the config ``kind`` and the factory that builds it from its settings.
SINK_KINDS: dict[str, SinkFactory] = {
    "telegram": TelegramBotSink.from_config,
    "webhook": WebhookSink.from_config,
    "apprise": AppriseSink.from_config,
    "log": LogSink.from_config,
}

#: Kinds whose template is Telegram HTML (the others are plain text).
HTML_KINDS = frozenset({"telegram"})


def render_options(settings: SinkSettings, delivery: DeliverySettings) -> RenderOptions:
    """Return how the sink with ``settings`` renders alerts (zone and template)."""
    kind = getattr(settings, "kind", "")
    template = settings.template
    return RenderOptions(
        tz=ZoneInfo(delivery.timezone),
        html_template=template if kind in HTML_KINDS else None,
        text_template=None if kind in HTML_KINDS else template,
    )


def _check(settings: SinkSettings, label: str) -> list[str]:
    if settings.template is None:
        return []
    html = getattr(settings, "kind", "") in HTML_KINDS
    return [f"{label}.template: {p}" for p in check_template(settings.template, html=html)]


def build_sinks(config: Config, *, only: str | None = None) -> dict[str, AlertSink]:
    """Build every enabled sink of ``config`` (or only the one named ``only``), keyed by name.

    A sink's secrets are checked here, not when the config loads: only what delivers needs
    them, and ``monitor test-alert log`` needs no other sink's token.

    Raises:
        ConfigError: a template is invalid, a kind is not available, or a sink refused its
            settings (for example an Apprise URL nobody understands); one line per problem.
    """
    source = f"{config.source}: " if config.source else ""
    problems: list[str] = []
    sinks: dict[str, AlertSink] = {}
    for index, settings in enumerate(config.alerts):
        if not settings.enabled or only not in (None, settings.name):
            continue
        label = f"{source}alerts[{index}]"
        problems += _check(settings, label)
        missing = settings.missing_secret()
        if missing:
            problems.append(f"{label}: {missing}")
            continue
        factory = SINK_KINDS.get(settings.kind)
        if factory is None:
            problems.append(f"{label}.kind: sink kind {settings.kind!r} is not available")
            continue
        try:
            sink = factory(settings, config)
        except ConfigError as error:
            problems += [f"{label}: {problem}" for problem in error.problems]
            continue
        sinks[sink.name] = sink
    if problems:
        raise ConfigError(problems)
    return sinks
