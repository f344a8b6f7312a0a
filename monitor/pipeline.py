"""One channel's cycle, the only code that knows every stage: fetch, classify, store, notify.

``run_cycle`` reads the posts after the channel's cursor (oldest first, a page at a time, with
a small overlap to see recent edits), classifies them with the rule set, and stores each page
with its matches, alert rows and the new cursor in one transaction. The cursor moves only after
a commit, so a crash or a dropped connection loses nothing. ``ingest_live`` runs posts from live
updates through the same stages. Errors of one post or one channel never stop the others.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.alerts.filters import wants
from monitor.config import SinkSettings
from monitor.logs import get_logger
from monitor.models import POST_READ_CHARS, Alert, Channel, Classified, Match, Post

log = get_logger("monitor.pipeline")

PAGE = 100
MAX_PAGES_PER_CYCLE = 20
# Rules run in one worker thread, never on the event loop: a 120,000-character post takes
# seconds of matching, during which every channel, /healthz and SIGTERM would wait. One
# thread keeps the rule set's caches single-threaded and posts classified in order.
_CLASSIFIER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")


class PostSource(Protocol):
    """Where a cycle reads posts from (``TelegramSource`` in production)."""

    async def fetch_after(
        self, channel: Channel, after_id: int, limit: int = PAGE
    ) -> tuple[list[Post], int]: ...

    async def fetch_before(
        self, channel: Channel, before_id: int, limit: int = PAGE
    ) -> list[Post]: ...


class RuleSet(Protocol):
    """What the pipeline needs of a compiled rule set."""

    version: str

    def evaluate(
        self, text: str, *, channel: str | None = None, tags: Collection[str] = ()
    ) -> tuple[Match, ...]: ...


class Store(Protocol):
    """What the pipeline needs of the repository."""

    async def store_batch(
        self,
        channel: Channel,
        items: Sequence[Classified],
        *,
        cursor: int | None,
        alert_cutoff: datetime | None,
        store_all: bool = True,
        live: bool = False,
        advance_from: int | None = None,
        walked: bool = False,
    ) -> Any: ...


@dataclass
class Classifier:
    """Runs the rules on a post and picks the sinks that want it (pure)."""

    ruleset: RuleSet
    sinks: Sequence[SinkSettings] = ()
    tags: Mapping[int, frozenset[str]] = field(default_factory=dict)
    detect_language: Callable[[str], str] = lambda _text: "other"

    def classify(self, post: Post) -> Classified:
        """Return ``post`` with its matches, language and target sinks."""
        tags = self.tags.get(post.channel_id, frozenset())
        channel = post.channel_username or str(post.channel_id)
        text = post.text[:POST_READ_CHARS]  # a prefix: spans stay right in the full text
        matches = self.ruleset.evaluate(text, channel=channel, tags=tags)
        if not matches:
            return Classified(post, (), ruleset_version=self.ruleset.version)
        alert = Alert(alert_id=0, sink="", post=post, matches=matches)
        sinks = tuple(s.name for s in self.sinks if s.enabled and wants(s, alert, self.tags))
        return Classified(
            post,
            matches,
            sinks=sinks,
            language=self.detect_language(text),
            ruleset_version=self.ruleset.version,
        )


@dataclass
class Stages:
    """Everything a cycle needs, injected (the daemon builds it)."""

    source: PostSource
    classifier: Classifier
    store: Store
    store_all: bool = True
    alert_max_age: timedelta = timedelta(hours=1)
    backfill: int = 20
    backfill_by_channel: dict[int, int] = field(default_factory=dict)
    backfill_since: datetime | None = None
    overlap: int = 10
    clock: Callable[[], datetime] = field(default_factory=lambda: _utcnow)
    live_since: dict[int, datetime] = field(default_factory=dict)
    # A post the sweep finds that was published less than this long ago may simply not have
    # reached us live yet; it is not counted as missed by live mode.
    live_grace: timedelta = timedelta(seconds=5)
    on_alerts: Callable[[int], None] = lambda _count: None
    # Asked between pages: a stopping daemon commits the page in hand and reads no more.
    stopping: Callable[[], bool] = lambda: False


@dataclass
class CycleReport:
    """What one cycle did; logged as the canonical ``cycle_finished`` line."""

    fetched: int = 0
    new: int = 0
    flagged: int = 0
    alerts: int = 0
    muted: int = 0
    edited: int = 0
    missed_by_live: int = 0
    pages: int = 0
    cursor: int = 0
    broken: int = 0
    failed_posts: int = 0
    batches: int = 0


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def fold_albums(posts: Sequence[Post]) -> list[Post]:
    """Fold the messages of each album (one ``grouped_id``) into one post, oldest first.

    The album's post takes the first message's id and date, the captions joined, and the ids of
    every message in ``album_ids``.
    """
    folded: list[Post] = []
    albums: dict[int, int] = {}
    for post in sorted(posts, key=lambda p: p.message_id):
        if post.grouped_id is None:
            folded.append(post)
            continue
        index = albums.get(post.grouped_id)
        if index is None:
            albums[post.grouped_id] = len(folded)
            folded.append(replace(post, album_ids=(post.message_id,)))
            continue
        folded[index] = _merge_album(folded[index], post)
    return folded


def _merge_album(album: Post, part: Post) -> Post:
    text = "\n".join(t for t in (album.text, part.text) if t)
    edits = [d for d in (album.edit_date, part.edit_date) if d is not None]
    return replace(
        album,
        text=text,
        edit_date=max(edits) if edits else None,
        album_ids=(*album.album_ids, part.message_id),
        has_media=album.has_media or part.has_media,
    )


def _hold_back_open_album(posts: list[Post], full_page: bool) -> list[Post]:
    """Drop a trailing album that may continue on the next page (only when the page was full)."""
    if not full_page or not posts or posts[-1].grouped_id is None:
        return posts
    tail_group = posts[-1].grouped_id
    kept = [p for p in posts if p.grouped_id != tail_group]
    return kept or posts  # a page that is one album cannot be split further


def classify_all(stages: Stages, posts: Sequence[Post]) -> tuple[list[Classified], int]:
    """Classify posts one by one; a post that breaks the rules is logged and skipped."""
    items: list[Classified] = []
    broken = 0
    for post in posts:
        try:
            items.append(stages.classifier.classify(post))
        except Exception:  # one broken post must never stop its channel
            broken += 1
            log.exception("post_failed", channel_id=post.channel_id, message_id=post.message_id)
    return items, broken


async def classify_off_loop(stages: Stages, posts: Sequence[Post]) -> tuple[list[Classified], int]:
    """``classify_all`` in the classifier thread, so the event loop keeps serving meanwhile."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()  # log fields bound to the cycle follow the work
    return await loop.run_in_executor(_CLASSIFIER, context.run, classify_all, stages, posts)


