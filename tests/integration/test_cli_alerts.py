"""``monitor alerts``, ``alerts send``, ``alerts retry`` and ``test-alert`` on a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.http_server import RecordingServer, Reply, serve
from tests.helpers.outbox import distinct_text, seeded


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A recording HTTP server on 127.0.0.1, stopped after the test."""
    with serve() as server:
        yield server


@pytest.fixture
def config_file(tmp_path: Path, http_server: RecordingServer) -> Path:
    """A config with a SQLite database and one webhook sink on the test server."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n\n'
        f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{http_server.url}/hook"\n'
        'secret = "k"\n',
        encoding="utf-8",
    )
    return path


def seed(config_file: Path, count: int) -> None:
    """Store ``count`` flagged posts with alert rows for the ``hook`` sink."""

    async def work() -> None:
        async with seeded(f"sqlite:///{config_file.parent / 'monitor.db'}") as seeder:
            for i in range(count):
                await seeder.flag(["hook"], text=distinct_text(i), message_id=i + 1)

    asyncio.run(work())


def test_empty_outbox_lists_nothing(config_file: Path) -> None:
    """With nothing waiting, ``monitor alerts`` says so."""
    seed(config_file, 0)
    result = invoke(["--config", str(config_file), "alerts"])
    assert result.code == 0
    assert "No pending or failed alerts." in result.stdout


def test_send_list_retry_send(config_file: Path, http_server: RecordingServer) -> None:
    """A permanent failure is listed, requeued by ``retry --all`` and sent by the next drain."""
    seed(config_file, 2)
    http_server.script(Reply(400, body=b"nope"))
    first = invoke(["--config", str(config_file), "alerts", "send"])
    assert first.code == 1
    assert "sent 1," in first.stdout
    assert "failed 1" in first.stdout
    listing = invoke(["--config", str(config_file), "alerts"])
    assert "failed" in listing.stdout
    assert "HTTP 400: nope" in listing.stdout
    assert "https://t.me/chan1001/" in listing.stdout
    retried = invoke(["--config", str(config_file), "alerts", "retry", "--all"])
    assert retried.stdout.strip() == "Requeued 1 alert."
    second = invoke(["--config", str(config_file), "alerts", "send"])
    assert second.code == 0
    assert "sent 1," in second.stdout
    assert len(http_server.wait_for(3)) == 3
    assert "No pending or failed alerts." in invoke(["--config", str(config_file), "alerts"]).stdout


def test_retry_by_id_and_unknown_id(config_file: Path, http_server: RecordingServer) -> None:
    """``retry ID`` requeues that alert; an ID that is not waiting exits 1."""
    seed(config_file, 1)
    http_server.script(Reply(400))
    invoke(["--config", str(config_file), "alerts", "send"])
    assert invoke(["--config", str(config_file), "alerts", "retry", "1"]).code == 0
    assert invoke(["--config", str(config_file), "alerts", "retry", "99"]).code == 1


def test_retry_leaves_an_alert_being_sent_alone(config_file: Path) -> None:
    """A row a running dispatcher has claimed is not requeued under it (no double send)."""
    seed(config_file, 2)

    async def claim_first() -> list[int]:
        async with seeded(f"sqlite:///{config_file.parent / 'monitor.db'}") as seeder:
            now = datetime.now(UTC)
            return await seeder.outbox.claim([1], now, now + timedelta(minutes=5))

    assert asyncio.run(claim_first()) == [1]
    assert invoke(["--config", str(config_file), "alerts", "retry", "--all"]).stdout.strip() == (
        "Requeued 1 alert."
    )
    held = invoke(["--config", str(config_file), "alerts", "retry", "1"])
    assert held.code == 1
    assert "being sent right now" in held.stderr


def test_alerts_of_a_removed_sink_are_named_and_can_be_dropped(config_file: Path) -> None:
    """Alerts for a sink the config lost are pointed out; ``drop --sink`` gives up on them."""
    seed(config_file, 1)

    async def flag_for_removed_sink() -> None:
        async with seeded(f"sqlite:///{config_file.parent / 'monitor.db'}") as seeder:
            for i in (2, 3):
                await seeder.flag(["old_chat"], text=distinct_text(i), message_id=i)

    asyncio.run(flag_for_removed_sink())
    listing = invoke(["--config", str(config_file), "alerts"])
    assert "2 alerts wait for sink 'old_chat'" in listing.stderr
    assert "monitor alerts drop --sink old_chat" in listing.stderr
    dropped = invoke(["--config", str(config_file), "alerts", "drop", "--sink", "old_chat"])
    assert (dropped.code, dropped.stdout.strip()) == (0, "Dropped 2 alerts.")
    after = invoke(["--config", str(config_file), "alerts"])
    assert "old_chat" not in after.stdout + after.stderr
    assert " hook " in after.stdout  # the configured sink's alert still waits
    assert invoke(["--config", str(config_file), "alerts", "drop", "2"]).code == 1
    assert invoke(["--config", str(config_file), "alerts", "drop"]).code == 2


def test_retry_needs_ids_or_all(config_file: Path) -> None:
    """``alerts retry`` alone is a usage error."""
    result = invoke(["--config", str(config_file), "alerts", "retry"])
    assert result.code == 2
    assert "--all" in result.stderr


def test_test_alert_sends_a_sample(config_file: Path, http_server: RecordingServer) -> None:
    """``test-alert hook`` posts a sample alert through the configured webhook."""
    result = invoke(["--config", str(config_file), "test-alert", "hook"])
    assert result.code == 0, result.stderr
    [request] = http_server.wait_for(1)
    body = json.loads(request.body)
    assert body["terms"] == ["AWOL"]
    assert "X-Monitor-Signature" in request.headers


def test_test_alert_unknown_sink(config_file: Path) -> None:
    """An unknown sink name exits 2 and lists the configured ones."""
    result = invoke(["--config", str(config_file), "test-alert", "nope"])
    assert result.code == 2
    assert "sinks: hook" in result.stderr


def test_test_alert_reports_a_failing_sink(config_file: Path, http_server: RecordingServer) -> None:
    """A sink that refuses the sample exits 1 with the reason."""
    http_server.script(Reply(503, body=b"maintenance"))
    result = invoke(["--config", str(config_file), "test-alert", "hook"])
    assert result.code == 1
    assert "HTTP 503: maintenance" in result.stderr


def test_alerts_listing_fits_the_terminal(config_file: Path, http_server: RecordingServer) -> None:
    """`monitor alerts` is a table that fits 80 columns, with long names and errors wrapped whole.

    The hand-aligned columns it had ran past the terminal's edge.
    """
    sink = "regional_duty_officer_webhook"
    config_file.write_text(
        config_file.read_text(encoding="utf-8").replace('"hook"', f'"{sink}"'), encoding="utf-8"
    )

    async def flag() -> None:
        async with seeded(f"sqlite:///{config_file.parent / 'monitor.db'}") as seeder:
            await seeder.flag([sink], text=distinct_text(1), message_id=1)

    asyncio.run(flag())
    error = "upstream refused the delivery: " + "quota exhausted for this receiver " * 3
    http_server.script(Reply(400, body=error.encode()))
    invoke(["--config", str(config_file), "alerts", "send"])
    listing = invoke(["--config", str(config_file), "alerts"], env={"COLUMNS": "80"})
    lines = listing.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "https://t.me/chan1001/1 " in listing.stdout  # the link is never cut
    cells = " ".join(line.strip("│ ") for line in lines)
    assert sink[:10] in cells
    assert "quota exhausted" in cells
