"""What the desk shows of a stored post: plain values for the templates and the JSON API.

Pure: no I/O. The post's text is cut into segments, marked or not, from the stored match
spans; the templates escape every segment (autoescape), never this module, so a hostile
text stays text. A huge post is shown up to ``SHOWN_CHARS`` with the rest counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.alerts.format import merge_spans
from monitor.cluster.status import instance_state
from monitor.invite_links import mask_invite_links

if TYPE_CHECKING:
    from monitor.storage.desk import StoryPeer
    from monitor.storage.feedback import Feedback
    from monitor.storage.rows import StoredPost
    from monitor.storage.search import SearchHit

SHOWN_CHARS = 4000


@dataclass(frozen=True)
class Segment:
    """A run of the post's text, matched (``<mark>``) or not."""

    text: str
    marked: bool


@dataclass(frozen=True)
class PostView:
    """One post as a desk row shows it."""

    id: int
    channel: str
    channel_title: str | None
    message_id: int
    date: str
    edited: str | None
    deleted: str | None
    link: str
    flagged: bool
    category: str | None
    score: float | None
    rules: list[str]
    terms: list[str]
    segments: list[Segment]
    hidden_chars: int
    peers: list[StoryPeer]
    feedback: Feedback | None


def segments(text: str, spans: Iterable[Sequence[int]]) -> list[Segment]:
    """Cut ``text`` into unmarked and marked runs along ``spans``."""
    parts: list[Segment] = []
    at = 0
    for start, end in merge_spans(spans, len(text)):
        if start > at:
            parts.append(Segment(text[at:start], False))
        parts.append(Segment(text[start:end], True))
        at = end
    if at < len(text):
        parts.append(Segment(text[at:], False))
    return parts


def _spans(stored: StoredPost) -> list[tuple[int, int]]:
    return sorted({span for match in stored.matches for span in match.spans})


def _when(moment: Any) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def post_view(stored: StoredPost, peers: list[StoryPeer], feedback: Feedback | None) -> PostView:
    """Return the desk's view of ``stored``."""
    post = stored.post
    top = stored.matches[0] if stored.matches else None
    shown = post.text[:SHOWN_CHARS]
    return PostView(
        id=stored.id,
        channel=post.channel_username or str(post.channel_id),
        channel_title=post.channel_title,
        message_id=post.message_id,
        date=f"{post.date:%Y-%m-%d %H:%M} UTC",
        edited=_when(post.edit_date),
        deleted=_when(post.deleted_at),
        link=post.link,
        flagged=stored.flagged,
        category=top.category if top else None,
        score=top.score if top else None,
        rules=[m.rule_id for m in stored.matches],
        terms=sorted({term for m in stored.matches for term in m.terms}),
        segments=segments(shown, _spans(stored)),
        hidden_chars=len(post.text) - len(shown),
        peers=peers,
        feedback=feedback,
    )


@dataclass(frozen=True)
class ChannelHealth:
    """One channel as the health table shows it."""

    label: str
    status: str
    last_post: str
    lag: str
    flagged: int
    missed_by_live: int
    flood_wait: str
    last_error: str
    post_errors: int
    failing: bool


def age(moment: datetime | None, now: datetime) -> str:
    """``3m``, ``5h``, ``2d`` ago, or ``-``."""
    if moment is None:
        return "-"
    return span(max(0.0, (now - moment).total_seconds()))


def span(seconds: float) -> str:
    """``45s``, ``3m``, ``5h`` or ``2d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"


def channel_health(row: Any, now: datetime) -> ChannelHealth:
    """A ``ChannelOverview`` as a health row (the label, never an invite link's hash)."""
    channel = row.channel
    wait = channel.flood_wait_until
    return ChannelHealth(
        label=channel.label,
        status=channel.status,
        last_post=age(channel.last_post_at, now),
        lag=age(channel.last_polled_at, now),
        flagged=row.flagged,
        missed_by_live=row.missed_by_live,
        flood_wait=span((wait - now).total_seconds()) if wait and wait > now else "-",
        last_error=mask_invite_links(channel.last_error or "")[:200],
        post_errors=row.post_errors,
        failing=channel.status not in ("active", "pending"),
    )


@dataclass(frozen=True)
class InstanceRow:
    """One instance of a cluster as the health page shows it."""

    account: str
    host: str
    version: str
    state: str
    heartbeat: str
    held: int
    oldest_lease: str


@dataclass(frozen=True)
class ClusterHealth:
    """The instances sharing the database and the enabled channels nobody holds."""

    instances: list[InstanceRow]
    unheld: list[str]


def cluster_health(overview: Any, lease: float) -> ClusterHealth:
    """A ``ClusterOverview`` as the health page shows it (labels, never invite hashes)."""
    now = overview.now
    rows = [
        InstanceRow(
            account=item.account,
            host=item.host,
            version=item.version,
            state=instance_state(item, now, lease),
            heartbeat=age(item.heartbeat_at, now),
            held=item.held,
            oldest_lease=age(item.oldest_lease, now),
        )
        for item in overview.instances
    ]
    return ClusterHealth(rows, [mask_invite_links(ref) for ref in overview.unheld])


def found_view(view: PostView, hit: SearchHit) -> PostView:
    """``view`` showing the search's snippet with the query's words marked."""
    cut = view.hidden_chars + sum(len(part.text) for part in view.segments) - len(hit.snippet)
    return replace(view, segments=segments(hit.snippet, hit.highlights), hidden_chars=cut)


def feedback_json(feedback: Feedback | None) -> dict[str, Any] | None:
    """A post's current feedback as JSON, or None."""
    if feedback is None:
        return None
    return {
        "label": feedback.label,
        "category": feedback.category,
        "who": feedback.who,
        "at": feedback.at.isoformat(),
    }


def post_json(stored: StoredPost, feedback: Feedback | None) -> dict[str, Any]:
    """One post as the JSON API gives it."""
    post = stored.post
    top = stored.matches[0] if stored.matches else None
    return {
        "id": stored.id,
        "channel": post.channel_username or str(post.channel_id),
        "message_id": post.message_id,
        "date": post.date.isoformat(),
        "edit_date": post.edit_date.isoformat() if post.edit_date else None,
        "deleted_at": post.deleted_at.isoformat() if post.deleted_at else None,
        "text": post.text,
        "flagged": stored.flagged,
        "category": top.category if top else None,
        "score": top.score if top else None,
        "rules": [m.rule_id for m in stored.matches],
        "spans": [list(span) for span in _spans(stored)],
        "link": post.link,
        "feedback": feedback_json(feedback),
    }


def hit_json(hit: SearchHit, feedback: Feedback | None) -> dict[str, Any]:
    """One search hit as the JSON API gives it."""
    return {
        "id": hit.id,
        "channel": hit.channel,
        "message_id": hit.message_id,
        "date": hit.date.isoformat(),
        "deleted_at": hit.deleted_at.isoformat() if hit.deleted_at else None,
        "flagged": hit.flagged,
        "category": hit.category,
        "snippet": hit.snippet,
        "highlights": [list(span) for span in hit.highlights],
        "link": hit.link,
        "feedback": feedback_json(feedback),
    }
