"""Who this instance is: its account (the session's name), host, pid and version."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass

from monitor import __version__
from monitor.config import TelegramSettings


@dataclass(frozen=True, slots=True)
class Identity:
    """What ``monitor cluster`` shows of an instance."""

    account: str
    host: str
    pid: int
    version: str


def account_name(settings: TelegramSettings) -> str:
    """Name the account by its session: the file's name, or a digest of the string."""
    if settings.session_string is not None:
        digest = hashlib.sha256(settings.session_string.get_secret_value().encode())
        return f"string-{digest.hexdigest()[:8]}"
    name = settings.session.name
    return name.removesuffix(".session") or name


def this_instance(settings: TelegramSettings) -> Identity:
    """Return the identity of the running process for the account of ``settings``."""
    return Identity(account_name(settings), socket.gethostname(), os.getpid(), __version__)
