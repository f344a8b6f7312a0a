"""What commands share: loading the config and configuring logging from the global options."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.base import options
from monitor.config import Config, MetricsSettings, default_config, load_config
from monitor.errors import ConfigError
from monitor.invite_links import invite_hashes
from monitor.logs import configure_logging, redactor, secret_values


def load_cli_config(ctx: click.Context, *, required: bool = False) -> Config:
    """Load the config named by the global options and set up logging from it.

    Without a config file (and none named), commands that can run on defaults get the default
    configuration with a SQLite database in the current folder.

    Raises:
        ConfigError: the file is missing (when named or ``required``) or invalid.
    """
    opts = options(ctx)
    if opts.config_given or required or opts.config_path.exists():
        config = load_config(opts.config_path)
    else:
        config = default_config(Path.cwd())
    redactor.register(secret_values(config))
    redactor.register(invite_hashes([channel.ref for channel in config.channels]))
    configure_logging(
        opts.log_level or config.logging.level,
        opts.log_format or config.logging.format,
    )
    return config


def use_session(config: Config, session: str | None) -> Config:
    """Return ``config`` with the account's session file set to ``session`` (``--session``).

    Several instances share one config and each names its account: a bare name like
    ``alice`` is ``alice.session`` beside the config; a path is taken as given (relative to
    the config's folder).

    Raises:
        ConfigError: there is no ``[telegram]`` section, or it gives a session string.
    """
    if session is None:
        return config
    where = f"{config.source}: telegram"
    if config.telegram is None:
        raise ConfigError(f"{where}: required for --session; add api_id and api_hash")
    if config.telegram.session_string is not None:
        raise ConfigError(
            f"{where}.session_string: --session names a session file; remove session_string"
        )
    path = Path(session)
    if path.suffix != ".session" and path.name == session:
        path = Path(f"{session}.session")
    if not path.is_absolute():
        path = (config.base_dir / path).resolve()
    telegram = config.telegram.model_copy(update={"session": path})
    return config.model_copy(update={"telegram": telegram, "metrics": _own_heartbeat(config, path)})


def _own_heartbeat(config: Config, session: Path) -> MetricsSettings:
    """Give the instance of ``session`` a heartbeat file of its own (instances may share a
    folder): ``monitor.heartbeat`` becomes ``monitor.alice.heartbeat``."""
    beat = config.metrics.heartbeat_file
    account = session.name.removesuffix(".session")
    return config.metrics.model_copy(
        update={"heartbeat_file": beat.with_name(f"{beat.stem}.{account}{beat.suffix}")}
    )


__all__ = ["ConfigError", "load_cli_config", "use_session"]
