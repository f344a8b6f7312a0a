"""The CLI's face: version, help, and the kinds it lists from their docstrings."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import click
import pytest

from monitor import __version__
from monitor.alerts import SINK_KINDS
from monitor.cli import cli
from monitor.cli.params import parse_since
from monitor.rules.loader import KINDS
from tests.helpers.cli import invoke, run

HEAVY = ("alembic", "sqlalchemy", "telethon", "apprise")


def test_version() -> None:
    """`monitor --version` prints the package version."""
    result = invoke(["--version"])
    assert result.code == 0
    assert result.stdout.strip() == f"monitor, version {__version__}"


def test_help_lists_every_rule_and_sink_kind() -> None:
    """`monitor --help` ends with each rule and sink kind and its one-line description."""
    result = invoke(["--help"])
    assert result.code == 0
    for kind in KINDS:
        assert f"rule kind {kind}" in result.stdout
    for kind in SINK_KINDS:
        assert f"sink kind {kind}" in result.stdout
    assert "POST each alert as JSON, signed with HMAC-SHA256" in result.stdout


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["run", "--help"], ["db", "--help"]])
def test_version_and_help_import_no_heavy_library(args: list[str]) -> None:
    """`--version` and `--help` load neither Alembic, SQLAlchemy, Telethon nor Apprise."""
    code = (
        "import sys\n"
        "from monitor.cli import main\n"
        f"sys.argv = ['monitor', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout  # the command did print its version or help
    assert "LOADED []" in result.stderr


def test_python_dash_m_runs_the_same_cli() -> None:
    """`python -m monitor` is the console script."""
    result = run(["--version"])
    assert result.code == 0
    assert __version__ in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    """A mistyped command exits 2 with click's hint, no traceback."""
    result = invoke(["rnu"])
    assert result.code == 2
    assert "No such command 'rnu'" in result.stderr


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


def test_every_option_has_help() -> None:
    """Each option of each command says what it does in `--help` (`--format` did not)."""
    missing = [
        f"{name} {option.opts[0]}"
        for name, command in [("monitor", cli), *_commands(cli)]
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden and not option.help
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("7d", datetime(2026, 11, 23, 12, 0, tzinfo=UTC), id="days"),
        pytest.param("24h", datetime(2026, 11, 29, 12, 0, tzinfo=UTC), id="hours"),
        pytest.param("30m", datetime(2026, 11, 30, 11, 30, tzinfo=UTC), id="minutes"),
        pytest.param("2w", datetime(2026, 11, 16, 12, 0, tzinfo=UTC), id="weeks"),
        pytest.param("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC), id="date-is-utc"),
        pytest.param("2026-11-01 08:30:00", datetime(2026, 11, 1, 8, 30, tzinfo=UTC), id="time"),
        pytest.param(
            "2026-11-01T08:30:00+02:00",
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
            id="time-with-zone",
        ),
    ],
)
def test_since_accepts_durations_and_dates(text: str, expected: datetime) -> None:
    """One parser for every `--since`: durations count back from now; a date without zone is UTC."""
    assert parse_since(text, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == expected


def test_backfill_since_takes_a_duration_and_refuses_nonsense() -> None:
    """`backfill --since 7d` parses (it was refused); `--since soon` is a usage error naming it."""
    parsed = invoke(["backfill", "@chan", "--since", "7d", "--config", "missing.toml"])
    assert (parsed.code, parsed.stderr.split(":")[0]) == (2, "missing.toml")  # past the parser
    result = invoke(["backfill", "@chan", "--since", "soon"])
    assert result.code == 2
    assert "Invalid value for '--since': 'soon': use 30m, 24h, 7d or a date" in result.stderr
