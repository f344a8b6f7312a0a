"""Which storage errors are a post's own (record it, move on) and which the database's (retry)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from monitor.storage.post_errors import database_trouble, describe_error


class DriverError(Exception):
    """Stands in for a driver's exception (the ``orig`` SQLAlchemy wraps)."""


@pytest.mark.parametrize(
    ("error", "trouble"),
    [
        pytest.param(OperationalError("INSERT", {}, DriverError("locked")), True, id="locked"),
        pytest.param(InterfaceError("INSERT", {}, DriverError("closed")), True, id="closed"),
        pytest.param(ConnectionRefusedError("refused"), True, id="refused"),
        pytest.param(ProgrammingError("INSERT", {}, DriverError("no column")), True, id="schema"),
        pytest.param(TimeoutError(), True, id="timeout"),
        pytest.param(
            DBAPIError("INSERT", {}, DriverError("terminating"), connection_invalidated=True),
            True,
            id="invalidated",
        ),
        pytest.param(DBAPIError("INSERT", {}, DriverError("0x00")), False, id="data"),
        pytest.param(IntegrityError("INSERT", {}, DriverError("refused")), False, id="trigger"),
        pytest.param(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"), False, id="text"),
    ],
)
def test_database_trouble(error: BaseException, trouble: bool) -> None:
    """Only an unreachable, busy or dropped database is the database's trouble."""
    assert database_trouble(error) is trouble


def test_describe_error_is_the_drivers_first_line_storable() -> None:
    """The recorded error is the driver's first line, without SQL, without NUL."""
    error = DBAPIError("INSERT INTO posts ...", {"text": "secret"}, DriverError("bad\x00\nDETAIL"))
    assert describe_error(error) == "bad\ufffd"
