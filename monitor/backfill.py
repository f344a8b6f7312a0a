"""Going back over history: ``backfill`` reads older posts, ``rescan`` re-rules stored ones.

``backfill`` walks backwards from the oldest stored message id of one channel, a page of 100 at
a time under the governor's history budget, and stores each page with ``store_batch`` without
touching the cursor, so an interrupted backfill resumes where it stopped and the daemon's sweep
is unaffected. ``rescan`` re-applies the current rules to every stored post. Neither creates
alerts unless asked: old posts are flagged and recorded, not announced. Presentation (the
progress bar) belongs to the CLI, which passes a callback; this module prints nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.channels import ChannelWatcher
from monitor.config import Config, TelegramSettings
from monitor.daemon import build_governor, channel_tags, load_rules, prepare_database
from monitor.errors import ConfigError, SessionError, TelegramError
from monitor.invite_links import mask_invite_links
from monitor.logs import get_logger
from monitor.models import Channel, Post
from monitor.pipeline import PAGE, Classifier, Stages, classify_all, fold_albums
from monitor.storage.repository import Repository
from monitor.telegram.governor import Governor
from monitor.telegram.refs import parse_ref
from monitor.telegram.session import SessionLock, build_client, ensure_authorized
from monitor.telegram.source import FloodWait, TelegramSource

log = get_logger("monitor.backfill")

# An alert cutoff no post is newer than: stores and flags, raises no alert.
NO_ALERTS = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
# A flood wait longer than this ends the backfill (resume later) instead of sleeping it out.
MAX_FLOOD_SLEEP = 300


@dataclass(frozen=True)
class BackfillRequest:
    """What to backfill: one channel, back to ``since`` and/or at most ``limit`` posts."""

    ref: str
    since: datetime | None = None
    limit: int | None = None
    alert: bool = False


@dataclass
class BackfillReport:
    """How far a backfill got; ``remaining`` is an upper bound of the messages still older."""

    channel: str = ""
    fetched: int = 0
    new: int = 0
    flagged: int = 0
    alerts: int = 0
    pages: int = 0
    oldest_id: int | None = None
    remaining: int | None = None
    complete: bool = False


OnPage = Callable[[BackfillReport], None]


def _classifier(config: Config, channels: list[Channel]) -> Classifier:
    from monitor.rules.language import detect_language

    classifier = Classifier(load_rules(config), config.alerts, detect_language=detect_language)
    classifier.tags = channel_tags(config, channels)
    return classifier


async def backfill(
    config: Config, request: BackfillRequest, on_page: OnPage = lambda _report: None
) -> BackfillReport:
    """Store older posts of one channel, page by page, resuming below the oldest stored one.

    Raises:
        SessionError: no usable session, or another process holds it.
        ConfigError: the channel reference is not a reference.
        TelegramError: the channel cannot be read, or Telegram asked for a long wait.
    """
    telegram = _telegram(config)
    parse_ref(request.ref)  # a bad reference fails before any connection
    await prepare_database(config.database.url)
    with SessionLock(telegram, config.base_dir):
        repository = Repository.open(config.database.url, echo=config.database.echo)
        client = build_client(telegram, receive_updates=False)
        try:
            await ensure_authorized(client, telegram)
            governor = build_governor(config)
            await _restore_flood_waits(repository, governor)
            return await _backfill(config, request, repository, client, governor, on_page)
        finally:
            await client.disconnect()
            await repository.close()


def _telegram(config: Config) -> TelegramSettings:
    if config.telegram is None:
        raise SessionError("no [telegram] section in the config; add api_id and api_hash")
    return config.telegram


async def _restore_flood_waits(repository: Repository, governor: Governor) -> None:
    now = datetime.now(UTC)
    for method, until in (await repository.flood_waits(now)).items():
        governor.pause(method, (until - now).total_seconds())


async def _backfill(
    config: Config,
    request: BackfillRequest,
    repository: Repository,
    client: Any,
    governor: Governor,
    on_page: OnPage,
) -> BackfillReport:
    source = TelegramSource(client, governor)
    stages = Stages(
        source=source,
        classifier=_classifier(config, []),
        store=repository,
        store_all=config.scheduler.store == "all",
    )
    watcher = ChannelWatcher(config, repository, source, stages)
    channel = await _find_channel(watcher, request.ref)
    stages.classifier.tags = channel_tags(config, [channel])
    walk = Walk(channel, stages, repository, request, on_page)
    return await walk.run()


async def _find_channel(watcher: ChannelWatcher, ref: str) -> Channel:
    """Return the stored channel for ``ref``, resolving it (once) when it is new."""
    wanted = parse_ref(ref)
    known = await watcher.repository.channels()
    channel = next((c for c in known if _same_ref(c, ref, wanted)), None)
    if channel is None:
        (channel,) = await watcher.repository.sync_channels([ref])
    if channel.resolved:
        return channel
    resolved = await watcher.resolve(channel)
    if resolved is None:
        stored = await watcher.repository.channel(channel.id)
        reason = stored.last_error or "see the log"
        raise TelegramError(f"cannot resolve {mask_invite_links(ref)} ({stored.status}): {reason}")
    return resolved


def _same_ref(channel: Channel, text: str, wanted: Any) -> bool:
    if channel.ref == text:
        return True
    if wanted.kind == "username" and (channel.username or "").lower() == wanted.value:
        return True
    if wanted.kind == "id" and channel.telegram_id == wanted.channel_id:
        return True
    try:
        return bool(parse_ref(channel.ref) == wanted)
    except ConfigError:
        return False


@dataclass
class Walk:
    """One backfill's walk backwards through a channel's history."""

    channel: Channel
    stages: Stages
    repository: Repository
    request: BackfillRequest
    on_page: OnPage

    async def run(self) -> BackfillReport:
        """Fetch and store pages until the limit, the date or the channel's first post.

        The next page is fetched while the current one is stored: Telegram's round trip and
        our database work overlap. A page is only ever stored whole, so stopping anywhere
        loses nothing and the next run resumes below the oldest stored post.
        """
        report = BackfillReport(channel=self.channel.label)
        before = await self.repository.oldest_message_id(self.channel.id) or 0
        report.oldest_id = before or None
        report.remaining = before - 1 if before else None
        self.on_page(report)
        upcoming = self._next_page(before, report)
        while upcoming is not None:
            page = await upcoming
            report.pages += 1
            posts, before = self._take(page, report)
            upcoming = self._next_page(before, report)
            try:
                if posts:
                    await self._save(posts, report)
            except BaseException:
                if upcoming is not None:
                    upcoming.cancel()
                raise
            self.on_page(report)
        log.info("backfill_finished", **vars(report))
        return report

    def _next_page(self, before: int, report: BackfillReport) -> asyncio.Task[list[Post]] | None:
        """Start fetching the page below ``before``, unless the walk is over."""
        limit = self.request.limit
        wanted = PAGE if limit is None else min(PAGE, limit - report.fetched)
        if report.complete or wanted <= 0:
            return None
        return asyncio.ensure_future(self._fetch(before, wanted))

    async def _fetch(self, before: int, limit: int) -> list[Post]:
        """One page older than ``before``, oldest first; a short flood wait is slept out."""
        while True:
            try:
                page = await self.stages.source.fetch_before(self.channel, before, limit)
            except FloodWait as wait:
                until = datetime.now(UTC) + timedelta(seconds=wait.seconds)
                await self.repository.record_flood_wait(wait.kind, until, wait.seconds)
                if wait.seconds > MAX_FLOOD_SLEEP:
                    raise TelegramError(
                        f"Telegram asked to wait {wait.seconds} s; run the backfill again "
                        "after that, it resumes where it stopped"
                    ) from None
                log.warning("flood_wait", kind=wait.kind, seconds=wait.seconds)
                continue  # the governor holds the next call until the wait is over
            return sorted(page, key=lambda post: post.message_id)

    def _take(self, page: list[Post], report: BackfillReport) -> tuple[list[Post], int]:
        """Pick a page's posts to store (oldest first) and where the next page starts."""
        since = self.request.since
        if not page:
            report.complete = True
            return [], 0
        posts = [p for p in page if since is None or p.date >= since]
        if len(posts) < len(page) or page[0].message_id <= 1:
            report.complete = True
        else:
            posts = _hold_back_oldest_album(posts)
        report.fetched += len(posts)
        oldest = posts[0].message_id if posts else page[0].message_id
        report.oldest_id = min(oldest, report.oldest_id or oldest)
        report.remaining = 0 if report.complete else oldest - 1
        return posts, oldest

    async def _save(self, posts: list[Post], report: BackfillReport) -> None:
        items, _ = classify_all(self.stages, fold_albums(posts))
        result = await self.repository.store_batch(
            self.channel,
            items,
            cursor=None,  # the sweep owns the cursor; a backfill only fills in below it
            alert_cutoff=None if self.request.alert else NO_ALERTS,
            store_all=self.stages.store_all,
        )
        report.new += len(result.new_message_ids)
        report.flagged += len(result.flagged_message_ids)
        report.alerts += result.alerts_created
        for message_id, error in result.post_errors.items():  # recorded; the backfill goes on
            log.error(
                "post_store_failed", channel=report.channel, message_id=message_id, error=error
            )


def _hold_back_oldest_album(posts: list[Post]) -> list[Post]:
    """Drop the oldest album of a page: it may continue on the next (older) page."""
    group = posts[0].grouped_id
    if group is None:
        return posts
    kept = [p for p in posts if p.grouped_id != group]
    return kept or posts  # a page that is one album cannot be split further
