"""Re-reading a window of recent posts: edits and deletions made while nobody was watching.

The sweep reads forwards from the cursor, and live updates stop while the daemon is down, so
an edit that turns a day-old post into a story, or a deletion, would go unseen. ``Rechecker``
re-reads each channel's posts of the last ``recheck_window`` seconds (by date) at the
channel's first poll after start and then every ``recheck_interval``, by pages of history
(newest first, 100 posts a request, under the history budget), never post by post.

Of each page it stores what changed: stored posts take their edits (an edit that makes a post
match flags it, and alerts under the usual ``alert_max_age``), and a post that was never
stored is kept only when it now matches because of an edit in the window (otherwise the
re-read would be a second backfill). A stored post of the window missing from the range a
page covered was deleted by the channel, and is recorded as such. Only message ids at or
below the cursor are read: what lies above is the sweep's. This module does not schedule:
the channel watcher asks ``due`` and calls ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.logs import get_logger
from monitor.models import Channel, Classified, Post
from monitor.pipeline import PAGE, Stages, classify_all, fold_albums
from monitor.storage.deletions import DeletionResult

log = get_logger("monitor.recheck")

MAX_PAGES = 20  # 2,000 posts a window: a busier channel is re-read for its newest ones only


class PageSource(Protocol):
    """Where a re-read reads pages (``TelegramSource`` in production)."""

    async def read_page(self, channel: Channel, before_id: int, limit: int = PAGE) -> Any: ...


class RecheckStore(Protocol):
    """What a re-read needs of the repository."""

    async def store_batch(
        self,
        channel: Channel,
        items: Sequence[Classified],
        *,
        cursor: int | None,
        alert_cutoff: datetime | None,
        store_all: bool = True,
    ) -> Any: ...

    async def stored_dates(self, channel_id: int, low: int, high: int) -> dict[int, datetime]: ...

    async def record_deletions(
        self, channel: Channel, message_ids: Sequence[int]
    ) -> DeletionResult: ...


@dataclass
class RecheckReport:
    """What one re-read found; logged as ``recheck_finished``."""

    pages: int = 0
    posts: int = 0
    edited: int = 0
    flagged: int = 0
    alerts: int = 0
    deleted: int = 0
    notices: int = 0


@dataclass
class Rechecker:
    """Re-reads each channel's recent window once after start, then every ``interval``."""

    source: PageSource
    store: RecheckStore
    stages: Stages
    window: timedelta
    interval: timedelta
    clock: Callable[[], datetime] | None = None
    last_run: dict[int, datetime] = field(default_factory=dict)

    def now(self) -> datetime:
        """The injected clock, else the pipeline's."""
        return (self.clock or self.stages.clock)()

    def due(self, channel: Channel, cursor: int) -> bool:
        """Tell whether ``channel`` should be re-read now (never before its first walk)."""
        if self.window <= timedelta(0) or cursor <= 0:
            return False
        last = self.last_run.get(channel.id)
        return last is None or self.now() - last >= self.interval

    async def run(self, channel: Channel, cursor: int) -> RecheckReport:
        """Re-read the window of ``channel`` below ``cursor``; store edits, record deletions.

        Raises:
            TelegramError: a page could not be read; what was stored before stays.
        """
        report = RecheckReport()
        since = self.now() - self.window
        before = cursor + 1
        for _ in range(MAX_PAGES):
            page = await self.source.read_page(channel, before, PAGE)
            report.pages += 1
            posts = _hold_back_oldest_album(page.posts) if page.full else page.posts
            low = posts[0].message_id if page.full and posts else 0
            stored = await self.store.stored_dates(channel.id, low, before)
            await self._store(channel, posts, stored, since, report)
            gone = [i for i, date in stored.items() if i not in page.ids and date >= since]
            await self._deleted(channel, gone, report)
            if not page.full or not posts or posts[0].date < since:
                break
            before = low
        self.last_run[channel.id] = self.now()
        log.info("recheck_finished", channel=channel.label, **vars(report))
        return report

    async def _store(
        self,
        channel: Channel,
        posts: list[Post],
        stored: dict[int, datetime],
        since: datetime,
        report: RecheckReport,
    ) -> None:
        items, _ = classify_all(self.stages, fold_albums(posts))
        keep = [item for item in items if _worth_storing(item, stored, since)]
        report.posts += len(items)
        if not keep:
            return
        result = await self.store.store_batch(
            channel,
            keep,
            cursor=None,  # the sweep owns the cursor
            alert_cutoff=self.now() - self.stages.alert_max_age,
            store_all=self.stages.store_all,
        )
        report.edited += result.edited
        report.flagged += len(result.flagged_message_ids)
        report.alerts += result.alerts_created
        if result.alerts_created:
            self.stages.on_alerts(result.alerts_created)

    async def _deleted(self, channel: Channel, gone: list[int], report: RecheckReport) -> None:
        if not gone:
            return
        result = await record_deleted(self.store, self.stages, channel, gone, found_by="recheck")
        report.deleted += len(result.message_ids)
        report.notices += result.notices


async def record_deleted(
    store: RecheckStore, stages: Stages, channel: Channel, message_ids: list[int], *, found_by: str
) -> DeletionResult:
    """Record posts the channel deleted (live or found by a re-read); wake the dispatcher."""
    result = await store.record_deletions(channel, message_ids)
    if result.message_ids:
        log.warning(
            "posts_deleted",
            channel=channel.label,
            found_by=found_by,
            message_ids=result.message_ids,
            flagged=result.flagged_message_ids,
            notices=result.notices,
        )
    if result.notices:
        stages.on_alerts(result.notices)
    return result


def _worth_storing(item: Classified, stored: dict[int, datetime], since: datetime) -> bool:
    """A stored post (its edits count), or one an edit in the window made a story."""
    post = item.post
    if post.message_id in stored:
        return True
    return item.flagged and post.edit_date is not None and post.edit_date >= since


def _hold_back_oldest_album(posts: list[Post]) -> list[Post]:
    """Drop the oldest album of a full page: it may continue on the next (older) page."""
    if not posts or posts[0].grouped_id is None:
        return posts
    group = posts[0].grouped_id
    kept = [p for p in posts if p.grouped_id != group]
    return kept or posts  # a page that is one album cannot be split further
