"""Commands about configuration and the database: ``check-config``, ``db upgrade|current``."""

from __future__ import annotations

import json

import click

from monitor.cli.base import cli, config_option, handle_errors, options
from monitor.cli.context import load_cli_config
from monitor.config import mask_url_password
from monitor.invite_links import mask_invite_links


@cli.command("check-config")
@config_option
@handle_errors
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config and print the effective settings, secrets masked."""
    config = load_cli_config(ctx, required=True)
    effective = config.model_dump(mode="json")
    effective["database"]["url"] = mask_url_password(config.database.url)
    # Invite links are secrets too, wherever they sit (channels, sink filters).
    click.echo(mask_invite_links(json.dumps(effective, indent=2, ensure_ascii=False)))
    click.echo(f"{options(ctx).config_path}: OK", err=True)


@cli.group()
def db() -> None:
    """Database schema: migrate and inspect."""


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

    config = load_cli_config(ctx)
    current = migrate.current_revision(config.database.url)
    head = migrate.head_revision()
    state = "up to date" if current == head else f"behind; head is {head}, run `monitor db upgrade`"
    click.echo(f"{current or 'empty'} ({state})")
