"""Commands that run the monitor: ``run``, ``login``, ``health``, ``channels``."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config, use_session
from monitor.errors import ConfigError

SESSION_HELP = (
    "The account's session: a name (NAME.session beside the config) or a file. Each of "
    "several instances sharing a PostgreSQL database names its own."
)


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Sweep every channel once, then exit (for cron).")
@click.option("--session", "session", metavar="NAME", help=SESSION_HELP)
@handle_errors
@click.pass_context
def run(ctx: click.Context, once: bool, session: str | None) -> None:
    """Watch the configured channels and raise alerts (until SIGTERM or Ctrl-C)."""
    from monitor.daemon import Daemon

    config = use_session(load_cli_config(ctx, required=True), session)
    sys.exit(asyncio.run(Daemon(config, once=once).run()))


@cli.command()
@config_option
@click.option(
    "--string",
    "as_string",
    is_flag=True,
    help="Print a StringSession instead of writing a session file.",
)
@click.option("--phone", help="Phone number in international form (asked if not given).")
@click.option("--session", "session", metavar="NAME", help=SESSION_HELP)
@handle_errors
@click.pass_context
def login(ctx: click.Context, as_string: bool, phone: str | None, session: str | None) -> None:
    """Log the monitoring account in (phone, code, 2FA password) and save the session."""
    from monitor.telegram.login import interactive_login

    config = use_session(load_cli_config(ctx, required=True), session)
    if config.telegram is None:
        raise ConfigError(f"{config.source}: telegram: required for login; add api_id and api_hash")
    if config.telegram.missing_secret():
        raise ConfigError(f"{config.source}: telegram: {config.telegram.missing_secret()}")
    outcome = asyncio.run(
        interactive_login(
            config.telegram,
            as_string=as_string,
            # Prompts go to stderr: with --string, stdout carries the session and nothing else.
            phone=phone
            or (lambda: click.prompt("Phone number (international, e.g. +4917...)", err=True)),
            code=lambda: click.prompt("Login code Telegram sent you", err=True),
            password=lambda: click.prompt(
                "Two-step verification password", hide_input=True, err=True
            ),
        )
    )
    click.echo(outcome.message, err=True)
    if outcome.session_string:
        click.echo(outcome.session_string)


@cli.command()
@config_option
@click.option("--session", "session", metavar="NAME", help="The instance started with it.")
@handle_errors
@click.pass_context
def health(ctx: click.Context, session: str | None) -> None:
    """Exit 0 when the running daemon's heartbeat is fresh, 1 otherwise (for HEALTHCHECK)."""
    from monitor.heartbeat import read_health

    config = use_session(load_cli_config(ctx), session)
    verdict = read_health(config.metrics.heartbeat_file, config.metrics.heartbeat_max_age)
    click.echo(verdict.reason)
    sys.exit(0 if verdict.healthy else 1)


@cli.group(invoke_without_command=True)
@config_option
@handle_errors
@click.pass_context
def channels(ctx: click.Context) -> None:
    """Show every channel: status, last post, cursor, lag, flags, missed live, errors, waits."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.cli.tables import channels_table
    from monitor.storage.engine import existing_database
    from monitor.storage.repository import Repository

    config = load_cli_config(ctx)

    async def read() -> list[object]:
        async with existing_database(config.database.url) as engine:
            return list(await Repository(engine).channel_overview())

    rows = asyncio.run(read())
    channels_table(config, rows, datetime.now(UTC))


@channels.command("reset")
@config_option
@click.argument("ref")
@handle_errors
@click.pass_context
def channels_reset(ctx: click.Context, ref: str) -> None:
    """Resolve channel REF again: forget its access hash, status and error.

    For a channel stuck as not_found or private after the monitoring account was replaced.
    Its cursor and posts stay. The daemon resolves it at its next poll (or start), under the
    resolve budget.
    """
    from monitor.storage.engine import existing_database
    from monitor.storage.repository import Repository
    from monitor.telegram.refs import names_channel, parse_ref

    config = load_cli_config(ctx)
    parse_ref(ref)  # a bad reference is a one-line error before the database is opened

    async def reset() -> str:
        async with existing_database(config.database.url) as engine:
            repository = Repository(engine)
            found = [c for c in await repository.channels() if names_channel(ref, c)]
            if len(found) != 1:
                known = "no stored channel" if not found else f"{len(found)} stored channels"
                raise ConfigError(f"{ref}: {known} match; see `monitor channels`")
            await repository.reset_channel(found[0].id)
            return f"{found[0].label}: reset (was {found[0].status}); it is resolved again next"

    click.echo(asyncio.run(reset()))
