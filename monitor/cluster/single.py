"""One instance per SQLite database: a lock file beside it, held for the process's life.

Several instances need PostgreSQL (leases, see ``monitor.cluster``); on SQLite a second
``monitor run`` is refused in one line naming the first one's pid, even with another session.
"""

from __future__ import annotations

from pathlib import Path

from monitor.process_lock import ProcessLock
from monitor.storage.engine import sqlite_file


class SingleInstanceLock:
    """An exclusive lock on a SQLite database file (nothing for other databases)."""

    def __init__(self, url: str) -> None:
        database = sqlite_file(url)
        self.database = database
        self.lock = (
            None if database is None else ProcessLock(Path(f"{database}.instance-lock"), self._busy)
        )

    def _busy(self, holder: str) -> str:
        return (
            f"{self.database} is in use by another monitor process (pid {holder}); one "
            "instance per SQLite database: several instances need PostgreSQL (see the "
            'README, "Several accounts")'
        )

    def acquire(self) -> None:
        """Take the lock or raise a ``SessionError`` naming the process that holds it."""
        if self.lock is not None:
            self.lock.acquire()

    def release(self) -> None:
        """Release the lock (the OS releases it too when the process dies)."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> SingleInstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
