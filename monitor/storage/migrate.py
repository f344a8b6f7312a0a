"""Schema migrations, run programmatically through Alembic (``monitor db upgrade``).

The Alembic scripts live in ``migrations/`` at the top of the repository and are installed as
``monitor.migrations``, so the same code works from a checkout, a wheel and the container.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError
from monitor.storage.engine import create_engine


def script_location() -> Path:
    """Return the folder that holds ``env.py`` and ``versions/``."""
    return Path(str(resources.files("monitor.migrations")))


def alembic_config(url: str, stdout: io.StringIO | None = None) -> AlembicConfig:
    """Build an Alembic config for ``url`` without any ini file."""
    config = AlembicConfig(stdout=stdout or io.StringIO())
    config.set_main_option("script_location", str(script_location()))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``.

    Raises:
        StorageError: the database cannot be reached or a migration failed.
    """
    _run(lambda: command.upgrade(alembic_config(url), revision), url)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision``."""
    _run(lambda: command.downgrade(alembic_config(url), revision), url)


def head_revision() -> str | None:
    """Return the newest revision the installed code knows."""
    return ScriptDirectory(str(script_location())).get_current_head()


def knows_revision(revision: str) -> bool:
    """Tell whether the installed code has migration ``revision`` (False: a newer one)."""
    try:
        return ScriptDirectory(str(script_location())).get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(url: str) -> str | None:
    """Return the revision the database at ``url`` is at (None when never migrated)."""

    async def read() -> str | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read())
    except (SQLAlchemyError, OSError) as error:
        raise StorageError(f"database {_safe(url)}: {_first_line(error)}") from None


def _run(action: Callable[[], None], url: str) -> None:
    try:
        action()
    except (SQLAlchemyError, OSError) as error:
        raise StorageError(f"database {_safe(url)}: {_first_line(error)}") from None


def _safe(url: str) -> str:
    from monitor.config_types import mask_url

    return mask_url(url)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
