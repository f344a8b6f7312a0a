"""``monitor search``: full-text search over every stored post, flagged or not.

How an analyst finds the stories the rules missed. The search itself (word forms, filters,
paging) lives in ``monitor.storage.search``; this module parses options and prints.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.cli.params import parse_since, table_or_json

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that read, not by --help
    from monitor.storage.search import SearchHit


def _find(url: str, query: str, options: dict[str, Any]) -> list[SearchHit]:
    from monitor.storage.engine import existing_database
    from monitor.storage.search import search_posts

    async def run() -> list[SearchHit]:
        async with existing_database(url) as engine:
            return await search_posts(engine, query, **options)

    return asyncio.run(run())


def _snippet(hit: SearchHit) -> Text:
    """The snippet as plain text (never markup: posts are hostile) with its hits styled."""
    text = Text(hit.snippet.replace("\n", " "))
    for start, end in hit.highlights:
        text.stylize("bold yellow", start, end)
    return text


def _table(hits: list[SearchHit]) -> Table:
    table = Table("id", "channel", "date", "flag", "text")
    for hit in hits:
        flag = (hit.category or "flagged") if hit.flagged else ""
        when = hit.date.strftime("%Y-%m-%d %H:%M")
        text = _snippet(hit).append(f"\n{hit.link}", style="dim")
        table.add_row(str(hit.id), Text(hit.channel), when, flag, text)
    return table


def _json(hit: SearchHit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "channel": hit.channel,
        "message_id": hit.message_id,
        "date": hit.date.isoformat(),
        "flagged": hit.flagged,
        "category": hit.category,
        "link": hit.link,
        "snippet": hit.snippet,
        "highlights": [list(span) for span in hit.highlights],
        "deleted_at": hit.deleted_at.isoformat() if hit.deleted_at else None,
    }


@cli.command()
@config_option
@click.argument("query")
@click.option(
    "--flagged/--all",
    "flagged_only",
    default=False,
    help="Only flagged posts, or every stored post (the default).",
)
@click.option("--channel", help="Only this channel (@name or configured ref).")
@click.option("--since", help="Only posts since 30m, 24h, 7d or a date.")
@click.option("--before", type=int, help="Only posts with a smaller id (the next page).")
@click.option("--limit", default=50, show_default=True, help="At most this many posts.")
@table_or_json
@handle_errors
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    flagged_only: bool,
    channel: str | None,
    since: str | None,
    before: int | None,
    limit: int,
    fmt: str,
) -> None:
    """Search every stored post's text, in any word form (ru, uk, en), newest stored first.

    Every word of QUERY must match; a word matches its other forms (дезертир finds
    дезертиров, deserted finds deserters). Nothing in QUERY is syntax.
    """
    config = load_cli_config(ctx)
    options = {
        "flagged": True if flagged_only else None,
        "channel": channel,
        "since": parse_since(since),
        "before": before,
        "limit": limit,
    }
    hits = _find(config.database.url, query, options)
    if fmt == "json":
        json.dump([_json(hit) for hit in hits], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif hits:
        Console().print(_table(hits))
    else:
        click.echo("no stored post matches")
