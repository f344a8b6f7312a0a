"""``monitor web``: the analyst's desk, served on its own (``monitor run`` can serve it too)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config


@cli.command()
@config_option
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to serve (default: [web] listen, else 127.0.0.1:8470). Beyond loopback the "
    "desk needs MONITOR_WEB_TOKEN or [web] token_file.",
)
@handle_errors
@click.pass_context
def web(ctx: click.Context, listen: str | None) -> None:
    """Serve the analyst's desk: flagged stories, feedback, mutes and the JSON API."""
    from monitor.web.security import DEFAULT_LISTEN
    from monitor.web.server import DeskServer, check_database

    config = load_cli_config(ctx)
    server = DeskServer(config, listen or config.web.listen or DEFAULT_LISTEN)
    server.check()

    async def serve() -> None:
        await check_database(config.database.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        task = asyncio.create_task(server.serve(stop))
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if server.ready.is_set():
            click.echo(f"The desk is at {server.address} (Ctrl-C stops)", err=True)
        ready.cancel()
        await task

    asyncio.run(serve())
