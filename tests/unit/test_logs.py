"""Logging: JSON lines off a terminal, library logs through the same chain, secrets masked."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from monitor.logs import REDACTED, configure_logging, get_logger, redactor


@pytest.fixture(autouse=True)
def _reset_logging() -> object:
    """Leave logging as the next test expects it."""
    yield
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_fields_and_context() -> None:
    """Off a terminal each event is one JSON object with its fields and bound context."""
    stream = io.StringIO()
    configure_logging("info", "auto", stream=stream)
    structlog.contextvars.bind_contextvars(channel_id=7)
    try:
        get_logger("monitor.test").info("post_flagged", rule="ru-awol", count=2)
    finally:
        structlog.contextvars.clear_contextvars()
    [line] = _lines(stream)
    assert line["event"] == "post_flagged"
    assert (line["rule"], line["count"], line["channel_id"], line["level"]) == (
        "ru-awol",
        2,
        7,
        "info",
    )


def test_library_logs_go_through_the_same_chain() -> None:
    """A telethon warning comes out as JSON, with secrets masked like ours."""
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    redactor.register(["f0e1d2c3b4a5968778695a4b3c2d1e0f"])
    logging.getLogger("telethon.network").warning("key %s", "f0e1d2c3b4a5968778695a4b3c2d1e0f")
    [line] = _lines(stream)
    assert line["logger"] == "telethon.network"
    assert line["event"] == f"key {REDACTED}"


def test_longer_secret_masked_whole_when_a_shorter_one_is_inside() -> None:
    """A secret that contains another registered secret leaves no tail visible."""
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    redactor.register(["abcdefgh", "abcdefgh-and-a-longer-tail"])
    get_logger("monitor.test").info("leak_check", note="x abcdefgh-and-a-longer-tail y")
    [line] = _lines(stream)
    assert line["note"] == f"x {REDACTED} y"


@pytest.mark.parametrize(
    ("fields", "hidden"),
    [
        pytest.param({"api_hash": "abc"}, "abc", id="by-key"),
        pytest.param({"bot_token": "12345:x"}, "12345:x", id="token-key"),
        pytest.param(
            {"note": "t=123456789:AAAbbbcccdddeeefffggghhhiiijjjkkkl"},
            "AAAbbb",
            id="bot-token-shape",
        ),
        pytest.param({"url": "https://hooks.example/secret-path"}, "secret-path", id="url-key"),
    ],
)
def test_secrets_are_masked(fields: dict[str, str], hidden: str) -> None:
    """Secret keys, registered values and secret shapes never reach the output."""
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    get_logger("monitor.test").info("something_happened", **fields)
    assert hidden not in stream.getvalue()
    assert REDACTED in stream.getvalue()


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        pytest.param(
            "POST https://hooks.example.org/in?token=s3cr3t-tok failed: timed out",
            "POST https://hooks.example.org/in?token=*** failed: timed out",
            id="query-token",
        ),
        pytest.param(
            "cannot reach postgresql://monitor:s3cr3t-pw@db:5432/monitor (refused)",
            "cannot reach postgresql://monitor:***@db:5432/monitor (refused)",
            id="user-password",
        ),
    ],
)
def test_urls_in_free_text_are_logged_masked(error: str, shown: str) -> None:
    """A URL inside any logged text (a library's error) shows no password or query value."""
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    get_logger("monitor.test").warning("delivery_failed", error=error)
    [line] = _lines(stream)
    assert line["error"] == shown


def test_level_filters() -> None:
    """Below the configured level nothing is written."""
    stream = io.StringIO()
    configure_logging("warning", "json", stream=stream)
    get_logger("monitor.test").info("quiet")
    get_logger("monitor.test").warning("loud")
    assert [line["event"] for line in _lines(stream)] == ["loud"]


def test_log_lines_print_above_a_live_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """While a rich progress bar is live, a log line goes through its console, above the bar.

    The handler used to hold the stderr of its start and wrote straight through the bar.
    """
    from rich.console import Console
    from rich.progress import Progress

    configure_logging("info", "console")
    screen = io.StringIO()
    with Progress(console=Console(file=screen, force_terminal=True, width=100)) as progress:
        progress.add_task("rescan", total=10)
        get_logger("monitor.test").warning("flood_wait", seconds=3)
    assert "flood_wait" in screen.getvalue()
    assert "flood_wait" not in capsys.readouterr().err
    get_logger("monitor.test").warning("after_the_bar")
    assert "after_the_bar" in capsys.readouterr().err