async def run_cycle(channel: Channel, stages: Stages) -> CycleReport:
    """Fetch, classify and store everything new in ``channel`` (one sweep).

    Raises:
        TelegramError: the fetch failed; nothing after the last committed page was stored.
        StorageError or SQLAlchemy errors: a commit failed; the cursor did not move.
    """
    started = time.perf_counter()
    report = CycleReport(cursor=channel.cursor)
    if not channel.walked:
        await _initial_backfill(channel, stages, report)
    else:
        await _sweep(channel, stages, report)
    if report.batches == 0:  # nothing new: still record the successful poll
        await stages.store.store_batch(channel, [], cursor=channel.cursor, alert_cutoff=None)
    log.info(
        "cycle_finished",
        channel=channel.label,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        **vars(report),
    )
    return report


async def _initial_backfill(channel: Channel, stages: Stages, report: CycleReport) -> None:
    """Read a new channel's last N posts (or those since a date), newest page first.

    The cursor stays at 0 until the walk is done, then moves to the newest post it saw, and
    the sweep carries on from there. A walk cut short by a crash, an error or a stop leaves
    the channel new: the next cycle walks again, skipping what is stored (nothing alerts
    twice). Moving the cursor with the first page instead would lose the older pages. A
    walk that found nothing ends too (cursor 0): the sweep then reads the channel from its
    start, so posts that live updates miss later are all read, not just the newest N.
    """
    since = stages.backfill_since
    limit = stages.backfill_by_channel.get(channel.id, stages.backfill)
    taken, before, cursor = 0, 0, 0
    while True:
        if stages.stopping():
            return
        remaining = None if since is not None else limit - taken
        # With nothing (left) to keep, one post still tells where the sweep starts.
        wanted = PAGE if remaining is None else max(1, min(PAGE, remaining))
        page = await stages.source.fetch_before(channel, before, wanted)
        report.pages += 1
        cursor = cursor or max((p.message_id for p in page), default=0)
        kept = [p for p in page if since is None or p.date >= since][:remaining]
        if kept:
            await _store(channel, stages, kept, None, report, sweep=False)
        taken += len(kept)
        if len(page) < wanted or len(kept) < len(page) or taken == limit:
            break
        before = page[-1].message_id
    await stages.store.store_batch(channel, [], cursor=cursor, alert_cutoff=None, walked=True)
    report.cursor = cursor
    report.batches += 1


