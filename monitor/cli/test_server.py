"""``monitor test-server``: run the local Telegram test server standalone (offline demo).

It prints the ``[telegram.server]`` config to paste, the test phone number and the login code,
then serves until Ctrl-C. The server itself lives in ``monitor.testing``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click

from monitor.cli.base import cli, fail

DEMO_PHONE = "+99966 0 0001"


@cli.command("test-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--seed",
    "seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML or JSON file with users, channels and posts (see seed.example.toml).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("server-key.pem"),
    show_default=True,
    help="Where to write the server's RSA public key.",
)
def test_server(host: str, port: int, seed: Path | None, key_file: Path) -> None:
    """Run a local Telegram (MTProto) server for tests and the offline demo."""
    from monitor.testing.seed import SeedError

    try:
        asyncio.run(serve(host, port, seed, key_file))
    except SeedError as error:
        fail(f"test-server: {error}", 2)
    except OSError as error:
        fail(f"test-server: cannot listen on {host}:{port}: {error}", 1)
    except KeyboardInterrupt:
        pass


async def serve(host: str, port: int, seed: Path | None, key_file: Path) -> None:
    """Start the server, print how to connect, and wait until cancelled."""
    from monitor.testing.server import TelegramTestServer

    server = TelegramTestServer.from_seed(seed) if seed else TelegramTestServer()
    if not server.state.users:
        server.add_user(phone=DEMO_PHONE, first_name="Demo")
    settings = await server.start(host=host, port=port)
    settings.write_public_key(key_file)
    click.echo(settings.config_toml(key_file))
    phones = [u.phone for u in server.state.users.values() if u.phone]
    click.echo(f"# test phone numbers: {', '.join(phones)}")
    click.echo(f"# login code: {server.login_code}")
    click.echo("# serving; press Ctrl-C to stop", err=True)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
