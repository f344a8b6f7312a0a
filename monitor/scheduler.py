"""The schedule: one APScheduler job per channel plus the daemon's periodic chores.

The only module that imports apscheduler. Its settings live here in one place: UTC, one
running instance per job, coalesced misfires, a grace period, and jitter so channels do not
poll in lockstep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

Job = Callable[..., Awaitable[Any]]


class Schedule:
    """Interval jobs by name, on the running asyncio loop."""

    def __init__(self, *, misfire_grace: int = 30) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace,
            },
        )

    @property
    def running(self) -> bool:
        """Tell whether the scheduler is running."""
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Start running jobs on the current event loop."""
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop scheduling; jobs already running finish on their own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def every(
        self,
        name: str,
        seconds: float,
        job: Job,
        *args: Any,
        jitter: int = 0,
        start_now: bool = True,
    ) -> None:
        """Run ``await job(*args)`` every ``seconds`` (replacing a job of that name).

        ``job`` must be a coroutine function: APScheduler runs anything else in a thread.
        """
        trigger = IntervalTrigger(seconds=max(seconds, 1.0), jitter=jitter or None, timezone=UTC)
        first: Any = datetime.now(UTC) + timedelta(milliseconds=50) if start_now else None
        self._scheduler.add_job(
            job,
            trigger,
            args=args,
            id=name,
            name=name,
            replace_existing=True,
            next_run_time=first,
        )

    def interval(self, name: str) -> float | None:
        """Return the interval of job ``name`` in seconds, if it exists."""
        job = self._scheduler.get_job(name)
        return job.trigger.interval.total_seconds() if job else None

    def reschedule(self, name: str, seconds: float, *, jitter: int = 0) -> None:
        """Change job ``name``'s interval; a job already at that interval keeps its next run."""
        current = self.interval(name)
        if current is None or abs(current - max(seconds, 1.0)) < 0.5:
            return
        trigger = IntervalTrigger(seconds=max(seconds, 1.0), jitter=jitter or None, timezone=UTC)
        self._scheduler.reschedule_job(name, trigger=trigger)

    def remove(self, name: str) -> None:
        """Remove job ``name`` if it exists."""
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def names(self) -> list[str]:
        """Return the names of every scheduled job."""
        return [job.id for job in self._scheduler.get_jobs()]
