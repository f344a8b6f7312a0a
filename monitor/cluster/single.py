"""One instance per SQLite database: a lock file beside it, held for the process's life.

Several instances need PostgreSQL (leases, see ``monitor.cluster``); on SQLite a second
``monitor run`` is refused in one line naming the first one's pid, even with another session.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from monitor.errors import SessionError
from monitor.storage.engine import sqlite_file


class SingleInstanceLock:
    """An exclusive lock on a SQLite database file (nothing for other databases)."""

    def __init__(self, url: str) -> None:
        database = sqlite_file(url)
        self.path = None if database is None else Path(f"{database}.instance-lock")
        self.database = database
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise a ``SessionError`` naming the process that holds it."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SessionError(
                f"{self.database} is in use by another monitor process (pid {holder}); one "
                "instance per SQLite database: several instances need PostgreSQL (see the "
                'README, "Several accounts")'
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (the OS releases it too when the process dies)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SingleInstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
