"""Plain values that flow between the stages: ``Post``, ``Hit``, ``Match``, ``Alert``.

Frozen dataclasses only. This module imports nothing from the edges (Telethon, SQLAlchemy,
HTTP) so the pure core (rules, formatting) can depend on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from monitor.invite_links import mask_invite_links

# What no database takes in text: NUL (PostgreSQL refuses it) and lone surrogates (not
# encodable as UTF-8, so neither SQLite nor PostgreSQL). Each is replaced by U+FFFD, one
# character for one, so the rules' spans index the stored text exactly.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A forward origin is a key (``story_key`` too) kept in 64 characters; a hidden sender's name
# may be longer.
FORWARD_KEY_MAX = 64


POST_READ_CHARS = 16_384
"""How much of a post the rules and the story matcher read: four times Telegram's own
4,096-character limit. A longer post (only a hostile or broken server sends one) is stored
whole, but its tail is not read: one C-level scan of 120,000 characters holds the interpreter
lock long enough to stall the event loop, even from a worker thread."""


def storable_text(text: str) -> str:
    """Return ``text`` with NUL and lone surrogates replaced by U+FFFD (same length)."""
    return _UNSTORABLE.sub("\ufffd", text)


def _unstorable(text: str) -> bool:
    # Twice as fast as the regex search on a typical post: a memchr, then the codec's C loop.
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True, slots=True)
class Post:
    """One channel post as the monitor sees it, whatever the source.

    ``channel_id`` is Telegram's bare channel id (without the -100 prefix). ``grouped_id`` is
    the album id; an album is folded into one ``Post`` whose ``message_id`` is the album's
    first message. ``forward_from`` identifies the forward origin (``"<channel_id>/<msg_id>"``)
    when the post is a forward. ``deleted_at`` is when the channel deleted it (stored posts
    only).
    """

    channel_id: int
    message_id: int
    date: datetime
    text: str
    edit_date: datetime | None = None
    views: int | None = None
    forwards: int | None = None
    grouped_id: int | None = None
    forward_from: str | None = None
    channel_username: str | None = None
    channel_title: str | None = None
    has_media: bool = False
    album_ids: tuple[int, ...] = ()
    deleted_at: datetime | None = None

    def __post_init__(self) -> None:
        """Make the post storable as it enters the system, before any rule reads it."""
        for name in ("text", "channel_title", "forward_from"):
            value = getattr(self, name)
            if value and _unstorable(value):
                object.__setattr__(self, name, storable_text(value))
        if self.forward_from is not None and len(self.forward_from) > FORWARD_KEY_MAX:
            object.__setattr__(self, "forward_from", self.forward_from[:FORWARD_KEY_MAX])

    @property
    def link(self) -> str:
        """Return the public t.me link, or the ``t.me/c/`` link for private channels."""
        if self.channel_username:
            return f"https://t.me/{self.channel_username}/{self.message_id}"
        return f"https://t.me/c/{self.channel_id}/{self.message_id}"


@dataclass(frozen=True, slots=True)
class Hit:
    """One matched term: the rule's term as written and its span in the original text."""

    term: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that fired on a text, with every hit that made it fire."""

    rule_id: str
    category: str
    score: float
    hits: tuple[Hit, ...] = field(default=())

    @property
    def terms(self) -> tuple[str, ...]:
        """Return the distinct matched terms, in order of first appearance."""
        return tuple(dict.fromkeys(hit.term for hit in self.hits))

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Return the sorted, distinct character spans of the hits."""
        return tuple(sorted({(hit.start, hit.end) for hit in self.hits}))


@dataclass(frozen=True, slots=True)
class Alert:
    """A flagged post on its way to one sink; ``sources`` lists every channel that told it."""

    alert_id: int
    sink: str
    post: Post
    matches: tuple[Match, ...]
    sources: tuple[Post, ...] = ()
    language: str | None = None
    post_id: int | None = None  # the stored post's row id (feedback links name it)

    @property
    def top_match(self) -> Match:
        """Return the highest-scoring match (the first one on a tie)."""
        return max(self.matches, key=lambda match: match.score)


@dataclass(frozen=True, slots=True)
class Channel:
    """A monitored channel as stored: what its reference resolved to, its cursor and health.

    ``id`` is our row id; ``telegram_id`` and ``access_hash`` are set once resolved and reused
    from then on, so the username is never resolved again. ``cursor`` is the highest message id
    committed by the sweep; it stays 0 for a channel walked while empty, so ``walked`` tells
    a new channel from one the sweep reads from its start.
    """

    id: int
    ref: str
    status: str = "pending"
    telegram_id: int | None = None
    access_hash: int | None = None
    username: str | None = None
    title: str | None = None
    joined: bool = False
    cursor: int = 0
    last_post_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_error: str | None = None
    flood_wait_until: datetime | None = None
    walked: bool = False  # the first walk (initial backfill) ended, whatever it found

    @property
    def resolved(self) -> bool:
        """Tell whether the channel's id and access hash are known."""
        return self.telegram_id is not None and self.access_hash is not None

    @property
    def label(self) -> str:
        """Return a human name: @username, the title, or the reference (invite hash masked)."""
        if self.username:
            return f"@{self.username}"
        return self.title or mask_invite_links(self.ref)


@dataclass(frozen=True, slots=True)
class Classified:
    """A post with what the rules said of it and which sinks should be alerted."""

    post: Post
    matches: tuple[Match, ...]
    sinks: tuple[str, ...] = ()
    language: str | None = None
    ruleset_version: str = ""

    @property
    def flagged(self) -> bool:
        """Tell whether any rule fired."""
        return bool(self.matches)
