"""The [feedback] section: the links' address and secret, from the file or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError


def test_the_secret_comes_from_the_environment_and_is_hidden(tmp_path: Path) -> None:
    """MONITOR_FEEDBACK_SECRET fills [feedback] secret; the repr never shows it."""
    data = {"feedback": {"public_url": "https://desk.example.org"}}
    config = parse_config(
        data, source=tmp_path / "m.toml", environ={"MONITOR_FEEDBACK_SECRET": "hush-1234"}
    )
    assert config.feedback.links
    assert config.feedback.secret is not None
    assert config.feedback.secret.get_secret_value() == "hush-1234"
    assert "hush-1234" not in repr(config)


def test_no_links_without_both_keys(tmp_path: Path) -> None:
    """An address without a secret gives no links (and is no error)."""
    data = {"feedback": {"public_url": "https://desk.example.org"}}
    assert not parse_config(data, source=tmp_path / "m.toml", environ={}).feedback.links


def test_a_public_url_that_is_not_http_is_one_line(tmp_path: Path) -> None:
    """A public_url without http(s):// names the file and the key."""
    data = {"feedback": {"public_url": "desk.example.org"}}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, source=tmp_path / "m.toml", environ={})
    [line] = raised.value.problems
    assert line.startswith(f"{tmp_path / 'm.toml'}: feedback.public_url: ")
