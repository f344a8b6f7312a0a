"""The base install has no Apprise: a config with an apprise sink then fails with one line
naming the extra to install (status 2, no traceback), from ``check-config`` as from ``run``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Python treats a module set to None in sys.modules as not installed: the import raises
# ImportError exactly as in an environment without the extra.
WITHOUT_APPRISE = (
    "import sys; sys.modules['apprise'] = None; sys.argv[0] = 'monitor'; "
    "from monitor.cli import main; main()"
)
CONFIG = """\
[telegram]
api_id = 1
api_hash = "abc"

[[alerts]]
kind = "apprise"
name = "chat"
urls = ["json://127.0.0.1:9/hook"]
"""


@pytest.mark.parametrize("command", [["check-config"], ["run", "--once"]])
def test_apprise_sink_without_the_extra_is_one_line(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_APPRISE, *command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert lines == [
        f'{config}: alerts[0]: kind = "apprise" needs Apprise, which is not installed; '
        "install the extra: pip install 'telegram-discipline-monitor[apprise]'"
    ]
    assert not list(tmp_path.glob("*.db")), "run touched the database before refusing"
