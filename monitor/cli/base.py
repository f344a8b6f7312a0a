"""The root click group, its global options, and the mapping of errors to exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from monitor import __version__
from monitor.errors import MonitorError
from monitor.invite_links import mask_invite_links

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_CONFIG = "monitor.toml"


@dataclass
class Options:
    """Global options shared by every command."""

    config_path: Path
    config_given: bool
    log_format: str
    log_level: str


def resolve_config_path(given: str | None) -> tuple[Path, bool]:
    """Return the config path from ``--config``, ``MONITOR_CONFIG`` or ``./monitor.toml``."""
    if given:
        return Path(given), True
    from_env = os.environ.get("MONITOR_CONFIG")
    if from_env:
        return Path(from_env), True
    return Path(DEFAULT_CONFIG), False


def fail(message: str, code: int) -> None:
    """Print ``message`` on stderr and exit with ``code``; no traceback."""
    click.echo(message, err=True)
    sys.exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a ``MonitorError`` escaping a command into its message and exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MonitorError as error:
            # A message may quote a channel reference; an invite link's hash is a secret.
            fail(mask_invite_links(str(error)), error.exit_code)
            raise  # unreachable: fail() exits

    return wrapper


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].replace("``", "") if lines else ""


def feature_lines() -> list[tuple[str, str]]:
    """Rule kinds and sink kinds, each with the first line of its config model's docstring.

    Sink kinds come from their config models, not from ``monitor.alerts``: the sinks import
    Telethon and Apprise, which ``--help`` has no use for.
    """
    from typing import get_args

    from monitor.config import AnySinkSettings
    from monitor.rules.loader import KINDS

    rules = [(f"rule kind {name}", _first_line(spec.__doc__)) for name, (spec, _) in KINDS.items()]
    sink_models = get_args(get_args(AnySinkSettings)[0])
    sinks = [
        (
            f"sink kind {get_args(model.model_fields['kind'].annotation)[0]}",
            _first_line(model.__doc__),
        )
        for model in sink_models
    ]
    return rules + sinks


class MonitorGroup(click.Group):
    """The root group; its help ends with the rule and sink kinds this version knows."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the kinds only when help is shown (importing them is not free)."""
        with formatter.section("Rule and sink kinds"):
            formatter.write_dl(feature_lines())


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Config file (default: $MONITOR_CONFIG, else ./monitor.toml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default=None,
    help="Log rendering; auto is console on a terminal, JSON lines otherwise.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=None,
    help="Minimum log level (overrides [logging] level).",
)
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, log_format: str | None, log_level: str | None
) -> None:
    """Watch Telegram channels for military-discipline stories and alert a chat."""
    path, given = resolve_config_path(config)
    ctx.obj = Options(path, given, log_format or "", (log_level or "").lower())


def options(ctx: click.Context) -> Options:
    """Return the global options of the running command."""
    obj: Any = ctx.find_root().obj
    if not isinstance(obj, Options):  # a command invoked outside the `monitor` group
        raise click.UsageError("run this command through `monitor`")
    return obj


def _set_config(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value:
        opts = options(ctx)
        opts.config_path, opts.config_given = Path(value), True


def config_option(func: Callable[P, R]) -> Callable[P, R]:
    """Let a command take ``--config`` after its name too (``monitor run --config x.toml``)."""
    return click.option(
        "--config",
        metavar="PATH",
        expose_value=False,
        is_eager=True,
        callback=_set_config,
        help="Config file (default: $MONITOR_CONFIG, else ./monitor.toml).",
    )(func)
