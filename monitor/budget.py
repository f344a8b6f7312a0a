"""How often each channel can really be polled under the account's history budget (pure).

Telegram allows an account about ten history requests per 30 seconds. With many channels the
configured intervals cannot all be kept, so the budget is shared: every channel gets at least
its configured interval, and when the sum does not fit, intervals stretch, busy channels
(more posts per hour) keeping a larger share than quiet ones. Re-reading each channel's
recent window (edits, deletions) takes its pages off the top of the budget first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_WEIGHT = 0.25
MAX_WEIGHT = 4.0


@dataclass(frozen=True, slots=True)
class PollDemand:
    """One channel's wish: its configured interval and how busy it has been."""

    channel_id: int
    interval: float
    posts_per_hour: float = 1.0


def _weight(demand: PollDemand) -> float:
    return min(MAX_WEIGHT, max(MIN_WEIGHT, demand.posts_per_hour))


def requested_rate(demands: list[PollDemand]) -> float:
    """Return the history requests per minute the configured intervals ask for."""
    return sum(60.0 / demand.interval for demand in demands)


def effective_intervals(demands: list[PollDemand], per_minute: float) -> dict[int, float]:
    """Return each channel's interval in seconds, so that all fit in ``per_minute`` requests.

    Channels whose configured interval fits their share keep it; the budget they leave is
    shared among the others in proportion to their weight (busier channels poll more often).
    """
    result = {d.channel_id: d.interval for d in demands}
    if requested_rate(demands) <= per_minute:
        return result
    pending = list(demands)
    budget = per_minute
    while pending:
        total_weight = sum(_weight(d) for d in pending)
        shares = {d.channel_id: budget * _weight(d) / total_weight for d in pending}
        satisfied = [d for d in pending if 60.0 / d.interval <= shares[d.channel_id]]
        if not satisfied:
            for demand in pending:
                result[demand.channel_id] = 60.0 / shares[demand.channel_id]
            break
        for demand in satisfied:
            budget -= 60.0 / demand.interval
        pending = [d for d in pending if d not in satisfied]
    return result


def budget_warning(demands: list[PollDemand], per_minute: float, live: bool) -> str | None:
    """Return a warning when the configured intervals cannot fit the budget, else None."""
    wanted = requested_rate(demands)
    if wanted <= per_minute or not demands:
        return None
    slowest = max(effective_intervals(demands, per_minute).values())
    message = (
        f"{len(demands)} channels at their configured intervals need {wanted:.0f} history "
        f"requests per minute, but the account's budget is {per_minute:.0f} "
        f"(scheduler.history_requests_per_minute); intervals are stretched, up to {slowest:.0f} s"
    )
    if live:
        message += "; joined channels still deliver new posts at once through live updates"
    else:
        message += "; turn on scheduler.live and join to get new posts without polling"
    return message


def recheck_rate(
    demands: list[PollDemand], window: float, interval: float, *, page: int = 100, most: int = 20
) -> float:
    """Return the history requests per minute re-reading each channel's recent window costs.

    A channel's window of ``window`` seconds holds about ``posts_per_hour`` times its hours of
    posts, read by pages of ``page`` (at least one, at most ``most``) every ``interval``
    seconds.
    """
    if window <= 0 or interval <= 0:
        return 0.0
    hours = window / 3600.0
    pages = sum(min(most, max(1, math.ceil(d.posts_per_hour * hours / page))) for d in demands)
    return pages * 60.0 / interval
