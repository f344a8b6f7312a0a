"""The config file: the shipped example loads, and every mistake gets one actionable line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.helpers.cli import invoke

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SECRETS = {
    "MONITOR_TELEGRAM_API_HASH": "0123456789abcdef",
    "MONITOR_ALERTS_NEWSROOM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
}
MINIMAL_TELEGRAM = '[telegram]\napi_id = 1\napi_hash = "abc"\n'

BROKEN_CONFIGS = [
    pytest.param(
        '[telegram]\napi_id = 1\napi_hash = "x"\n[[channels]]\nref = "@alpha"\ninterval = 1\n',
        "channels[0].interval: must be at least 5 seconds (got 1)",
        id="interval-too-small",
    ),
    pytest.param(
        '[[channels]]\nref = "@alpha"\n[[channels]]\nref = "@bravo"\n'
        '[[channels]]\nref = "@charlie"\ninterval = "fast"\n',
        "channels[2].interval: must be a whole number (got 'fast')",
        id="wrong-type",
    ),
    pytest.param(
        '[telegram]\napi_id = 1\napi_hsh = "x"\n',
        "telegram.api_hsh: unknown key; did you mean 'api_hash'?",
        id="unknown-key-suggested",
    ),
    pytest.param(
        '[[channel]]\nref = "@alpha"\n',
        "channel: unknown key; did you mean 'channels'?",
        id="unknown-section-suggested",
    ),
    pytest.param(
        "[telegram]\napi_id = 1\n",
        "telegram: api_hash is missing; set telegram.api_hash, telegram.api_hash_file "
        "or the environment variable MONITOR_TELEGRAM_API_HASH",
        id="missing-secret",
    ),
    pytest.param(
        '[database]\nurl = "mysql://root@localhost/monitor"\n',
        "database.url: unsupported database URL 'mysql://root@localhost/monitor'; use "
        "sqlite:///path/to/monitor.db or postgresql://user@host:5432/dbname",
        id="bad-database-url",
    ),
    pytest.param(
        '[database]\nurl = "mysql://root:hunter2@localhost/monitor"\n',
        "database.url: unsupported database URL 'mysql://root:***@localhost/monitor'; use "
        "sqlite:///path/to/monitor.db or postgresql://user@host:5432/dbname",
        id="database-password-masked",
    ),
    pytest.param(
        '[[alerts]]\nkind = "pager"\n',
        "alerts[0]: unknown kind 'pager'; use one of 'telegram', 'webhook', 'apprise', 'log'",
        id="unknown-sink-kind",
    ),
    pytest.param(
        '[[alerts]]\nkind = "webhook"\nurl = "ftp://example.org"\n',
        "alerts[0].url: must be an http:// or https:// URL with a host (got "
        "'ftp://example.org'); like https://example.org/hook",
        id="webhook-url",
    ),
    pytest.param(
        '[[alerts]]\nkind = "log"\nquiet_hours = "late"\n',
        "alerts[0].quiet_hours: must look like 23:00-07:00 (got 'late')",
        id="quiet-hours",
    ),
    pytest.param(
        '[delivery]\ntimezone = "Mars/Olympus"\n',
        "delivery.timezone: unknown time zone 'Mars/Olympus'; use a name like Europe/Kyiv",
        id="timezone",
    ),
    pytest.param(
        '[[alerts]]\nkind = "log"\n[[alerts]]\nkind = "log"\n',
        "two sinks are named 'log'; give each [[alerts]] a unique name",
        id="duplicate-sink-names",
    ),
    pytest.param(
        "[[channels]]\ninterval = 60\n",
        "channels[0].ref: required; add it",
        id="missing-required-key",
    ),
    pytest.param(
        '[scheduler]\nstore = "some"\n',
        "scheduler.store: must be one of 'all' or 'flagged' (got 'some')",
        id="literal-choice",
    ),
    pytest.param(
        '[telegram]\napi_id = 1\napi_hash_file = "missing-secret.txt"\n',
        "telegram: cannot read {dir}/missing-secret.txt: No such file or directory; fix the "
        "path or set telegram.api_hash directly",
        id="secret-file-missing",
    ),
    pytest.param(
        '[telegram]\napi_id = 1\napi_hash = "x"\n[telegram.server]\nhost = "127.0.0.1"\n'
        "port = 70000\n",
        "telegram.server.port: must be at most 65535 (got 70000)",
        id="port-range",
    ),
    pytest.param(
        MINIMAL_TELEGRAM + '[[alerts]]\nkind = "telegram"\nname = "desk"\nchat = "@desk"\n',
        "alerts[0]: bot_token is missing; set bot_token, bot_token_file, the environment "
        "variable MONITOR_ALERTS_DESK_BOT_TOKEN, or as_account = true",
        id="bot-token-missing",
    ),
    pytest.param(
        '[metrics]\nlisten = "9108"\n',
        "metrics.listen: has the wrong form (got '9108'); expected host:port, like 127.0.0.1:9108",
        id="metrics-listen",
    ),
]


@pytest.mark.parametrize(("toml", "expected"), BROKEN_CONFIGS)
def test_broken_config_gives_one_line_and_status_2(
    tmp_path: Path, toml: str, expected: str
) -> None:
    """Each broken config exits 2 with exactly one line naming file, key and fix."""
    path = tmp_path / "monitor.toml"
    path.write_text(toml, encoding="utf-8")
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}: " + expected.format(dir=tmp_path.resolve())]


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    """A config path that does not exist says how to give one."""
    path = tmp_path / "nope.toml"
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 2
    assert result.stderr.strip() == (
        f"{path}: file not found; pass --config PATH, set MONITOR_CONFIG, or copy "
        "config.example.toml to monitor.toml"
    )


def test_invalid_toml_names_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error reports its line and column."""
    path = tmp_path / "monitor.toml"
    path.write_text('[telegram]\napi_id = 1\napi_hash "x"\n', encoding="utf-8")
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 2
    assert result.stderr.strip() == (
        f"{path}: invalid TOML: Expected '=' after a key in a key/value pair (at line 3, column 10)"
    )
    assert "Traceback" not in result.stderr


