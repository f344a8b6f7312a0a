"""Commands that go back over history: ``backfill`` (older posts) and ``rescan`` (stored posts)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.cli.params import since_value
from monitor.invite_links import mask_invite_links

if TYPE_CHECKING:
    from monitor.backfill import BackfillReport


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[flagged]} flagged"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@cli.command()
@config_option
@click.argument("channel")
@click.option(
    "--since",
    metavar="SINCE",
    callback=since_value,
    help="Go back this far: 7d, 24h, or a date (UTC) like 2024-02-01.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Read at most this many older posts.")
@click.option("--alert", is_flag=True, help="Alert the sinks about flagged old posts too.")
@handle_errors
@click.pass_context
def backfill(
    ctx: click.Context, channel: str, since: datetime | None, limit: int | None, alert: bool
) -> None:
    """Store and flag CHANNEL's older posts; run it again to resume where it stopped."""
    from monitor.backfill import BackfillRequest
    from monitor.backfill import backfill as run_backfill

    if since is None and limit is None:
        raise click.UsageError("give --since DATE, --limit N or both")
    config = load_cli_config(ctx, required=True)
    request = BackfillRequest(channel, since=since, limit=limit, alert=alert)
    progress = _progress()  # shown from the first page on, so errors come without a bar
    task = progress.add_task(f"backfill {mask_invite_links(channel)}", total=limit, flagged=0)

    def on_page(report: BackfillReport) -> None:
        _advance(progress, task, report, limit)
        progress.start()  # after the update: the first frame already has the total

    try:
        report = asyncio.run(run_backfill(config, request, on_page))
    finally:
        progress.stop()
    end = "reached the start" if report.complete else "more remain"
    click.echo(
        f"{report.channel}: {report.fetched} posts read, {report.new} new, "
        f"{report.flagged} flagged, {report.alerts} alerts; oldest id "
        f"{report.oldest_id or '-'} ({end})"
    )


def _advance(progress: Progress, task: TaskID, report: BackfillReport, limit: int | None) -> None:
    """Show posts read against what is left (the limit, or the ids below the oldest read)."""
    total: int | None = limit
    if report.complete:
        total = report.fetched
    elif report.remaining is not None:
        left = report.fetched + report.remaining
        total = left if limit is None else min(limit, left)
    progress.update(task, completed=report.fetched, total=total, flagged=report.flagged)


@cli.command()
@config_option
@click.option("--alert", is_flag=True, help="Alert the sinks about newly flagged posts.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes that classify (default: one per core).",
)
@click.option(
    "--restart", is_flag=True, help="Start over, even where a stopped rescan could resume."
)
@handle_errors
@click.pass_context
def rescan(ctx: click.Context, alert: bool, jobs: int | None, restart: bool) -> None:
    """Re-apply the current rules to every stored post (keep them with store = "all").

    Stopped with Ctrl-C, it resumes after the last recorded post when run again with the
    same rules.
    """
    from monitor.rescan import RescanReport
    from monitor.rescan import rescan as run_rescan

    config = load_cli_config(ctx)
    progress = _progress()
    task = progress.add_task("rescan", total=None, flagged=0)

    def on_chunk(report: RescanReport) -> None:
        progress.update(task, completed=report.scanned, total=report.total, flagged=report.flagged)
        progress.start()

    try:
        report = asyncio.run(
            run_rescan(config, alert=alert, jobs=jobs, restart=restart, on_chunk=on_chunk)
        )
    except KeyboardInterrupt:
        progress.stop()
        click.echo("rescan stopped; run `monitor rescan` again to go on where it stopped", err=True)
        ctx.exit(130)
    finally:
        progress.stop()
    resumed = f" (resumed after {report.resumed_from})" if report.resumed_from else ""
    click.echo(
        f"rescanned {report.scanned} posts{resumed}: {report.flagged} newly flagged, "
        f"{report.matches} matches recorded, {report.alerts} alerts"
    )
