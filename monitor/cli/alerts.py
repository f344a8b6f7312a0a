"""Alert commands: ``alerts`` (list), ``alerts send|retry|drop``, ``test-alert SINK``.

``monitor alerts`` lists pending and failed alerts; ``alerts send`` drains the outbox once
(for cron users who do not run the daemon); ``alerts retry ID... | --all`` requeues failed
and waiting alerts with fresh attempts; ``alerts drop ID... | --sink NAME`` gives up on them
(say, for a sink removed from the config); ``test-alert SINK`` sends a sample through one sink,
without touching the outbox. This module parses arguments and prints; the work is done by
``monitor.alerts`` and ``monitor.storage.outbox``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import click

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.models import Alert, Hit, Match, Post

if TYPE_CHECKING:
    from monitor.alerts.dispatch import DispatchStats
    from monitor.storage.outbox import Outbox, OutboxItem

T = TypeVar("T")

SAMPLE_TEXT = (
    "Sample alert from `monitor test-alert`: a soldier of a motorised rifle brigade left his "
    "unit without leave (AWOL) and was detained three days later. <b>Markup</b> & snake_case "
    "are shown as written."
)


def sample_alert(sink: str) -> Alert:
    """Return the fixed alert ``test-alert`` sends."""
    start = SAMPLE_TEXT.index("AWOL")
    post = Post(
        channel_id=1234567890,
        message_id=42,
        date=datetime.now(UTC),
        text=SAMPLE_TEXT,
        channel_username="example_news",
        channel_title="Example News (test)",
    )
    match = Match("test-awol", "desertion", 0.9, (Hit("AWOL", start, start + 4),))
    return Alert(alert_id=0, sink=sink, post=post, matches=(match,), language="en")


def _with_outbox(config: Config, work: Callable[[Outbox], Awaitable[T]]) -> T:
    from monitor.storage.engine import existing_database
    from monitor.storage.outbox import Outbox

    async def main() -> T:
        async with existing_database(config.database.url) as engine:
            return await work(Outbox(engine))

    return asyncio.run(main())


def _report_changed(verb: str, count: int, ids: Sequence[int]) -> None:
    """Say how many alerts changed; exit 1 when some of the ``ids`` asked for were not."""
    click.echo(f"{verb} {count} alert{'s' if count != 1 else ''}.")
    if ids and count < len(set(ids)):
        click.echo(
            "Some IDs are not waiting: unknown, delivered, or being sent right now "
            "(see `monitor alerts`).",
            err=True,
        )
        sys.exit(1)


@cli.group(invoke_without_command=True)
@config_option
@handle_errors
@click.pass_context
def alerts(ctx: click.Context) -> None:
    """List pending and failed alerts (subcommands: send, retry, drop)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load_cli_config(ctx)

    async def work(outbox: Outbox) -> list[OutboxItem]:
        return await outbox.listing()

    items = _with_outbox(config, work)
    if not items:
        click.echo("No pending or failed alerts.")
        return
    from monitor.cli.tables import alerts_table

    alerts_table(items, datetime.now(UTC))
    enabled = {sink.name for sink in config.alerts if sink.enabled}
    for sink in sorted({item.sink for item in items} - enabled):
        count = sum(1 for item in items if item.sink == sink)
        click.echo(
            f"{count} alert{'s' if count != 1 else ''} wait for sink {sink!r}, which is not an "
            "enabled sink of the config: add or enable it under [[alerts]], or run "
            f"`monitor alerts drop --sink {sink}`.",
            err=True,
        )


@alerts.command("send")
@config_option
@handle_errors
@click.pass_context
def send(ctx: click.Context) -> None:
    """Deliver every alert that is due, once, then exit (for cron); exit 1 if any failed."""
    from monitor.alerts import build_sinks
    from monitor.alerts.dispatch import Dispatcher

    config = load_cli_config(ctx)
    sinks = build_sinks(config)

    async def work(outbox: Outbox) -> DispatchStats:
        dispatcher = Dispatcher(outbox, sinks, config.delivery)
        try:
            return await dispatcher.drain()
        finally:
            for sink in sinks.values():
                await sink.aclose()

    stats = _with_outbox(config, work)
    click.echo(
        f"sent {stats.sent}, digests {stats.digests} ({stats.digested} alerts), "
        f"merged {stats.merged + stats.updates}, retrying {stats.retried}, failed {stats.failed}"
    )
    sys.exit(1 if stats.failed else 0)


@alerts.command("retry")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Requeue every failed and pending alert.")
@handle_errors
@click.pass_context
def retry(ctx: click.Context, ids: Sequence[int], everything: bool) -> None:
    """Requeue failed (or waiting) alerts by ID, or all of them, with fresh attempts."""
    if not ids and not everything:
        raise click.UsageError("give alert IDs (see `monitor alerts`) or --all")
    config = load_cli_config(ctx)

    async def work(outbox: Outbox) -> int:
        return await outbox.requeue(None if everything else list(ids), datetime.now(UTC))

    _report_changed("Requeued", _with_outbox(config, work), () if everything else ids)


@cli.command("test-alert")
@config_option
@click.argument("sink_name", metavar="SINK")
@handle_errors
@click.pass_context
def test_alert(ctx: click.Context, sink_name: str) -> None:
    """Send a sample alert through the configured sink SINK (the outbox is not touched)."""
    from monitor.alerts import build_sinks, render_options
    from monitor.alerts.format import render_alert

    config = load_cli_config(ctx, required=True)
    sinks = build_sinks(config, only=sink_name)
    sink = sinks.get(sink_name)
    if sink is None:
        enabled = [s.name for s in config.alerts if s.enabled]
        known = ", ".join(sorted(enabled)) or "none configured"
        raise ConfigError(f"{config.source}: no enabled sink named {sink_name!r}; sinks: {known}")
    alert = sample_alert(sink.name)
    message = render_alert(alert, render_options(sink.settings, config.delivery))

    async def deliver() -> None:
        try:
            await sink.send(alert, message)
        finally:
            await sink.aclose()

    asyncio.run(deliver())
    click.echo(f"Sent a sample alert through {sink.name}.")


@alerts.command("drop")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--sink", help="Drop every waiting alert of this sink (e.g. one you removed).")
@handle_errors
@click.pass_context
def drop(ctx: click.Context, ids: Sequence[int], sink: str | None) -> None:
    """Give up on pending or failed alerts for good, by ID or by sink; they are kept as dropped."""
    if not ids and sink is None:
        raise click.UsageError("give alert IDs (see `monitor alerts`) or --sink NAME")
    config = load_cli_config(ctx)

    async def work(outbox: Outbox) -> int:
        return await outbox.drop(datetime.now(UTC), ids=list(ids) or None, sink=sink)

    _report_changed("Dropped", _with_outbox(config, work), ids)
