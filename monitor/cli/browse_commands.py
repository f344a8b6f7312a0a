"""Commands for analysts: ``flagged``, ``export``, ``stats``, and the offline ``demo``."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import json
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click
from rich.console import Console

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.cli.params import parse_since, table_or_json
from monitor.cli.present import alert_panel, flat_row, posts_table
from monitor.config import Config

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that read, not by --help
    from monitor.storage.browse import Browser, PostFilter
    from monitor.storage.rows import StoredPost

T = TypeVar("T")
FIELDS = [
    "id", "channel", "channel_title", "message_id", "date", "edit_date", "deleted_at", "link",
    "flagged", "feedback", "category",
    "categories", "rules", "score", "terms", "spans", "language", "views", "forwards",
    "forward_from", "text",
]  # fmt: skip
# What json.dumps(value, ensure_ascii=False) does, without building an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False)


def with_browser(config: Config, work: Callable[[Browser], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` with a browser on the configured database, closing it afterwards."""
    from monitor.storage.browse import Browser
    from monitor.storage.engine import existing_database

    async def run() -> T:
        async with existing_database(config.database.url) as engine:
            return await work(Browser(engine))

    return asyncio.run(run())


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``flagged`` and ``export`` share."""
    for option in reversed(
        [
            click.option("--since", help="Only posts since 30m, 24h, 7d or a date."),
            click.option("--category", help="Only this category (desertion, awol, ...)."),
            click.option("--channel", help="Only this channel (@name or id)."),
            click.option("--rule", help="Only posts this rule id matched."),
        ]
    ):
        func = option(func)
    return func


def _category(category: str | None) -> str | None:
    """Refuse a category that does not exist (a typo would list nothing, with status 0)."""
    from monitor.rules.schema import CATEGORIES

    if category is not None and category not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        raise click.BadParameter(
            f"unknown category {category!r} (one of {known})", None, None, "'--category'"
        )
    return category


async def _checked(
    browser: Browser,
    criteria: PostFilter,
    read: Callable[[PostFilter], Coroutine[Any, Any, list[StoredPost]]],
) -> list[StoredPost]:
    """Refuse a channel or rule the database has never seen, then read the posts."""
    problem = await browser.unknown_filter(criteria)
    if problem:
        raise click.UsageError(problem)
    return await read(criteria)


def write_rows(posts: Iterable[StoredPost], fmt: str, out: TextIO) -> None:
    """Write posts as json (one array), jsonl or csv."""
    if fmt == "json":
        json.dump([flat_row(post) for post in posts], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    write = row_writer(fmt, out)
    for post in posts:
        write(post)


def row_writer(fmt: str, out: TextIO) -> Callable[[StoredPost], object]:
    """Return a function that writes one post as a jsonl line or a csv row (header first)."""
    if fmt == "jsonl":
        return lambda post: out.write(json.dumps(flat_row(post), ensure_ascii=False) + "\n")
    writer = csv.writer(out)
    writer.writerow(FIELDS)

    def write(post: StoredPost) -> None:
        row = flat_row(post)
        writer.writerow([_csv_value(row[name]) for name in FIELDS])

    return write


async def stream_rows(browser: Browser, criteria: PostFilter, fmt: str, out: TextIO) -> int:
    """Write every post ``criteria`` names as it is read (never all of them in memory)."""
    problem = await browser.unknown_filter(criteria)
    if problem:
        raise click.UsageError(problem)
    write = _csv_batches(out) if fmt == "csv" else _jsonl_batches(out)
    count = 0
    with _collected_per_batch() as collect:
        async for batch in browser.export_rows(criteria):
            write(batch)
            count += len(batch)
            collect()
    return count


@contextlib.contextmanager
def _collected_per_batch() -> Iterator[Callable[[], object]]:
    """Collect cycles once per batch rather than every 700 allocations.

    An export allocates millions of short-lived lists and tuples; the automatic collector
    would walk the whole heap (SQLAlchemy, the rules, ...) again and again, a third of the
    time. The heap as it stands is set aside (frozen) meanwhile, so a collection walks only
    the batches in flight.
    """
    gc.freeze()
    gc.disable()
    try:
        yield gc.collect
    finally:
        gc.enable()
        gc.unfreeze()


def _csv_batches(out: TextIO) -> Callable[[list[tuple[Any, ...]]], None]:
    """Return a function that writes export records as csv rows (the header first)."""
    from monitor.storage.export import LIST_FIELDS

    writer = csv.writer(out)
    writer.writerow(FIELDS)
    encode = _JSON.encode

    def write(batch: list[tuple[Any, ...]]) -> None:
        rows = [list(record) for record in batch]
        for row in rows:
            for at in LIST_FIELDS:
                row[at] = encode(row[at]) if row[at] else "[]"
        writer.writerows(rows)

    return write


def _jsonl_batches(out: TextIO) -> Callable[[list[tuple[Any, ...]]], None]:
    """Return a function that writes export records as JSON lines."""
    from monitor.storage.export import EXPORT_FIELDS

    encode = _JSON.encode

    def write(batch: list[tuple[Any, ...]]) -> None:
        out.writelines(
            encode(dict(zip(EXPORT_FIELDS, record, strict=True))) + "\n" for record in batch
        )

    return write


def _csv_value(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value


@cli.command()
@config_option
@filter_options
@click.option("--limit", default=50, show_default=True, help="At most this many posts.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
    help="table for people; json, jsonl or csv (one row per post) for tools.",
)
@handle_errors
@click.pass_context
def flagged(
    ctx: click.Context,
    since: str | None,
    category: str | None,
    channel: str | None,
    rule: str | None,
    limit: int,
    fmt: str,
) -> None:
    """List recent flagged posts, newest first (a table, or JSON/CSV for analysts)."""
    from monitor.storage.browse import PostFilter

    config = load_cli_config(ctx)
    criteria = PostFilter(parse_since(since), _category(category), channel, rule, True, limit)
    posts = with_browser(config, lambda browser: _checked(browser, criteria, browser.posts))
    if fmt == "table":
        posts_table(posts, Console())
    else:
        write_rows(posts, fmt, sys.stdout)


@cli.command()
@config_option
@filter_options
@click.option("--all", "all_posts", is_flag=True, help="All stored posts, not only flagged ones.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="csv (lists as JSON in their cells) or jsonl (one JSON object per line).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout).",
)
@handle_errors
@click.pass_context
def export(
    ctx: click.Context,
    since: str | None,
    category: str | None,
    channel: str | None,
    rule: str | None,
    all_posts: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Export flagged (or all) posts with links, matched terms and categories, oldest first."""
    from monitor.storage.browse import PostFilter

    config = load_cli_config(ctx)
    criteria = PostFilter(
        parse_since(since), _category(category), channel, rule, not all_posts, None
    )
    if output is None:
        with_browser(config, lambda browser: stream_rows(browser, criteria, fmt, sys.stdout))
        return
    partial = output.with_name(output.name + ".part")  # a failed export leaves no half file
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            count = with_browser(
                config, lambda browser: stream_rows(browser, criteria, fmt, handle)
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    click.echo(f"wrote {count} posts to {output}", err=True)


@cli.command()
@config_option
@click.option("--since", default="7d", show_default=True, help="Period: 24h, 7d, or a date.")
@table_or_json
@handle_errors
@click.pass_context
def stats(ctx: click.Context, since: str, fmt: str) -> None:
    """Posts and flags per channel and category over a period."""
    from rich.table import Table

    config = load_cli_config(ctx)
    start = parse_since(since)
    rows = with_browser(config, lambda browser: browser.stats(start))
    if fmt == "json":
        click.echo(json.dumps([vars(row) for row in rows], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Since {start:%Y-%m-%d %H:%M} UTC" if start else "All time")
    for column in ("channel", "category", "posts", "flagged"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.channel, row.category or "(all)", str(row.posts), str(row.flagged))
    Console().print(table)


@cli.command()
@click.option("--duration", type=float, help="Stop after this many seconds (default: Ctrl-C).")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("monitor-demo"),
    show_default=True,
    help="Where the demo keeps its config, database and log.",
)
@click.option(
    "--every", type=float, default=3.0, show_default=True, help="Seconds between demo posts."
)
@click.option(
    "--web",
    metavar="HOST:PORT",
    default="127.0.0.1:8470",
    show_default=True,
    help="Where to serve the analyst's desk (another port if taken); 'off' for none.",
)
@handle_errors
def demo(duration: float | None, folder: Path, every: float, web: str) -> None:
    """See it work offline: a local Telegram with demo channels, the real daemon, live alerts."""
    from monitor.demo import run_demo

    console = Console()
    console.print(
        f"[bold]monitor demo[/]: a local Telegram server with three invented channels; new "
        f"posts every {every:g} s; alerts appear below. Ctrl-C stops. Files in {folder}/"
    )

    def show(alert: Any) -> None:
        if alert.post is not None:
            console.print(alert_panel(alert.post, alert.sink, alert.sent_at))
        else:
            console.print(f"[yellow]notice[/] {alert.text}")

    def desk(address: str) -> None:
        console.print(f"[bold]The desk[/]: open {address} to read, judge and mute.")

    listen = None if web == "off" else web
    summary = run_demo(folder, duration, every, show, listen, desk)
    console.print(
        f"\n{summary['published']} posts published, {summary['alerts']} alerts delivered. "
        f"Browse them: monitor flagged --config {folder}/monitor.toml"
    )
