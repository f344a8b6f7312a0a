"""The exception tree of the service.

Every error a user can act on is a ``MonitorError``; the CLI maps it to a message and an exit
code. This module must not import anything from the edges (Telegram, database, HTTP).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error the service raises on purpose.

    ``exit_code`` is what the CLI exits with when this error reaches it.
    """

    exit_code: int = 1


class ConfigError(MonitorError):
    """The configuration is unusable; ``problems`` holds one line per problem."""

    exit_code = 2
    #: At most this many problems are shown; a file with thousands of broken entries (or one
    #: mistake repeated) must not print thousands of lines.
    max_shown = 20

    def __init__(self, problems: list[str] | str) -> None:
        listed = [problems] if isinstance(problems, str) else problems
        self.problems = list(dict.fromkeys(listed))  # each distinct problem once, in order
        shown = self.problems[: self.max_shown]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more problems; fix the ones above and check again")
        super().__init__("\n".join(shown))


class RuleError(ConfigError):
    """A rule file is invalid; each problem reads ``file: rule id: problem``."""


class SessionError(MonitorError):
    """The Telegram session is missing, unauthorised or already in use."""

    exit_code = 2


class TelegramError(MonitorError):
    """A Telegram call failed in a way the caller must handle."""


class StorageError(MonitorError):
    """The database is unreachable or refused an operation."""


class DatabaseUnavailableError(StorageError):
    """A command's database does not exist, cannot be reached, or has no schema.

    A setup problem for the user to fix (status 2, like a config mistake), said in one line.
    """

    exit_code = 2


class AlertError(MonitorError):
    """A sink could not deliver an alert.

    ``retry_after`` is the delay the sink asked for, in seconds, if it gave one; ``permanent``
    means retrying cannot help (for example HTTP 400 or a chat that does not exist).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class FeedbackError(MonitorError):
    """A judgement or a mute cannot be recorded: a bad label, category, channel or id.

    The person asking can fix it (status 2), and the message says how.
    """

    exit_code = 2
