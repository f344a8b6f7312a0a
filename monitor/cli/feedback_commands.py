"""``monitor feedback``, ``mute``, ``mutes`` and ``unmute``: judging posts and holding back alerts.

What is recorded here is what the web page and the alerts' buttons record: the same storage
calls (``monitor.storage.feedback``). A mute takes effect in a running daemon at once. This
module only parses arguments and prints.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.cli.params import table_or_json
from monitor.config import Config
from monitor.errors import FeedbackError

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that run, not by --help
    from monitor.rules.scoring import Example
    from monitor.storage.feedback import FeedbackStore, Mute

T = TypeVar("T")
LABEL_CHOICES = ("confirmed", "false_positive", "missed")
# https://t.me/name/123, t.me/c/1234/56, @name/123, name/123
_POST_REF = re.compile(r"^(?:https?://)?(?:t\.me/)?(?:c/)?@?([\w\-]+)/(\d+)/?$")


def with_feedback(config: Config, work: Callable[[FeedbackStore], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` with the feedback store of the configured (existing) database."""
    from monitor.storage.engine import existing_database
    from monitor.storage.feedback import FeedbackStore

    async def run() -> T:
        async with existing_database(config.database.url) as engine:
            return await work(FeedbackStore(engine))

    return asyncio.run(run())


async def _post_id(store: FeedbackStore, given: str) -> int:
    """The row id ``given`` names: a number, or a post link (``https://t.me/name/123``)."""
    if given.isdigit():
        return int(given)
    found = _POST_REF.match(given.strip())
    if found is None:
        raise FeedbackError(
            f"post {given!r}: give the id `monitor flagged --format json` shows, or the "
            "post's link (https://t.me/name/123)"
        )
    post_id = await store.post_id_of(found[1], int(found[2]))
    if post_id is None:
        raise FeedbackError(f"post {given!r} is not stored")
    return post_id


@cli.command("feedback")
@config_option
@click.argument("post")
@click.argument("label", type=click.Choice(LABEL_CHOICES))
@click.option("--category", help="The story's category (needed for missed).")
@click.option("--note", help="A note kept with the judgement.")
@click.option("--who", default="cli", show_default=True, help="Who judged (kept with it).")
@handle_errors
@click.pass_context
def feedback(
    ctx: click.Context,
    post: str,
    label: str,
    category: str | None,
    note: str | None,
    who: str,
) -> None:
    """Judge a stored POST (its id or link): confirmed, false_positive or missed story."""
    config = load_cli_config(ctx)

    async def record(store: FeedbackStore) -> Any:
        post_id = await _post_id(store, post)
        return await store.record_feedback(post_id, label, category, who, note=note)

    done = with_feedback(config, record)
    what = f"{done.label} ({done.category})" if done.category else done.label
    click.echo(f"post {done.post_id}: {what}, by {done.who} at {done.at:%Y-%m-%d %H:%M} UTC")


@cli.command("mute")
@config_option
@click.argument("kind", type=click.Choice(["channel", "rule"]))
@click.argument("target")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    help="For this many hours (default: until `monitor unmute`).",
)
@click.option("--who", default="cli", show_default=True, help="Who muted (kept with it).")
@handle_errors
@click.pass_context
def mute(ctx: click.Context, kind: str, target: str, hours: float | None, who: str) -> None:
    """Stop alerts from a channel (@name) or a rule (its id); posts are still stored.

    A running daemon holds the alerts back from its next post on, without a restart.
    """
    config = load_cli_config(ctx)
    if kind == "rule":
        _check_rule(ctx, target)
    made = with_feedback(config, lambda store: store.mute(kind, target, hours, who))
    held = f"; {made.held_back} waiting alerts held back" if made.held_back else ""
    click.echo(f"mute {made.id}: {_describe(made)}{held}; `monitor unmute {made.id}` undoes it")


def _check_rule(ctx: click.Context, rule_id: str) -> None:
    """Refuse a rule id the rules in effect do not have (a typo would mute nothing)."""
    from monitor.cli.rules import effective_ruleset
    from monitor.rules.scorer import SCORER_ID

    ids = {rule.id for rule in effective_ruleset(ctx, (), False).rules} | {SCORER_ID}
    if rule_id.strip() not in ids:
        close = sorted(i for i in ids if rule_id.lower()[:4] in i.lower())[:10]
        hint = f" (like: {', '.join(close)})" if close else ""
        raise FeedbackError(
            f"no rule {rule_id!r} in the rules in effect{hint}; `monitor rules check` counts them"
        )


def _describe(made: Mute, now: datetime | None = None) -> str:
    """``channel news_ch until 2026-12-05 10:00 UTC (active)`` and the like."""
    until = f"until {made.until:%Y-%m-%d %H:%M} UTC" if made.until else "until undone"
    return f"{made.kind} {made.target} {until} ({made.state(now or datetime.now(UTC))})"


@cli.command("mutes")
@config_option
@click.option("--all", "everything", is_flag=True, help="Expired and undone mutes too.")
@table_or_json
@handle_errors
@click.pass_context
def mutes(ctx: click.Context, everything: bool, fmt: str) -> None:
    """List the mutes in force (newest first), or every mute with --all."""
    config = load_cli_config(ctx)
    listed = with_feedback(config, lambda store: store.list_mutes(include_undone=everything))
    now = datetime.now(UTC)
    if fmt == "json":
        click.echo(json.dumps([_mute_record(m, now) for m in listed], indent=2))
        return
    if not listed:
        click.echo("no mutes in force" if not everything else "no mutes")
    for made in listed:
        click.echo(f"{made.id}  {_describe(made, now)}  by {made.who}")


def _mute_record(made: Mute, now: datetime) -> dict[str, Any]:
    return {
        "id": made.id,
        "kind": made.kind,
        "target": made.target,
        "until": made.until.isoformat() if made.until else None,
        "created_at": made.created_at.isoformat(),
        "who": made.who,
        "undone_at": made.undone_at.isoformat() if made.undone_at else None,
        "state": made.state(now),
    }


@cli.command("unmute")
@config_option
@click.argument("mute_id", type=int)
@handle_errors
@click.pass_context
def unmute(ctx: click.Context, mute_id: int) -> None:
    """Undo mute MUTE_ID (`monitor mutes` lists them); alerts resume at once."""
    config = load_cli_config(ctx)
    undone = with_feedback(config, lambda store: store.undo_mute(mute_id))
    click.echo(f"mute {undone.id}: {_describe(undone)}")


def stored_examples(config: Config) -> list[Example]:
    """The judged posts of the configured database as labelled examples (id ``post:N``).

    Raises:
        FeedbackError: nothing is judged yet.
    """
    from monitor.rules.scoring import Example

    async def read(store: FeedbackStore) -> list[Example]:
        return [
            Example(
                f"post:{item.post_id}",
                item.text,
                item.positive,
                item.category or ("?" if item.positive else "none"),
                str(item.language),
            )
            async for item in store.labelled_posts()
        ]

    examples = with_feedback(config, read)
    if not examples:
        raise FeedbackError(
            "no stored feedback yet; judge posts with `monitor feedback` or the web desk"
        )
    return examples
