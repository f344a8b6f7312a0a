"""Building sinks from a real config, template checks at startup, the log sink and reprs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor.alerts import SINK_KINDS, AlertSink, build_sinks, render_options
from monitor.alerts.format import render_alert
from monitor.alerts.log import LogSink
from monitor.config import Config, parse_config
from monitor.errors import ConfigError
from tests.helpers.alerts import make_alert


def config(*sinks: dict[str, Any], timezone: str = "UTC") -> Config:
    """Return a validated config with ``sinks`` as its [[alerts]] tables."""
    data = {"alerts": list(sinks), "delivery": {"timezone": timezone}}
    return parse_config(data, source=Path("/etc/monitor/monitor.toml"), environ={})


def test_build_sinks_builds_every_enabled_kind() -> None:
    """Each enabled [[alerts]] table becomes a sink under its name; disabled ones are skipped."""
    sinks = build_sinks(
        config(
            {"kind": "log", "name": "dry"},
            {"kind": "webhook", "name": "ops", "url": "https://example.com/in", "secret": "k"},
            {"kind": "apprise", "name": "team", "urls": ["json://127.0.0.1:9/x"]},
            {"kind": "log", "name": "off", "enabled": False},
        )
    )
    assert sorted(sinks) == ["dry", "ops", "team"]
    assert all(isinstance(sink, AlertSink) for sink in sinks.values())
    assert {type(sink).__name__ for sink in sinks.values()} == {
        "LogSink",
        "WebhookSink",
        "AppriseSink",
    }


def test_environment_secret_reaches_the_sink_but_not_its_repr() -> None:
    """A webhook secret from the environment is used and never shown."""
    data = {"alerts": [{"kind": "webhook", "name": "ops", "url": "https://example.com/in"}]}
    cfg = parse_config(
        data, source=Path("/m.toml"), environ={"MONITOR_ALERTS_OPS_SECRET": "from-env"}
    )
    sink = build_sinks(cfg)["ops"]
    assert "from-env" not in repr(sink)
    assert "signed=True" in repr(sink)


@pytest.mark.parametrize(
    ("sink", "problem"),
    [
        pytest.param(
            {"kind": "log", "name": "a", "template": "$nope"},
            "alerts[0].template: unknown variable $nope",
            id="unknown-variable",
        ),
        pytest.param(
            {"kind": "apprise", "name": "a", "urls": ["nosuch://x"]},
            "alerts[0]: urls[0]: Apprise does not understand nosuch://...",
            id="bad-apprise-url",
        ),
    ],
)
def test_build_sinks_reports_problems_with_file_and_key(sink: dict[str, Any], problem: str) -> None:
    """Bad templates and URLs fail at startup with the file and the key named."""
    with pytest.raises(ConfigError) as raised:
        build_sinks(config(sink))
    assert any(
        line.startswith("/etc/monitor/monitor.toml: ") and problem in line
        for line in raised.value.problems
    ), raised.value.problems


def test_render_options_follow_the_delivery_zone_and_kind() -> None:
    """Text sinks get the template as plain text, in the configured zone."""
    cfg = config({"kind": "log", "name": "dry", "template": "$channel"}, timezone="Europe/Kyiv")
    options = render_options(cfg.alerts[0], cfg.delivery)
    assert str(options.tz) == "Europe/Kyiv"
    assert options.text_template == "$channel"
    assert options.html_template is None


async def test_log_sink_writes_one_event() -> None:
    """The log sink logs alert_logged with the alert's fields and text."""
    sink = build_sinks(config({"kind": "log", "name": "dry"}))["dry"]
    assert isinstance(sink, LogSink)
    alert = make_alert(alert_id=5)
    message = render_alert(alert, render_options(sink.settings, config().delivery))
    with capture_logs() as logs:
        await sink.send(alert, message)
    [event] = logs
    assert event["event"] == "alert_logged"
    assert event["alert_ids"] == [5]
    assert event["category"] == "desertion"
    assert event["link"] == "https://t.me/news_ch/7"
    assert "СОЧ" in event["text"]


def test_registry_lists_the_available_kinds() -> None:
    """The registry is an explicit dict of kinds."""
    assert {"log", "webhook", "apprise"} <= set(SINK_KINDS)
