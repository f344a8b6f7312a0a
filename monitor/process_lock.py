"""An exclusive lock file holding its owner's pid, for the life of the process that took it.

The session lock (two clients on one session get its key revoked) and the single-instance lock
of a SQLite database are both this: ``flock`` on a 0600 file, refused at once with a message
that names the process holding it. The OS releases the lock when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from monitor.errors import SessionError


class ProcessLock:
    """``flock`` on ``path``; ``busy`` turns the holder's pid into the refusal's message."""

    def __init__(self, path: Path, busy: Callable[[str], str]) -> None:
        self.path = path
        self._busy = busy
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise a ``SessionError`` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SessionError(self._busy(holder)) from None
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

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
