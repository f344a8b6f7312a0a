"""The dispatcher: drains the alert outbox into the sinks, each alert delivered once.

Each sink has its own *lane*, an asyncio task that loops: read the sink's due rows, merge
new sources of a known story, hold back what quiet hours hold, then deliver (paced and
folded for chats, one by one for the rest). A slow or failing sink only ever delays its own
lane. ``run`` keeps the lanes going inside ``monitor run``; ``drain`` delivers everything
due once and returns (``monitor alerts send``, for cron).

Once per alert: a row is *claimed* (attempts + 1, a lease) just before its send and
*finished* in the commit right after the sink accepts it. A crash before the send loses
nothing (the row is still pending); a crash between the sink's acceptance and that commit is
the only way to deliver twice, and the lane measures that window on every send
(``DispatchStats.windows``). A failed attempt is retried with exponential backoff and
jitter, or after the sink's Retry-After / FloodWait; after ``max_attempts``, or at once for a
permanent error, the row is ``failed`` with its last error until ``monitor alerts retry``.

One story, one alert: a row whose post tells a story the sink already has (same forward
origin, near-identical text within ``dedup_window``) is *merged*: if the first alert is still
waiting it will list this source when it goes out; if it went out, the sink updates it (the
Telegram sink edits its message; others send a follow-up marked ``update``). A post the
channel deleted after its alert went out gets a ``deletion`` row: the Telegram sink edits the
alert to say "Deleted by the channel", the others send it as a ``deleted`` event.

This module holds the delivery policy only: no SQL (``monitor.storage.outbox``), no
rendering (``format``), no transport (the sinks).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from monitor.alerts.filters import hold_until
from monitor.alerts.format import (
    Message,
    RenderOptions,
    burst_heading,
    quiet_heading,
    render_alert,
    render_deletion,
    render_digest,
    render_notice,
)
from monitor.alerts.pacing import PaceLimits, Pacer
from monitor.alerts.sink import AlertSink, SendResult
from monitor.alerts.stories import StoryIndex
from monitor.config import DeliverySettings
from monitor.errors import AlertError
from monitor.logs import get_logger
from monitor.models import Alert
from monitor.storage.engine import DATABASE_ERRORS, error_line
from monitor.storage.outbox import (
    DIGESTED,
    FAILED,
    MERGED,
    PENDING,
    SENT,
    Outbox,
    OutboxItem,
)

log = get_logger("monitor.alerts")

LEASE_SECONDS = 60.0
IDLE_POLL_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchStats:
    """What the dispatcher did since it started; ``windows`` are the duplicate windows (s)."""

    sent: int = 0
    digests: int = 0
    digested: int = 0
    merged: int = 0
    updates: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    windows: list[float] = field(default_factory=list)


@dataclass
class Lane:
    """One sink's delivery state: how it renders, its pacer and its story index."""

    sink: AlertSink
    options: RenderOptions
    pacer: Pacer | None
    stories: StoryIndex
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stories_loaded: bool = False

    @property
    def name(self) -> str:
        """The sink's name, as in its outbox rows."""
        return self.sink.name


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _alert_of(item: OutboxItem) -> Alert:
    """Return the alert of a post row (notices never reach the story and quiet steps)."""
    if item.alert is None:
        raise ValueError(f"outbox row {item.id} carries no post alert")
    return item.alert


