"""How an instance of a cluster reads to a person: live, dead, benched or stopped (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def instance_state(item: Any, now: datetime, lease: float) -> str:
    """``stopped`` (a clean stop), ``benched`` (a long flood wait), ``live`` (renewed within
    a lease) or ``dead`` (its leases run out for the others to claim)."""
    if item.stopped_at is not None:
        return "stopped"
    if not item.available:
        return "benched"
    return "live" if (now - item.heartbeat_at).total_seconds() <= lease else "dead"
