"""The charts' data: daily flag counts turned into uPlot's columns (pure, no I/O).

uPlot takes one x column (seconds since the epoch, one per day) and one y column per series.
Days without flags are zeros, so a quiet week shows as a dip, not as a gap. Per channel, the
busiest ``TOP_CHANNELS`` get a series each and the rest share one (``others``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.storage.desk_queries import DayCount

OTHERS = "others"
TOP_CHANNELS = 6


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def busiest(rows: Iterable[DayCount], top: int = TOP_CHANNELS) -> list[DayCount]:
    """The rows of the ``top`` busiest keys as ``@key``, the others' summed as ``others``."""
    rows = list(rows)
    totals = Counter[str]()
    for row in rows:
        totals[row.key] += row.count
    kept = {key for key, _ in totals.most_common(top)}
    return [
        DayCount(row.day, f"@{row.key}" if row.key in kept else OTHERS, row.count) for row in rows
    ]


def columns(rows: Iterable[DayCount], days: list[date]) -> dict[str, Any]:
    """uPlot's columns: the days, then one series per key (sorted, ``others`` last)."""
    counts: dict[str, dict[date, int]] = {}
    for row in rows:
        per_day = counts.setdefault(row.key, {})
        per_day[row.day] = per_day.get(row.day, 0) + row.count
    names = sorted(counts, key=lambda name: (name == OTHERS, name))
    x = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days]
    series = [{"label": n, "values": [counts[n].get(d, 0) for d in days]} for n in names]
    return {"x": x, "series": series}
