"""Options the commands share: ``--since`` as a duration (``7d``) or a date, and
``--format table|json`` for the listing commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from monitor.config_types import duration_seconds


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """Parse ``--since``: a duration (``30m``, ``24h``, ``7d``, ``2w``) or an ISO date or time.

    A date or time without a zone is UTC.

    Raises:
        click.BadParameter: neither form.
    """
    if not text:
        return None
    now = now or datetime.now(UTC)
    seconds = duration_seconds(text)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: use 30m, 24h, 7d or a date like 2026-11-01") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since_value(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An option callback: the moment a ``--since`` value names, or a usage error naming it."""
    try:
        return parse_since(value)
    except click.BadParameter as error:
        raise click.BadParameter(error.message, ctx=ctx, param=param) from None


#: ``--format table|json`` of the listing commands (``stats``, ``mutes``, ``search``): the
#: value arrives as ``fmt``.
table_or_json = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for tools.",
)