def test_example_config_loads_with_documented_secrets() -> None:
    """config.example.toml validates once its secrets come from the documented variables."""
    result = invoke(
        ["check-config", "--config", str(REPO / "config.example.toml")], env=EXAMPLE_SECRETS
    )
    assert result.code == 0, result.stderr
    assert '"api_hash": "**********"' in result.stdout
    assert EXAMPLE_SECRETS["MONITOR_TELEGRAM_API_HASH"] not in result.stdout
    assert EXAMPLE_SECRETS["MONITOR_ALERTS_NEWSROOM_BOT_TOKEN"] not in result.stdout


def test_example_documents_every_option() -> None:
    """Every key the models accept appears in config.example.toml (so it cannot go stale)."""
    from monitor.config import Config

    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    documented = {key for key in _all_keys(Config) if f"{key} =" in text or f"{key}]" in text}
    missing = sorted(_all_keys(Config) - documented)
    assert missing == []


def _all_keys(model: type) -> set[str]:
    from tests.helpers.models import field_names

    return field_names(model)


def test_relative_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    """Paths in the file are relative to the file, not to the current directory."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "hash.txt").write_text("s3cret\n", encoding="utf-8")
    path = folder / "monitor.toml"
    path.write_text(
        '[telegram]\napi_id = 1\napi_hash_file = "hash.txt"\nsession = "state/a.session"\n'
        '[rules]\nfiles = ["rules/mine.toml"]\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert config.telegram is not None
    assert config.telegram.api_hash is not None
    assert config.telegram.api_hash.get_secret_value() == "s3cret"
    assert config.telegram.session == folder / "state" / "a.session"
    assert config.rules.files == [folder / "rules" / "mine.toml"]
    assert config.database.url == f"sqlite:///{folder / 'monitor.db'}"


def test_environment_wins_over_file(tmp_path: Path) -> None:
    """MONITOR_* variables override the file's secrets and database URL."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM
        + '[[alerts]]\nkind = "webhook"\nname = "Ops Hook"\nurl = "http://127.0.0.1:1/"\n',
        encoding="utf-8",
    )
    config = load_config(
        path,
        environ={
            "MONITOR_TELEGRAM_API_HASH": "from-env",
            "MONITOR_ALERTS_OPS_HOOK_SECRET": "hook-secret",
            "MONITOR_DATABASE_URL": "postgresql://u@127.0.0.1/db",
        },
    )
    assert config.telegram is not None
    assert config.telegram.api_hash is not None
    assert config.telegram.api_hash.get_secret_value() == "from-env"
    sink = config.sink("Ops Hook")
    assert sink is not None
    assert sink.secret.get_secret_value() == "hook-secret"
    assert config.database.url == "postgresql://u@127.0.0.1/db"


