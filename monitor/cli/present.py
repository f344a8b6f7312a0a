"""How stored posts and alerts look in a terminal and in files: rich panels and flat rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # only a type here; importing it would load SQLAlchemy for --help
    from monitor.storage.rows import StoredPost

CATEGORY_STYLE = {
    "desertion": "red",
    "awol": "yellow",
    "escape": "magenta",
    "mutiny": "bright_red",
    "hazing": "cyan",
    "crime": "blue",
}


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> Text:
    """Return ``text`` with the matched spans in bold."""
    rich_text = Text(text)
    for start, end in spans:
        rich_text.stylize("bold underline", start, end)
    return rich_text


def alert_panel(stored: StoredPost, sink: str, sent_at: datetime | None) -> Panel:
    """A panel for one delivered alert: where, when, what matched, the text and the link."""
    post = stored.post
    top = stored.matches[0] if stored.matches else None
    spans = sorted({span for match in stored.matches for span in match.spans})
    category = top.category if top else "-"
    title = Text.assemble(
        (f" {category.upper()} ", f"bold white on {CATEGORY_STYLE.get(category, 'grey37')}"),
        f"  {post.channel_title or post.channel_username or post.channel_id}",
        f"  {post.date:%H:%M:%S} UTC",
    )
    body = Text.assemble(highlighted(post.text, spans), "\n\n", (post.link, "dim"))
    rule = f"rule {top.rule_id} · score {top.score:.2f}" if top else ""
    return Panel(
        body, title=title, title_align="left", subtitle=f"{rule} · {sink}", subtitle_align="right"
    )


def flat_row(stored: StoredPost) -> dict[str, Any]:
    """One post as a flat record for JSON, JSON lines and CSV."""
    post = stored.post
    top = stored.matches[0] if stored.matches else None
    return {
        "id": stored.id,
        "channel": post.channel_username or str(post.channel_id),
        "channel_title": post.channel_title,
        "message_id": post.message_id,
        "date": post.date.isoformat(),
        "edit_date": post.edit_date.isoformat() if post.edit_date else None,
        "deleted_at": post.deleted_at.isoformat() if post.deleted_at else None,
        "link": post.link,
        "flagged": stored.flagged,
        "feedback": stored.feedback,
        "category": top.category if top else None,
        "categories": sorted({m.category for m in stored.matches}),
        "rules": [m.rule_id for m in stored.matches],
        "score": top.score if top else None,
        "terms": sorted({term for m in stored.matches for term in m.terms}),
        "spans": [list(span) for span in sorted({s for m in stored.matches for s in m.spans})],
        "language": stored.language,
        "views": post.views,
        "forwards": post.forwards,
        "forward_from": post.forward_from,
        "text": post.text,
    }


def posts_table(posts: Sequence[StoredPost], console: Console) -> None:
    """Print flagged posts as a table with the matched words in bold."""
    table = Table(title=f"{len(posts)} flagged posts", show_lines=True)
    for column in ("date (UTC)", "channel", "category", "rule", "text"):
        table.add_column(column, overflow="fold")
    for stored in posts:
        post = stored.post
        top = stored.matches[0] if stored.matches else None
        spans = sorted({span for match in stored.matches for span in match.spans})
        excerpt = highlighted(post.text[:400], [s for s in spans if s[1] <= 400])
        if post.deleted_at is not None:
            excerpt = Text(f"[deleted by the channel {post.deleted_at:%Y-%m-%d %H:%M}]\n").append(
                excerpt
            )
        excerpt.append(f"\n{post.link}", style="dim")
        table.add_row(
            f"{post.date:%Y-%m-%d %H:%M}",
            post.channel_username or str(post.channel_id),
            top.category if top else "-",
            top.rule_id if top else "-",
            excerpt,
        )
    console.print(table)
