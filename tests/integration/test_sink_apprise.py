"""The Apprise sink through ``json://`` URLs to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from monitor.alerts.apprise import AppriseSink
from monitor.alerts.format import RenderOptions, render_alert
from monitor.config import AppriseSinkSettings
from monitor.errors import AlertError, ConfigError
from tests.helpers.alerts import make_alert
from tests.helpers.http_server import RecordingServer, Reply, serve


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1, stopped after the test."""
    with serve() as server:
        yield server


def make_sink(*urls: str) -> AppriseSink:
    """Return an Apprise sink for ``urls``."""
    return AppriseSink(
        AppriseSinkSettings(kind="apprise", name="team", urls=[SecretStr(u) for u in urls])
    )


async def test_json_url_receives_the_alert(http_server: RecordingServer) -> None:
    """A json:// URL posts the alert's title and plain text to the server."""
    sink = make_sink(f"json://127.0.0.1:{http_server.port}/notify")
    alert = make_alert()
    message = render_alert(alert, RenderOptions())
    await sink.send(alert, message)
    [request] = http_server.wait_for(1)
    assert request.path == "/notify"
    body = json.loads(request.body)
    assert body["title"] == "desertion: News Channel"
    assert body["message"] == message.text
    assert "https://t.me/news_ch/7" in body["message"]


async def test_failed_url_is_retried_alone(http_server: RecordingServer) -> None:
    """When one URL fails, the retry goes only to it: the others get the alert once."""
    http_server.script(Reply(500), path="/bad")
    sink = make_sink(
        f"json://127.0.0.1:{http_server.port}/good", f"json://127.0.0.1:{http_server.port}/bad"
    )
    alert = make_alert()
    message = render_alert(alert, RenderOptions())
    with pytest.raises(AlertError, match=r"urls\[1\] \(json\)") as raised:
        await sink.send(alert, message)
    assert not raised.value.permanent
    await sink.send(alert, message)
    requests = http_server.wait_for(3)
    assert [r.path for r in requests] == ["/good", "/bad", "/bad"]


def test_unknown_url_fails_at_startup() -> None:
    """An Apprise URL nobody understands is a config error, without echoing the URL."""
    with pytest.raises(ConfigError, match="urls\\[0\\]") as raised:
        make_sink("nosuchservice://token-abc@host")
    assert "token-abc" not in str(raised.value)


def test_repr_hides_urls() -> None:
    """The repr shows only each URL's scheme; tokens stay hidden."""
    sink = make_sink("json://user:hunter2@127.0.0.1:9/x", "ntfy://secret-topic")
    assert repr(sink) == "AppriseSink(name='team', urls=['json://...', 'ntfy://...'])"
