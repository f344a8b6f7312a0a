"""Commands about configuration and the database: ``check-config``, ``db upgrade|current|prune``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import click

from monitor.cli.base import cli, config_option, handle_errors, options
from monitor.cli.context import load_cli_config
from monitor.config import Config, mask_url
from monitor.invite_links import mask_invite_links
from monitor.logs import REDACTED

SECRET_HEADER = re.compile(r"auth|token|key|secret|cookie|pass|signature", re.IGNORECASE)

if TYPE_CHECKING:
    from monitor.retention import PruneReport


@cli.command("check-config")
@config_option
@handle_errors
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config as `run` does and print the effective settings, secrets masked."""
    from monitor.preflight import prepare

    config = load_cli_config(ctx, required=True)
    prepare(config)
    effective = config.model_dump(mode="json")
    effective["database"]["url"] = mask_url(config.database.url)
    for sink in effective["alerts"]:
        if "url" in sink:
            sink["url"] = mask_url(sink["url"])
        for name in sink.get("headers", {}):
            if SECRET_HEADER.search(name):  # Authorization: Bearer ..., X-Api-Key: ...
                sink["headers"][name] = REDACTED
    # Invite links are secrets too, wherever they sit (channels, sink filters).
    click.echo(mask_invite_links(json.dumps(effective, indent=2, ensure_ascii=False)))
    click.echo(f"{options(ctx).config_path}: OK", err=True)


@cli.group()
def db() -> None:
    """Database schema and retention: migrate, inspect, prune."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@handle_errors
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database to the newest schema (safe to run on every start)."""
    from monitor.storage import migrate  # alembic: only for the commands that migrate

    config = load_cli_config(ctx)
    migrate.upgrade(config.database.url, revision)
    click.echo(f"database at {migrate.current_revision(config.database.url)} (head)")


@db.command("current")
@config_option
@handle_errors
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision and whether it is up to date."""
    from monitor.storage import migrate
    from monitor.storage.engine import sqlite_file

    config = load_cli_config(ctx)
    path = sqlite_file(config.database.url)
    if path is not None and not path.exists():  # looking must not create the file
        click.echo(f"empty (no database at {path} yet; `monitor db upgrade` creates it)")
        return
    current = migrate.current_revision(config.database.url)
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind; head is {head}, run `monitor db upgrade`"
    click.echo(f"{current or 'empty'} ({state})")


@db.command("prune")
@config_option
@click.option(
    "--vacuum",
    is_flag=True,
    help="SQLite: then rebuild the file compactly, with incremental vacuum from then on "
    "(takes a while; stop the daemon first).",
)
@handle_errors
@click.pass_context
def db_prune(ctx: click.Context, vacuum: bool) -> None:
    """Empty the text of posts older than [database] keep_unflagged / keep_flagged, now."""
    import asyncio

    config = load_cli_config(ctx)
    report, mode = asyncio.run(_prune(config, vacuum))
    settings = config.database
    click.echo(
        f"pruned the text of {report.unflagged} unflagged posts (keep_unflagged = "
        f"{settings.keep_unflagged}) and {report.flagged} flagged posts (keep_flagged = "
        f"{settings.keep_flagged}); {report.freed_pages} free pages given back"
    )
    if vacuum and mode is not None:
        click.echo(f"vacuumed: the file is compact, auto_vacuum is now {mode}")
    elif mode == "none":
        click.echo(
            "note: this SQLite file predates incremental vacuum, so it does not shrink; "
            "run `monitor db prune --vacuum` once, with the daemon stopped"
        )


async def _prune(config: Config, vacuum: bool) -> tuple[PruneReport, str | None]:
    from datetime import UTC, datetime

    from monitor.retention import prune
    from monitor.storage.engine import existing_database
    from monitor.storage.repository import Repository

    async with existing_database(config.database.url) as engine:
        repository = Repository(engine)
        report = await prune(repository, config.database, datetime.now(UTC))
        if vacuum:
            await repository.full_vacuum()
        return report, await repository.vacuum_mode()
