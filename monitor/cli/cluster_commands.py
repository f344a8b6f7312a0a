"""``monitor cluster``: the instances sharing a PostgreSQL database and their leases."""

from __future__ import annotations

import asyncio
import sys

import click

from monitor.cli.base import cli, config_option, handle_errors
from monitor.cli.context import load_cli_config
from monitor.errors import ConfigError

#: Instances whose heartbeat is older than this are left out of the listing.
SHOWN_FOR_SECONDS = 86400


@cli.command()
@config_option
@handle_errors
@click.pass_context
def cluster(ctx: click.Context) -> None:
    """List the instances (account, host, version, heartbeat, channels held, lease age) and
    the enabled channels no instance holds. PostgreSQL only."""
    from monitor.cli.tables import cluster_table
    from monitor.cluster.member import is_cluster_database
    from monitor.storage.engine import existing_database
    from monitor.storage.leases import ClusterOverview, Leases

    config = load_cli_config(ctx)
    if not is_cluster_database(config.database.url):
        raise ConfigError(
            f"{config.source}: database.url: several instances need PostgreSQL; "
            "on SQLite one instance watches every channel"
        )
    refs = [channel.ref for channel in config.channels if channel.enabled]
    lease = float(config.cluster.lease_seconds)

    async def read() -> ClusterOverview:
        async with existing_database(config.database.url) as engine:
            return await Leases(engine).overview(refs, SHOWN_FOR_SECONDS)

    overview = asyncio.run(read())
    cluster_table(overview, lease)
    sys.exit(0 if not overview.unheld else 1)
