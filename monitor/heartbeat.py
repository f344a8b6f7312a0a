"""The heartbeat file the daemon rewrites while it works and ``monitor health`` reads.

A small JSON document replaced atomically. Health means: the file is fresh and the daemon that
wrote it said its scheduler was running.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Health:
    """The verdict on a heartbeat: healthy or not, and why."""

    healthy: bool
    reason: str


def write_heartbeat(path: Path, **fields: Any) -> None:
    """Replace the heartbeat at ``path`` with the current time and ``fields``."""
    document = {"time": datetime.now(UTC).isoformat(), "pid": os.getpid(), **fields}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    temporary.replace(path)


def read_health(path: Path, max_age: float, now: datetime | None = None) -> Health:
    """Judge the heartbeat at ``path``: fresh (younger than ``max_age`` s) and running."""
    now = now or datetime.now(UTC)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        written = datetime.fromisoformat(document["time"])
    except FileNotFoundError:
        return Health(False, f"no heartbeat at {path}; is `monitor run` running?")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Health(False, f"unreadable heartbeat at {path}: {error}")
    age = (now - written).total_seconds()
    if age > max_age:
        return Health(False, f"heartbeat is {age:.0f} s old (limit {max_age:.0f} s)")
    if not document.get("scheduler_running", False):
        return Health(False, "the daemon reports its scheduler is not running")
    return Health(True, f"healthy: heartbeat {age:.0f} s old, pid {document.get('pid')}")
