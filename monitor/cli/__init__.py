"""The ``monitor`` command line: one click group, one module per command group.

This package only parses arguments, calls the service and maps ``MonitorError`` to a message
and an exit code. It holds no business logic.
"""

from __future__ import annotations

from monitor.cli.base import cli

# Each command module registers its commands on ``cli`` when imported: one line per module.
from monitor.cli import config_commands  # noqa: F401  isort: skip
from monitor.cli import daemon_commands  # noqa: F401  isort: skip
from monitor.cli import backfill_commands  # noqa: F401  isort: skip
from monitor.cli import alerts  # noqa: F401  isort: skip
from monitor.cli import rules  # noqa: F401  isort: skip
from monitor.cli import rules_train  # noqa: F401  isort: skip
from monitor.cli import test_server  # noqa: F401  isort: skip
from monitor.cli import browse_commands  # noqa: F401  isort: skip
from monitor.cli import feedback_commands  # noqa: F401  isort: skip
from monitor.cli import search_commands  # noqa: F401  isort: skip
from monitor.cli import web_commands  # noqa: F401  isort: skip
from monitor.cli import cluster_commands  # noqa: F401  isort: skip

__all__ = ["cli", "main"]


def main() -> None:
    """Run the CLI (console script and ``python -m monitor``)."""
    cli(prog_name="monitor")
