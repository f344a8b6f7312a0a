"""``monitor login`` as a user runs it: answers on stdin, no terminal, the local Telegram server."""

from __future__ import annotations

import pytest

from monitor.telegram.session import session_path
from tests.helpers.monitor_world import MonitorWorld
from tests.helpers.processes import finish, spawn

pytestmark = pytest.mark.telegram

PHONE_2FA = "+99966000002"
PASSWORD = "correct horse battery"


def answers(*lines: str) -> str:
    """What the user types at the prompts, one line each."""
    return "".join(f"{line}\n" for line in lines)


async def test_login_with_two_step_password_writes_private_session(world: MonitorWorld) -> None:
    """Phone, code and 2FA password on stdin make a 0600 session that ``run --once`` can use."""
    world.server.add_user(phone=PHONE_2FA, first_name="Guarded", password=PASSWORD)
    world.write_config([])
    process = spawn(world, "login", stdin=True)
    result = await finish(
        process, within=30, input=answers(PHONE_2FA, world.server.login_code, PASSWORD)
    )
    assert result.code == 0, result.stderr
    telegram = world.config().telegram
    assert telegram is not None
    path = session_path(telegram)
    assert f"session saved to {path}" in result.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in result.stdout + result.stderr
    assert await world.sweep() == 0  # the saved session is logged in


async def test_login_string_prints_only_a_usable_session(world: MonitorWorld) -> None:
    """``--string`` prints just the StringSession on stdout; a config using it can run."""
    world.server.add_user(phone=PHONE_2FA, first_name="Guarded", password=PASSWORD)
    world.write_config([])
    process = spawn(world, "login", "--string", "--phone", PHONE_2FA, stdin=True)
    result = await finish(process, within=30, input=answers(world.server.login_code, PASSWORD))
    assert result.code == 0, result.stderr
    session = result.stdout.strip()
    assert len(session.splitlines()) == 1, result.stdout
    assert len(session) > 100
    telegram = world.config().telegram
    assert telegram is not None
    assert not session_path(telegram).exists()
    config = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        config.replace('api_hash = "test"\n', f'api_hash = "test"\nsession_string = "{session}"\n'),
        encoding="utf-8",
    )
    assert await world.sweep() == 0
    assert session not in (world.folder / "process-0.err").read_text(encoding="utf-8")


async def test_login_wrong_password_exits_2_without_traceback(world: MonitorWorld) -> None:
    """Three wrong 2FA passwords end the login with one line and exit 2."""
    world.server.add_user(phone=PHONE_2FA, first_name="Guarded", password=PASSWORD)
    world.write_config([])
    process = spawn(world, "login", "--phone", PHONE_2FA, stdin=True)
    typed = answers(world.server.login_code, "wrong", "still wrong", "nope")
    result = await finish(process, within=30, input=typed)
    assert result.code == 2, result.stderr
    assert "login failed" in result.stderr
    assert "Traceback" not in result.stderr