async def _sweep(channel: Channel, stages: Stages, report: CycleReport) -> None:
    after = max(0, report.cursor - stages.overlap)
    for _ in range(MAX_PAGES_PER_CYCLE):
        if stages.stopping():
            return
        posts, highest = await stages.source.fetch_after(channel, after, PAGE)
        report.pages += 1
        if highest <= after:
            return
        full = highest - after >= PAGE
        kept = _hold_back_open_album(posts, full)
        if len(kept) < len(posts):
            highest = min(p.message_id for p in posts if p not in kept) - 1
        await _store(channel, stages, kept, max(highest, report.cursor), report, sweep=True)
        after = highest
        if not full:
            return


async def _store(
    channel: Channel,
    stages: Stages,
    posts: list[Post],
    cursor: int | None,
    report: CycleReport,
    *,
    sweep: bool,
) -> None:
    folded = fold_albums(posts)
    items, broken = await classify_off_loop(stages, folded)
    now = stages.clock()
    result = await stages.store.store_batch(
        channel,
        items,
        cursor=cursor,
        alert_cutoff=now - stages.alert_max_age,
        store_all=stages.store_all,
    )
    report.fetched += len(folded)
    report.batches += 1
    report.broken += broken
    _add_result(channel, report, result)
    if cursor is not None:
        report.cursor = max(report.cursor, cursor)
    if sweep:
        report.missed_by_live += _missed_by_live(
            channel, stages, folded, result.new_message_ids, now
        )
    if result.alerts_created:
        stages.on_alerts(result.alerts_created)


def _add_result(channel: Channel, report: CycleReport, result: Any) -> None:
    """Count what a stored batch changed, and log each post that could not be stored."""
    report.new += len(result.new_message_ids)
    report.flagged += len(result.flagged_message_ids)
    report.alerts += result.alerts_created
    report.muted += len(result.muted_message_ids)
    report.edited += result.edited
    report.failed_posts += len(result.post_errors)
    if result.muted_message_ids:
        log.info("alerts_muted", channel=channel.label, message_ids=result.muted_message_ids)
    for message_id, error in result.post_errors.items():
        log.error("post_store_failed", channel=channel.label, message_id=message_id, error=error)


def _missed_by_live(
    channel: Channel, stages: Stages, posts: Sequence[Post], new_ids: Sequence[int], now: datetime
) -> int:
    """Count new posts the sweep found that live mode should have delivered already."""
    since = stages.live_since.get(channel.id)
    if since is None or not new_ids:
        return 0
    new = set(new_ids)
    missed = [
        post
        for post in posts
        if post.message_id in new
        and post.message_id > channel.cursor
        and post.date >= since
        and now - post.date > stages.live_grace
    ]
    if missed:
        log.warning(
            "live_updates_missed",
            channel=channel.label,
            count=len(missed),
            message_ids=[post.message_id for post in missed],
        )
    return len(missed)


async def ingest_live(
    channel: Channel, stages: Stages, posts: list[Post], *, edited: bool
) -> CycleReport:
    """Run posts from live updates through the same stages; return what they changed.

    The cursor moves only when the posts continue it without a gap, so the sweep still reads
    whatever live mode did not deliver. The report counts each post flagged here once; the
    sweep that reads it again later finds it stored and counts it no more.
    """
    report = CycleReport(cursor=channel.cursor)
    folded = fold_albums(posts)
    items, report.broken = await classify_off_loop(stages, folded)
    if not items:
        return report
    first = min(item.post.message_id for item in items)
    last = max(max(item.post.album_ids or (item.post.message_id,)) for item in items)
    result = await stages.store.store_batch(
        channel,
        items,
        cursor=None if edited else last,
        advance_from=None if edited else first,
        alert_cutoff=stages.clock() - stages.alert_max_age,
        store_all=stages.store_all,
        live=True,
    )
    report.fetched = len(folded)
    report.batches = 1
    _add_result(channel, report, result)
    log.info(
        "live_posts_stored",
        channel=channel.label,
        edited=edited,
        new=report.new,
        flagged=report.flagged,
        alerts=report.alerts,
        failed_posts=report.failed_posts,
    )
    if result.alerts_created:
        stages.on_alerts(result.alerts_created)
    return report
