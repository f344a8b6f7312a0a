"""Rich tables for the terminal: channels, flagged posts, stats. Presentation only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.budget import PollDemand, effective_intervals
from monitor.cluster.status import instance_state
from monitor.config import Config


def age(moment: datetime | None, now: datetime) -> str:
    """Return a short human age like ``3m`` or ``2h`` (``-`` when unknown)."""
    if moment is None:
        return "-"
    return duration((now - moment).total_seconds())


def duration(seconds: float) -> str:
    """Return a short human duration like ``45s``, ``3m`` or ``2h``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _intervals(config: Config, rows: Sequence[Any]) -> dict[int, float]:
    demands = [
        PollDemand(row.channel.id, config.channel_interval(row.channel.ref))
        for row in rows
        if row.channel.resolved
    ]
    return effective_intervals(demands, config.scheduler.history_requests_per_minute)


def channels_table(
    config: Config, rows: Sequence[Any], now: datetime, console: Console | None = None
) -> None:
    """Print the channels overview."""
    intervals = _intervals(config, rows)
    table = Table(title="Channels", expand=False)
    for column in (
        "channel",
        "status",
        "last post",
        "cursor",
        "lag",
        "interval",
        "flagged",
        "missed live",
        "flood wait",
        "last error",
        "post errors",
    ):
        table.add_column(column)
    for row in rows:
        channel = row.channel
        wait = channel.flood_wait_until
        table.add_row(
            channel.label,  # never the raw reference: an invite link's hash is a secret
            channel.status,
            age(channel.last_post_at, now),
            str(channel.cursor),
            age(channel.last_polled_at, now),
            f"{intervals[channel.id]:.0f}s" if channel.id in intervals else "-",
            str(row.flagged),
            str(row.missed_by_live),
            duration((wait - now).total_seconds()) if wait and wait > now else "-",
            (channel.last_error or "")[:60],
            str(row.post_errors),
        )
    (console or Console()).print(table)


def alerts_table(items: Sequence[Any], now: datetime, console: Console | None = None) -> None:
    """Print the waiting and failed alerts of the outbox (``monitor alerts``).

    The post's link and the last error share a column, one above the other, and that column
    gets most of a narrow terminal's width, so a link stays whole when it can.
    """
    table = Table(title="Pending and failed alerts")
    table.add_column("id", justify="right")
    table.add_column("sink", overflow="fold", ratio=1)
    table.add_column("state")
    table.add_column("try", justify="right")
    table.add_column("next")
    table.add_column("post · last error", overflow="fold", ratio=3)
    for item in items:
        wait = (item.next_attempt_at - now).total_seconds()
        due = "-" if item.state != "pending" else ("now" if wait <= 0 else f"in {duration(wait)}")
        post = Text(item.alert.post.link if item.alert else f"notice: {item.notice}"[:200])
        if item.last_error:
            post.append("\n" + item.last_error.replace("\n", " ")[:300], style="red")
        table.add_row(str(item.id), item.sink, item.state, str(item.attempts), due, post)
    console = console or Console()
    # Too wide for the terminal: fill its width, the post column taking the largest share.
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    table.expand = natural > console.width
    console.print(table)


def cluster_table(overview: Any, lease: float, console: Console | None = None) -> None:
    """Print the instances of a cluster and the channels nobody holds."""
    now = overview.now
    table = Table(title="Instances", expand=False)
    for column in ("id", "account", "host", "pid", "version", "state", "heartbeat", "channels"):
        table.add_column(column)
    table.add_column("oldest lease")
    for item in overview.instances:
        table.add_row(
            str(item.id),
            item.account,
            item.host,
            str(item.pid),
            item.version,
            instance_state(item, now, lease),
            age(item.heartbeat_at, now),
            str(item.held),
            age(item.oldest_lease, now),
        )
    out = console or Console()
    out.print(table)
    if overview.unheld:
        out.print(f"Held by no instance ({len(overview.unheld)}): " + ", ".join(overview.unheld))
    else:
        out.print("Every enabled channel is held by an instance.")
