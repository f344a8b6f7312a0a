"""The CLI's face: version, help, and the kinds it lists from their docstrings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor import __version__
from monitor.alerts import SINK_KINDS
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