def test_secrets_hidden_from_repr_and_errors(tmp_path: Path) -> None:
    """A config's repr and its validation errors never show secret values."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        '[telegram]\napi_id = 1\napi_hash = "topsecretvalue"\n[[alerts]]\nkind = "webhook"\n'
        'url = "http://127.0.0.1:1/"\nsecret = "hooksecretvalue"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    assert "topsecretvalue" not in repr(config)
    assert "hooksecretvalue" not in repr(config)
    path.write_text(path.read_text() + "timeout = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert "hooksecretvalue" not in str(caught.value)
    assert "topsecretvalue" not in str(caught.value)


def test_config_from_environment_variable(tmp_path: Path) -> None:
    """MONITOR_CONFIG names the file when --config is not given."""
    path = tmp_path / "elsewhere.toml"
    path.write_text("[[channels]]\nref = '@xray'\ninterval = 2\n", encoding="utf-8")
    result = invoke(["check-config"], env={"MONITOR_CONFIG": str(path)})
    assert result.code == 2
    assert result.stderr.startswith(f"{path}: channels[0].interval")


def test_example_config_passes_with_only_the_api_hash() -> None:
    """The shipped example passes check-config once MONITOR_TELEGRAM_API_HASH is set."""
    result = invoke(
        ["check-config", "--config", str(REPO / "config.example.toml")],
        env={"MONITOR_TELEGRAM_API_HASH": "0123456789abcdef"},
    )
    assert result.code == 0, result.stderr
    assert result.stderr.strip().endswith("config.example.toml: OK")


def test_commands_that_deliver_nothing_need_no_sink_secret(tmp_path: Path) -> None:
    """flagged, rules test and classify run although a bot token is missing; run refuses."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM + '[[alerts]]\nkind = "telegram"\nname = "desk"\nchat = "@desk_chat"\n',
        encoding="utf-8",
    )
    config = ["--config", str(path)]
    assert invoke(["db", "upgrade", *config]).code == 0
    flagged = invoke(["flagged", *config])
    assert flagged.code == 0, flagged.stderr
    tested = invoke([*config, "rules", "test", "Two soldiers deserted from their unit"])
    assert tested.code == 0, tested.stderr
    assert "desertion" in tested.stdout
    classified = invoke([*config, "classify", "-"], input='{"id": 1, "text": "AWOL again"}\n')
    assert classified.code == 0, classified.stderr
    checked = invoke(["check-config", *config])
    assert checked.code == 2
    assert checked.stderr.strip() == (
        f"{path}: alerts[0]: bot_token is missing; set bot_token, bot_token_file, the "
        "environment variable MONITOR_ALERTS_DESK_BOT_TOKEN, or as_account = true"
    )


