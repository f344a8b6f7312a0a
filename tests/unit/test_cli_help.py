"""The CLI's face: version, help, and the kinds it lists from their docstrings."""

from __future__ import annotations

from monitor import __version__
from monitor.alerts import SINK_KINDS
from monitor.rules.loader import KINDS
from tests.helpers.cli import invoke, run


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
    assert "POST each alert as signed JSON" in result.stdout


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
