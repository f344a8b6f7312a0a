"""The charts' data: daily flag counts turned into uPlot's columns (pure, no I/O).

uPlot takes one x column (seconds since the epoch, one per day) and one y column per series.
Days without flags are zeros, so a quiet week shows as a dip, not as a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.storage.desk_charts import OTHERS, DailyFlags


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def columns(rows: Iterable[DailyFlags], days: list[date]) -> dict[str, Any]:
    """uPlot's columns: the days, then one series per name (sorted, ``others`` last)."""
    counts: dict[str, dict[date, int]] = {}
    for row in rows:
        per_day = counts.setdefault(row.series, {})
        per_day[row.day] = per_day.get(row.day, 0) + row.posts
    names = sorted(counts, key=lambda name: (name == OTHERS, name))
    x = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days]
    series = [{"label": n, "values": [counts[n].get(d, 0) for d in days]} for n in names]
    return {"x": x, "series": series}