def test_check_config_masks_secret_headers(tmp_path: Path) -> None:
    """Header values that carry credentials (Authorization, X-Api-Key) show masked."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM + '[[alerts]]\nkind = "webhook"\nurl = "https://h.example.org/"\n'
        'headers = { "Authorization" = "Bearer s3cr3t", "X-Api-Key" = "s3cr3t", "X-Source" = '
        '"tm" }\n',
        encoding="utf-8",
    )
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 0, result.stderr
    assert "s3cr3t" not in result.stdout
    assert '"X-Source": "tm"' in result.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "https://hooks.example.org/in?token=s3cr3t&team=ops",
            "https://hooks.example.org/in?token=***&team=***",
            id="query-token",
        ),
        pytest.param(
            "https://bob:s3cr3t@hooks.example.org/in",
            "https://bob:***@hooks.example.org/in",
            id="user-password",
        ),
        pytest.param(
            "https://hooks.example.org/in#s3cr3t", "https://hooks.example.org/in#***", id="fragment"
        ),
        pytest.param("https://hooks.example.org/in", "https://hooks.example.org/in", id="plain"),
        pytest.param(
            "postgresql://monitor:s3cr3t@127.0.0.1:5432/db?sslpassword=s3cr3t",
            "postgresql://monitor:***@127.0.0.1:5432/db?sslpassword=***",
            id="database",
        ),
    ],
)
def test_check_config_masks_credentials_in_urls(tmp_path: Path, url: str, shown: str) -> None:
    """check-config shows webhook and database URLs with query values and passwords masked."""
    from monitor.config import mask_url

    assert mask_url(url) == shown
    database, hook = (url, "https://h.example.org/") if "5432" in url else ("sqlite:///x.db", url)
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM
        + f'[database]\nurl = "{database}"\n[[alerts]]\nkind = "webhook"\nurl = "{hook}"\n',
        encoding="utf-8",
    )
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
    assert f'"url": "{shown}"' in result.stdout


def test_apprise_urls_from_environment_and_file(tmp_path: Path) -> None:
    """Apprise URLs (they hold passwords) come from MONITOR_ALERTS_<NAME>_URLS or urls_file."""
    (tmp_path / "urls.txt").write_text(
        "# one URL per line\njson://127.0.0.1:1/a?token=s3cr3t-1\n\n", encoding="utf-8"
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM
        + '[[alerts]]\nkind = "apprise"\nname = "chat"\nurls_file = "urls.txt"\n'
        + '[[alerts]]\nkind = "apprise"\nname = "ops room"\n',
        encoding="utf-8",
    )
    env = {"MONITOR_ALERTS_OPS_ROOM_URLS": "json://127.0.0.1:1/b?k=s3cr3t-2  ntfy://h/s3cr3t-3"}
    config = load_config(path, environ=env)
    urls = {sink.name: [u.get_secret_value() for u in sink.urls] for sink in config.alerts}
    assert urls == {
        "chat": ["json://127.0.0.1:1/a?token=s3cr3t-1"],
        "ops room": ["json://127.0.0.1:1/b?k=s3cr3t-2", "ntfy://h/s3cr3t-3"],
    }
    result = invoke(["check-config", "--config", str(path)], env=env)
    assert result.code == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr


def test_test_alert_needs_only_its_own_sink_secret(tmp_path: Path) -> None:
    """`test-alert log` works although another sink's bot token is missing; that one refuses."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        MINIMAL_TELEGRAM
        + '[[alerts]]\nkind = "telegram"\nname = "desk"\nchat = "@desk_chat"\n'
        + '[[alerts]]\nkind = "log"\n',
        encoding="utf-8",
    )
    logged = invoke(["--config", str(path), "test-alert", "log"])
    assert logged.code == 0, logged.stderr
    desk = invoke(["--config", str(path), "test-alert", "desk"])
    assert desk.code == 2
    assert desk.stderr.strip().endswith(
        "alerts[0]: bot_token is missing; set bot_token, bot_token_file, the environment "
        "variable MONITOR_ALERTS_DESK_BOT_TOKEN, or as_account = true"
    )


def test_browsing_and_rules_need_no_api_hash(tmp_path: Path) -> None:
    """Without an API hash, flagged and rules test run; check-config, login and run say so."""
    path = tmp_path / "monitor.toml"
    path.write_text("[telegram]\napi_id = 1\n", encoding="utf-8")
    config = ["--config", str(path)]
    assert invoke(["db", "upgrade", *config]).code == 0
    assert invoke(["flagged", *config]).code == 0
    assert invoke([*config, "rules", "test", "AWOL"]).code == 0
    missing = (
        f"{path}: telegram: api_hash is missing; set telegram.api_hash, telegram.api_hash_file "
        "or the environment variable MONITOR_TELEGRAM_API_HASH"
    )
    for command in (["check-config"], ["login", "--phone", "+10000000000"], ["run"]):
        result = invoke([*command[:1], *config, *command[1:]])
        assert result.code == 2
        assert result.stderr.strip() == missing
