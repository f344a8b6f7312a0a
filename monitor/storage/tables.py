"""The database schema as SQLAlchemy 2 typed tables.

What the service keeps: channels (resolved once, with their cursor and health), posts (unique on
channel + message id), rule matches, the alert outbox, and persisted flood waits. Times are stored
as naive UTC and come back timezone-aware. Nothing outside ``monitor.storage`` imports this
module.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC; return them aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to naive UTC before writing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to what was read."""
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def new_delivery_id() -> str:
    """Return a fresh alert delivery id: a random UUID, unique across every database."""
    return str(uuid.uuid4())


# Search index objects made by raw DDL in migration 0007 (FTS5 on SQLite, a generated tsvector
# column and its GIN index on PostgreSQL) that the metadata cannot describe: comparison skips them.
SEARCH_INDEX_OBJECTS = ("posts_fts", "ix_posts_search", "search_vector")


def compared_in_schema(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    """Alembic's ``include_object``: leave the search index (see ``SEARCH_INDEX_OBJECTS``) out."""
    return not (name or "").startswith(SEARCH_INDEX_OBJECTS)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ChannelRow(Base):
    """A configured channel: its reference, what it resolved to, its cursor and health."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(255), unique=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    access_hash: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    joined: Mapped[bool] = mapped_column(Boolean, default=False)
    last_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Posts the sweep found that live updates should have delivered, since the channel was added.
    missed_by_live: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    flood_wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the first walk (the initial backfill) ended; until then each cycle walks anew.
    # The cursor alone cannot tell: a channel walked while empty keeps cursor 0.
    walked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Cycles failed in a row (0 after a sweep that succeeds); enough of them make it `failing`.
    failed_cycles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Partial index conditions, written as the queries render them (``flagged IS 1``, a literal
# ``''``): SQLite uses a partial index only when the query repeats its condition.
FLAGGED_ONLY: dict[str, Any] = {
    "sqlite_where": text("flagged IS 1"),
    "postgresql_where": text("flagged IS true"),
}
UNPRUNED_ONLY: dict[str, Any] = {
    "sqlite_where": text("flagged IS 0 AND text != ''"),
    "postgresql_where": text("flagged IS false AND text <> ''"),
}


class PostRow(Base):
    """A stored channel post (all posts with ``store = "all"``, else flagged ones only)."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("channel_id", "message_id", name="uq_posts_channel_message"),
        # Covers stats and posts per hour: counted from the index, never from the rows.
        Index("ix_posts_channel_date_flagged", "channel_id", "date", "flagged"),
        # Flagged posts only (a few percent): newest first for `flagged`, by id for `export`
        # and per channel for `channels`, without reading the table.
        Index("ix_posts_flagged_recent", "date", "id", "channel_id", "flagged", **FLAGGED_ONLY),
        Index("ix_posts_flagged_id", "id", "channel_id", "flagged", **FLAGGED_ONLY),
        # Unflagged posts that still have their text: what retention prunes next, oldest first.
        Index("ix_posts_unpruned_date", "date", **UNPRUNED_ONLY),
        Index("ix_posts_forward_from", "forward_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    edit_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    views: Mapped[int | None] = mapped_column(BigInteger)
    forwards: Mapped[int | None] = mapped_column(BigInteger)
    grouped_id: Mapped[int | None] = mapped_column(BigInteger)
    forward_from: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the channel deleted the post (seen live or by the sweep's re-read); the post stays.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MatchRow(Base):
    """One rule that fired on a post, with the matched terms and their spans."""

    __tablename__ = "matches"
    __table_args__ = (
        # One row per rule and post: the live updates and the sweep may both classify the same
        # edit at once, and a rescan may meet a post the daemon flagged meanwhile.
        Index("ix_matches_post_id_rule_id", "post_id", "rule_id", unique=True),
        Index("ix_matches_category", "category"),
        Index("ix_matches_post_id_category", "post_id", "category"),  # stats, from the index
        Index("ix_matches_rule_id", "rule_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[str]] = mapped_column(JSON)
    spans: Mapped[list[list[int]]] = mapped_column(JSON)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRow(Base):
    """The outbox: one row per flagged post and sink, delivered at most once.

    ``state`` is pending, sent, failed, merged (folded into another alert of the same story)
    or digested (folded into a digest message during a burst or quiet hours). ``kind`` is
    ``post`` for a flagged post, or ``operational`` for a notice about the service itself (a
    channel gone private, a quiet channel), whose text is in ``payload``.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("post_id", "sink", name="uq_alerts_post_sink"),
        Index("ix_alerts_state_next_attempt", "state", "next_attempt_at"),
        Index("ix_alerts_sink_story", "sink", "story_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"))
    sink: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="post")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    story_key: Mapped[str | None] = mapped_column(String(64))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    # The idempotency key webhooks send (signed) as X-Monitor-Delivery; the same on a retry.
    delivery_id: Mapped[str | None] = mapped_column(
        String(36), default=new_delivery_id, index=True, unique=True
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostErrorRow(Base):
    """A post that could not be stored: the channel moved past it, and this says so."""

    __tablename__ = "post_errors"
    __table_args__ = (
        UniqueConstraint("channel_id", "message_id", name="uq_post_errors_channel_message"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FloodWaitRow(Base):
    """A Telegram flood wait in force for one kind of call, so a restart respects it."""

    __tablename__ = "flood_waits"

    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackRow(Base):
    """A person's judgement of a post; the newest row of a post is its current state.

    ``label`` is confirmed, false_positive or missed (a story the rules did not flag, with its
    ``category``). Older rows stay as the post's history. ``who`` names where it came from
    (``web``, ``telegram:@user``, ``api``, ``cli``).
    """

    __tablename__ = "feedback"
    __table_args__ = (
        # A post's feedback, newest last: its current state is one index lookup.
        Index("ix_feedback_post_id_id", "post_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class MuteRow(Base):
    """A channel or a rule whose flags raise no alert until ``until`` (None: until undone).

    Posts are still stored and flagged; only the alert is held back. ``target`` is the
    channel's username (lowercase, no ``@``) or bare Telegram id, or the rule id. An undone
    mute keeps its row, with ``undone_at`` set.
    """

    __tablename__ = "mutes"
    __table_args__ = (
        # The active mutes: not undone and not yet expired.
        Index("ix_mutes_undone_at_until", "undone_at", "until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(255))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    who: Mapped[str] = mapped_column(String(255))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstanceRow(Base):
    """One ``monitor run`` process sharing a PostgreSQL database with others (issue 14).

    Registered at start, its ``heartbeat_at`` renewed with its leases, ``stopped_at`` set on a
    clean stop; one that stops renewing (killed) is dead once its heartbeat is a lease old.
    """

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False while a long flood wait benches it: the others then share its channels.
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # Resolves its account could make at the last renewal: channels that need one go to
    # the instances that have some.
    resolves_ready: Mapped[float | None] = mapped_column(Float)


class ChannelLeaseRow(Base):
    """Which instance watches a channel, until when: only the holder fetches the channel.

    A row of its own (not columns on ``channels``) so that claiming with ``FOR UPDATE SKIP
    LOCKED`` never waits on, or skips for, a cycle that is updating the channel's cursor.
    """

    __tablename__ = "channel_leases"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("instances.id", ondelete="SET NULL"), index=True
    )
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountChannelRow(Base):
    """One account's own access hash for a channel and whether that account joined it.

    Telegram gives each account its own access hash; ``channels.access_hash`` holds the last
    resolver's, so with several accounts each keeps its own here (``AccountView``).
    """

    __tablename__ = "account_channels"

    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    access_hash: Mapped[int | None] = mapped_column(BigInteger)
    joined: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RescanProgressRow(Base):
    """Where the rescan with one rules version stands, so an interrupted one resumes.

    ``after_post_id`` is the last post row whose result is recorded; the counts are what the
    rescan found up to there. ``finished_at`` is set when it went through every post.
    """

    __tablename__ = "rescan_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset_version: Mapped[str] = mapped_column(String(64), unique=True)
    after_post_id: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    scanned: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[int] = mapped_column(Integer)
    matches: Mapped[int] = mapped_column(Integer)
    alerts: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