class Dispatcher:
    """Delivers outbox rows to their sinks; see the module docstring for the guarantees."""

    def __init__(
        self,
        outbox: Outbox,
        sinks: Mapping[str, AlertSink],
        delivery: DeliverySettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        jitter: Callable[[], float] = random.random,
        lease: float = LEASE_SECONDS,
        idle_poll: float = IDLE_POLL_SECONDS,
    ) -> None:
        from monitor.alerts import render_options

        self.outbox = outbox
        self.delivery = delivery
        self.clock = clock
        self.jitter = jitter
        self.lease = lease
        self.idle_poll = idle_poll
        self.stats = DispatchStats()
        limits = PaceLimits(
            delivery.per_chat_interval, delivery.per_minute_limit, float(delivery.digest_window)
        )
        pacers: dict[str, Pacer] = {}
        self.lanes = {
            name: Lane(
                sink,
                render_options(sink.settings, delivery),
                pacers.setdefault(sink.pace_key, Pacer(limits)) if sink.pace_key else None,
                StoryIndex(window=float(delivery.dedup_window)),
            )
            for name, sink in sinks.items()
        }

    def __repr__(self) -> str:
        return f"Dispatcher(sinks={sorted(self.lanes)!r})"

    # Entry points --------------------------------------------------------------------------

    def wake(self) -> None:
        """Tell every lane that new rows may be due."""
        for lane in self.lanes.values():
            lane.wake.set()

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set; ``wake`` is set by the pipeline on new alerts.

        Rows a crashed predecessor left claimed are due again at once. On stop, each lane
        finishes its current attempt (up to a grace period) so no send is cut in two.
        """
        recovered = await self.outbox.recover(self.clock())
        if recovered:
            log.warning("alerts_recovered", count=recovered)
        await self._warn_unconfigured_sinks()
        lanes = [asyncio.create_task(self._lane_loop(lane, stop)) for lane in self.lanes.values()]
        relay = asyncio.create_task(self._relay(stop, wake))
        try:
            await stop.wait()
        finally:
            self.wake()
            _, late = await asyncio.wait(lanes, timeout=STOP_GRACE_SECONDS) if lanes else ((), ())
            for task in (*late, relay):
                task.cancel()
            await asyncio.gather(*lanes, relay, return_exceptions=True)

    async def drain(self) -> DispatchStats:
        """Deliver every row due now, in every lane at once, and return the stats."""
        await asyncio.gather(*(self._drain_lane(lane) for lane in self.lanes.values()))
        return self.stats

    async def _warn_unconfigured_sinks(self) -> None:
        # Alerts of a sink since removed from (or renamed in) the config wait for ever.
        for (sink, state), count in sorted((await self.outbox.counts()).items()):
            if sink not in self.lanes and state == PENDING:
                log.warning(
                    "alerts_for_unconfigured_sink",
                    sink=sink,
                    waiting=count,
                    fix=f"no enabled [[alerts]] sink is named {sink!r}: add or enable it, "
                    f"or run `monitor alerts drop --sink {sink}`",
                )

    async def _relay(self, stop: asyncio.Event, wake: asyncio.Event | None) -> None:
        while not stop.is_set():
            if wake is None:
                await stop.wait()
                return
            await wake.wait()
            wake.clear()
            self.wake()

    async def _lane_loop(self, lane: Lane, stop: asyncio.Event) -> None:
        while not stop.is_set():
            lane.wake.clear()
            try:
                delay = await self._cycle(lane, flush=False)
            except DATABASE_ERRORS as error:  # a database outage must not end the lane
                delay = min(self.idle_poll, 5.0)
                log.error(
                    "dispatch_cycle_failed",
                    sink=lane.name,
                    error=error_line(error),
                    retry_in_s=delay,
                )
            except Exception:  # a bug: keep the traceback, keep the lane
                delay = min(self.idle_poll, 5.0)
                log.exception("dispatch_cycle_failed", sink=lane.name, retry_in_s=delay)
            if delay is None:
                delay = await self._idle_delay(lane)
            if delay > 0 and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), delay)

    async def _drain_lane(self, lane: Lane) -> None:
        try:
            while (delay := await self._cycle(lane, flush=True)) is not None:
                if delay > 0:
                    await asyncio.sleep(delay)
        except DATABASE_ERRORS as error:
            log.error(
                "dispatch_cycle_failed",
                sink=lane.name,
                error=error_line(error),
                retry="at the next `monitor alerts send` or daemon start",
            )
        except Exception:
            log.exception("dispatch_cycle_failed", sink=lane.name)

    async def _idle_delay(self, lane: Lane) -> float:
        due = await self.outbox.next_due(lane.name)
        if due is None:
            return self.idle_poll
        return max(0.05, min(self.idle_poll, (due - self.clock()).total_seconds()))

    # One cycle -----------------------------------------------------------------------------

    async def _cycle(self, lane: Lane, *, flush: bool) -> float | None:
        """Deliver what is due in ``lane``; return the seconds to wait, None when idle."""
        now = self.clock()
        items = await self.outbox.due(lane.name, now)
        if not items:
            return None
        notices = [item for item in items if item.alert is None]
        for item in notices:
            await self._deliver_single(lane, item)
        posts = await self._merge_stories(lane, [i for i in items if i.alert is not None])
        posts = await self._hold_quiet(lane, posts, now)
        quiet = [item for item in posts if self._was_held(lane, item)]
        if quiet:
            result = await self._deliver_digest(lane, quiet, quiet_heading(len(quiet)))
            if result is not None and lane.pacer is not None:
                lane.pacer.sent(_ts(now), result.messages)
            return 0.0
        if not posts:
            return 0.0 if notices else None
        if lane.pacer is None:
            for item in posts:
                await self._deliver_single(lane, item)
            return 0.0
        return await self._paced(lane, lane.pacer, posts, flush)

    async def _paced(
        self, lane: Lane, pacer: Pacer, items: Sequence[OutboxItem], flush: bool
    ) -> float:
        now = _ts(self.clock())
        decision = pacer.decide(now, len(items), _ts(items[0].created_at), flush=flush)
        if decision.action == "wait":
            return decision.delay
        if decision.action == "send":
            result = await self._deliver_single(lane, items[0])
            if result is not None:
                pacer.sent(now, result.messages)
            return 0.0
        folded = items[: decision.count]
        heading = burst_heading(len(folded), now - _ts(folded[0].created_at))
        result = await self._deliver_digest(lane, folded, heading)
        if result is not None:
            pacer.folded(now, result.messages)
        return 0.0

    # Stories and quiet hours ----------------------------------------------------------------

    async def _load_stories(self, lane: Lane) -> None:
        since = self.clock() - timedelta(seconds=self.delivery.dedup_window)
        for alert_id, root, post, created in await self.outbox.stories(lane.name, since):
            if alert_id == root or root in lane.stories:
                lane.stories.add(root, post, _ts(created))
        lane.stories_loaded = True

    async def _merge_stories(self, lane: Lane, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Merge rows that tell a known story; return the rest, reloaded if sources changed."""
        if not lane.stories_loaded:
            await self._load_stories(lane)
        rest: list[OutboxItem] = []
        merged = False
        for item in items:
            post = _alert_of(item).post
            at = _ts(item.created_at)
            root = item.merged_into or lane.stories.find(post, at)
            if root is None or root == item.id or not await self._merge(lane, item, root):
                lane.stories.add(item.id, post, at)
                rest.append(item)
                continue
            lane.stories.add(root, post, at)
            merged = True
        if merged and rest:  # first alerts still waiting now list their new sources
            fresh = await self.outbox.get(item.id for item in rest)
            rest = [fresh[item.id] for item in rest if fresh[item.id].state == PENDING]
        return rest

    async def _merge(self, lane: Lane, item: OutboxItem, root_id: int) -> bool:
        """Merge ``item`` into story ``root_id``; False when it must be sent on its own."""
        root = (await self.outbox.get([root_id])).get(root_id)
        if root is None or root.state == FAILED or root.alert is None:
            return False
        if item.merged_into is None:
            await self.outbox.link(item.id, root_id)
        if root.state == SENT:
            root = (await self.outbox.get([root_id]))[root_id]  # now lists this source too
            message = render_alert(root.alert, lane.options, update=True, replaces=root.external_id)  # type: ignore[arg-type]
            if await self._attempt(lane, [item], message, root.alert, MERGED) is not None:
                self.stats.updates += 1
            return True
        # The first alert waits (it will list this source) or went out in a digest.
        await self.outbox.finish([item.id], MERGED, self.clock(), merged_into=root_id)
        self.stats.merged += 1
        log.info("alert_merged", sink=lane.name, alert_id=item.id, story=root_id)
        return True

    async def _hold_quiet(
        self, lane: Lane, items: Sequence[OutboxItem], now: datetime
    ) -> list[OutboxItem]:
        """Postpone what quiet hours hold to their end; return what may go now."""
        rest: list[OutboxItem] = []
        for item in items:
            until = hold_until(lane.sink.settings, _alert_of(item), now, lane.options.tz)
            if until is None:
                rest.append(item)
                continue
            await self.outbox.hold([item.id], until)
            self.stats.held += 1
        return rest

    def _was_held(self, lane: Lane, item: OutboxItem) -> bool:
        """Tell whether quiet hours held ``item`` (created in them, below the severity)."""
        settings, tz = lane.sink.settings, lane.options.tz
        return hold_until(settings, _alert_of(item), item.created_at, tz) is not None

    # Delivery ------------------------------------------------------------------------------

    async def _deliver_single(self, lane: Lane, item: OutboxItem) -> SendResult | None:
        if item.corrects is not None:
            message = await self._deletion(lane, item)
        elif item.alert is None:
            if item.notice is None:
                await self.outbox.fail([item.id], "the alert's post is gone")
                return None
            message = render_notice(item.id, item.notice)
        else:
            message = render_alert(item.alert, lane.options)
        result = await self._attempt(lane, [item], message, item.alert, SENT)
        if result is not None:
            self.stats.sent += 1
        return result

    async def _deletion(self, lane: Lane, item: OutboxItem) -> Message:
        """The alert ``item`` corrects, marked deleted: an edit of it where the sink can."""
        original = (await self.outbox.get([item.corrects or 0])).get(item.corrects or 0)
        if original is None or original.alert is None:
            return render_notice(item.id, item.notice or "", title="post deleted")
        # A digest's message holds other alerts too: answer it rather than rewrite it.
        replaces = original.external_id if original.state == SENT else None
        return render_deletion(original.alert, lane.options, deletion_id=item.id, replaces=replaces)

    async def _deliver_digest(
        self, lane: Lane, items: Sequence[OutboxItem], heading: str
    ) -> SendResult | None:
        alerts = [item.alert for item in items if item.alert is not None]
        message = render_digest(alerts, lane.options, heading=heading)
        result = await self._attempt(lane, items, message, alerts[0], DIGESTED)
        if result is not None:
            self.stats.digests += 1
            self.stats.digested += len(items)
        return result

    async def _attempt(
        self,
        lane: Lane,
        items: Sequence[OutboxItem],
        message: Message,
        lead: Alert | None,
        state: str,
    ) -> SendResult | None:
        """Claim ``items``, send ``message``, record the outcome; None when not delivered."""
        now = self.clock()
        ids = [item.id for item in items]
        claimed = await self.outbox.claim(ids, now, now + timedelta(seconds=self.lease))
        if len(claimed) != len(ids):
            log.warning(
                "alerts_claimed_elsewhere",
                sink=lane.name,
                alert_ids=sorted(set(ids) - set(claimed)),
            )
            await self.outbox.hold(claimed, now)  # give back what we did take; next cycle retries
            return None
        message = replace(message, deliveries=tuple(item.delivery_id for item in items))
        try:
            result = await lane.sink.send(lead, message) or SendResult()
        except AlertError as error:
            await self._failed(lane, items, error)
            return None
        except Exception as error:  # a sink bug: retry like a transient failure, loudly
            log.exception("sink_crashed", sink=lane.name, alert_ids=ids)
            await self._failed(lane, items, AlertError(f"{type(error).__name__}: {error}"))
            return None
        accepted = time.monotonic()
        await self.outbox.finish(ids, state, self.clock(), external_id=result.ref)
        window = time.monotonic() - accepted
        self.stats.windows.append(window)
        log.info(
            "alert_delivered",
            sink=lane.name,
            alert_ids=ids,
            kind=message.event,
            attempt=max(item.attempts for item in items) + 1,
            duplicate_window_ms=round(window * 1000, 2),
        )
        return result

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Return the seconds before attempt ``attempt + 1``: Retry-After, else jittered backoff.

        The backoff doubles from ``backoff_initial`` up to ``backoff_max``; the jitter draws
        it from between half and all of that, so failed alerts do not retry in lockstep.
        """
        if retry_after is not None:
            return max(0.0, retry_after)
        delivery = self.delivery
        ceiling = min(float(delivery.backoff_max), delivery.backoff_initial * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + self.jitter() / 2)

    async def _failed(self, lane: Lane, items: Sequence[OutboxItem], error: AlertError) -> None:
        ids = [item.id for item in items]
        attempt = max(item.attempts for item in items) + 1
        now = self.clock()
        if error.retry_after is not None and lane.pacer is not None:
            lane.pacer.penalise(_ts(now), error.retry_after)
        if error.permanent or attempt >= lane.sink.settings.max_attempts:
            await self.outbox.fail(ids, str(error))
            self.stats.failed += len(ids)
            log.error(
                "alert_failed", sink=lane.name, alert_ids=ids, attempt=attempt, error=str(error)
            )
            return
        delay = self.backoff(attempt, error.retry_after)
        await self.outbox.retry(ids, now + timedelta(seconds=delay), str(error))
        self.stats.retried += len(ids)
        log.warning(
            "alert_retry_scheduled",
            sink=lane.name,
            alert_ids=ids,
            attempt=attempt,
            delay=round(delay, 2),
            error=str(error),
        )
