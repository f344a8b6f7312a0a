"""``monitor rescan``: the rules in effect re-applied to every stored post, in parallel.

The rescan walks the post row ids in chunks; each chunk is read (a lean query: only what the
rules read) and classified in a worker process (one per core; each builds the rules and opens
the database once), a few chunks ahead of the one being recorded, so this process only walks
ids and records. Results are recorded in order, chunk by chunk, with the rescan's position,
so a rescan stopped with Ctrl-C resumes after the last recorded post when it is run again with
the same rules (``restart`` starts over). Recording is the same as before
(``Rescans.record_rescan``): idempotent and safe beside a running daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context

from monitor.backfill import NO_ALERTS
from monitor.config import Config
from monitor.daemon import channel_tags, load_rules, prepare_database
from monitor.logs import get_logger
from monitor.models import Classified, Post
from monitor.pipeline import Classifier
from monitor.storage.repository import Repository
from monitor.storage.rescans import RescanProgress

log = get_logger("monitor.rescan")

CHUNK = 500

Chunk = list[tuple[int, Post]]
Found = list[tuple[int, Classified]]
#: Classify the posts with row ids in (after, last]; return the flagged ones.
ClassifyRange = Callable[[int, int], Awaitable[Found]]


@dataclass
class RescanReport:
    """What a rescan found: posts scanned of ``total``, newly flagged, matches, alert rows.

    Counts include what an interrupted run of the same rules recorded before
    (``resumed_from`` posts of them).
    """

    total: int = 0
    scanned: int = 0
    flagged: int = 0
    matches: int = 0
    alerts: int = 0
    resumed_from: int = 0
    jobs: int = 1


def default_jobs() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def rescan(
    config: Config,
    *,
    alert: bool = False,
    jobs: int | None = None,
    restart: bool = False,
    on_chunk: Callable[[RescanReport], None] | None = None,
) -> RescanReport:
    """Re-apply the current rules to every stored post; record what is new.

    Raises:
        RuleError: the rule files do not load.
    """
    await prepare_database(config.database.url)
    repository = Repository.open(config.database.url, echo=config.database.echo)
    try:
        version = load_rules(config).version
        progress = await _starting_point(repository, version, restart)
        report = RescanReport(resumed_from=progress.scanned, jobs=jobs or default_jobs())
        progress.total = progress.scanned + await repository.count_posts_after(
            progress.after_post_id
        )
        tags = channel_tags(config, await repository.channels())
        with _classifiers(config, tags, report.jobs, repository) as classify:
            await _run(repository, classify, progress, report, alert, on_chunk)
    finally:
        await repository.close()
    log.info("rescan_finished", **vars(report))
    return report


async def _starting_point(repository: Repository, version: str, restart: bool) -> RescanProgress:
    """Where to start: after the last recorded post of an unfinished run, else the start."""
    earlier = await repository.rescan_progress(version)
    if earlier is None or restart or earlier.finished_at is not None:
        return RescanProgress(ruleset_version=version)
    log.info("rescan_resumed", after_post_id=earlier.after_post_id, scanned=earlier.scanned)
    return earlier


async def _run(
    repository: Repository,
    classify: ClassifyRange,
    progress: RescanProgress,
    report: RescanReport,
    alert: bool,
    on_chunk: Callable[[RescanReport], None] | None,
) -> None:
    """Read ahead and classify in the workers; record each chunk's result in order."""
    ahead: deque[tuple[int, int, asyncio.Task[Found]]] = deque()
    after, reading = progress.after_post_id, True
    try:
        while reading or ahead:
            while reading and len(ahead) < 2 * report.jobs:
                ids = await repository.next_post_ids(after, CHUNK)
                reading = bool(ids)
                if ids:
                    task = asyncio.ensure_future(classify(after, ids[-1]))
                    after = ids[-1]
                    ahead.append((after, len(ids), task))
            if ahead:
                last_id, count, found = ahead.popleft()
                await _record(repository, progress, last_id, count, await found, alert)
                _report(report, progress, on_chunk)
    finally:
        for _, _, task in ahead:
            task.cancel()
    progress.finished_at = datetime.now(UTC)
    await repository.save_rescan_progress(progress)


async def _record(
    repository: Repository,
    progress: RescanProgress,
    last_id: int,
    count: int,
    found: Found,
    alert: bool,
) -> None:
    """Record one chunk's flagged posts, then the position after it."""
    result = await repository.record_rescan(found, alert_cutoff=None if alert else NO_ALERTS)
    progress.after_post_id = last_id
    progress.scanned += count
    progress.flagged += result.flagged
    progress.matches += result.matches
    progress.alerts += result.alerts
    await repository.save_rescan_progress(progress)


def _report(
    report: RescanReport,
    progress: RescanProgress,
    on_chunk: Callable[[RescanReport], None] | None,
) -> None:
    report.total = max(progress.total, progress.scanned)  # posts stored meanwhile count too
    report.scanned = progress.scanned
    report.flagged, report.matches, report.alerts = (
        progress.flagged,
        progress.matches,
        progress.alerts,
    )
    if on_chunk is not None:
        on_chunk(report)


@contextlib.contextmanager
def _classifiers(
    config: Config, tags: Mapping[int, frozenset[str]], jobs: int, repository: Repository
) -> Iterator[ClassifyRange]:
    """Yield the range classifier: in worker processes, or here (off the loop) for one job."""
    if jobs <= 1:
        classifier = _build(config, tags)

        async def here(after: int, last: int) -> Found:
            chunk = await repository.posts_to_rescan(after, last)
            return await asyncio.to_thread(_flagged, classifier, chunk)

        yield here
        return
    # spawn, not fork: this process runs an event loop and the database driver's threads.
    pool = ProcessPoolExecutor(
        jobs, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(config, tags)
    )
    loop = asyncio.get_running_loop()
    try:
        yield lambda after, last: loop.run_in_executor(pool, _classify_in_worker, after, last)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _build(config: Config, tags: Mapping[int, frozenset[str]]) -> Classifier:
    from monitor.rules.language import detect_language

    classifier = Classifier(load_rules(config), config.alerts, detect_language=detect_language)
    classifier.tags = tags
    return classifier


def _flagged(classifier: Classifier, chunk: Chunk) -> Found:
    """Classify a chunk; keep the flagged posts (the others record nothing)."""
    found = ((post_id, classifier.classify(post)) for post_id, post in chunk)
    return [(post_id, item) for post_id, item in found if item.flagged]


@dataclass
class _Worker:
    """A worker process's own rules, database connection and event loop."""

    classifier: Classifier
    repository: Repository
    loop: asyncio.AbstractEventLoop


_worker: _Worker | None = None


def _start_worker(config: Config, tags: Mapping[int, frozenset[str]]) -> None:
    """Build the rules and open the database once per worker; Ctrl-C is the parent's."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    repository = Repository.open(config.database.url)
    _worker = _Worker(_build(config, tags), repository, asyncio.new_event_loop())


def _classify_in_worker(after: int, last: int) -> Found:
    """Read the posts of one range and classify them (in a worker process)."""
    if _worker is None:  # the pool's initializer builds it; never so in a worker
        raise RuntimeError("rescan worker started without its classifier")
    chunk = _worker.loop.run_until_complete(_worker.repository.posts_to_rescan(after, last))
    return _flagged(_worker.classifier, chunk)
