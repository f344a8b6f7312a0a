"""Broken configs through the real CLI: one line naming file, key and fix, the same from
``check-config`` as from ``run``, status 2, no traceback, and ``run`` touches nothing first.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.cli import invoke

TELEGRAM = '[telegram]\napi_id = 1\napi_hash = "abc"\n'
WEBHOOK = '[[alerts]]\nkind = "webhook"\nname = "hook"\n'
APPRISE = '[[alerts]]\nkind = "apprise"\nname = "chat"\n'
LOG_SINK = '[[alerts]]\nkind = "log"\n'
NESTED = "x = " + "[" * 2000 + "]" * 2000 + "\n"
RULE = '[[rules]]\nid = "mine"\ncategory = "awol"\nscore = 0.6\nany = ["самоволка"]\n'


@dataclass(frozen=True)
class Case:
    """A config (``monitor.toml`` plus files beside it) and a fragment of its one error line."""

    config: str | bytes
    expected: str
    files: dict[str, str | bytes] = field(default_factory=dict)


CASES = {
    # Files that cannot be read as TOML at all.
    "config-not-utf8": Case(
        TELEGRAM.encode() + b'[[channels]]\nref = "@caf\xe9_news"\n',
        "{dir}/monitor.toml: not UTF-8 text (byte 0xe9 on line 5); save the file as UTF-8",
    ),
    "config-nested-2000": Case(
        TELEGRAM + NESTED,
        "{dir}/monitor.toml: invalid TOML: arrays or tables nested too deeply to read; flatten",
    ),
    "rules-not-utf8": Case(
        TELEGRAM + '[rules]\nfiles = ["mine.toml"]\n',
        "{dir}/mine.toml: -: not UTF-8 text (byte 0xff on line 1); save the file as UTF-8",
        {"mine.toml": b"# \xff\n" + RULE.encode()},
    ),
    "rules-nested-2000": Case(
        TELEGRAM + '[rules]\nfiles = ["mine.toml"]\n',
        "{dir}/mine.toml: -: invalid TOML: arrays or tables nested too deeply",
        {"mine.toml": NESTED},
    ),
    # [telegram]
    "api-id-above-32-bits": Case(
        '[telegram]\napi_id = 4294967296\napi_hash = "abc"\n',
        "telegram.api_id: must be at most 2147483647 (got 4294967296); copy the api_id",
    ),
    "garbage-rsa-key": Case(
        TELEGRAM + '[telegram.server]\nhost = "127.0.0.1"\nport = 4430\nrsa_public_key = "k.pem"\n',
        "telegram.server.rsa_public_key: {dir}/k.pem holds no RSA public key; give the server's",
        {"k.pem": "-----BEGIN RSA PUBLIC KEY-----\ngarbage\n-----END RSA PUBLIC KEY-----\n"},
    ),
    "binary-rsa-key": Case(
        TELEGRAM + '[telegram.server]\nhost = "127.0.0.1"\nport = 4430\nrsa_public_key = "k.pem"\n',
        "telegram.server.rsa_public_key: {dir}/k.pem holds no RSA public key",
        {"k.pem": b"\x00\xff\xfe"},
    ),
    "missing-telegram": Case(
        '[[channels]]\nref = "@example_news"\n',
        "telegram: required to run; add a [telegram] table with api_id and api_hash",
    ),
    # [[channels]]
    "channel-ref-not-a-ref": Case(
        TELEGRAM + '[[channels]]\nref = "https://example.org/news"\n',
        "channels[0].ref: 'https://example.org/news' is not a channel reference; use @name",
    ),
    "channel-ref-a-group-id": Case(
        TELEGRAM + '[[channels]]\nref = "-5"\n',
        "channels[0].ref: '-5' is not a channel id; use the id Telegram shows for the channel",
    ),
    "channel-ref-joinchat-without-hash": Case(
        TELEGRAM + '[[channels]]\nref = "t.me/joinchat"\n',
        "channels[0].ref: 't.me/joinchat' is not a channel reference; use @name",
    ),
    "same-channel-two-forms": Case(
        TELEGRAM + '[[channels]]\nref = "@example_x"\n[[channels]]\nref = "t.me/example_x"\n',
        "channels: channels[1] ('t.me/example_x') is the same channel as channels[0] "
        "('@example_x'); list each channel once",
    ),
    "same-channel-two-ids": Case(
        TELEGRAM + '[[channels]]\nref = "-1001234567890"\n[[channels]]\nref = "1234567890"\n',
        "channels: channels[1] ('1234567890') is the same channel as channels[0]",
    ),
    # [metrics]
    "metrics-port-above-65535": Case(
        TELEGRAM + '[metrics]\nlisten = "127.0.0.1:70000"\n',
        "metrics.listen: port 70000 is above 65535 (got '127.0.0.1:70000'); use a port like",
    ),
    "metrics-port-in-use": Case(
        TELEGRAM + '[metrics]\nlisten = "127.0.0.1:{port}"\n',
        "metrics.listen: cannot listen on 127.0.0.1:{port} (Address already in use); choose a "
        "free port",
    ),
    # [web]
    "web-beyond-loopback-without-token": Case(
        TELEGRAM + '[web]\nlisten = "10.1.2.3:8470"\n',
        "web.listen: 10.1.2.3 is beyond loopback and the desk has no access token; set "
        "MONITOR_WEB_TOKEN or [web] token_file",
    ),
    "web-port-in-use": Case(
        TELEGRAM + '[web]\nlisten = "127.0.0.1:{port}"\n',
        "web.listen: cannot listen on 127.0.0.1:{port} (Address already in use); choose a "
        "free port",
    ),
    "web-token-file-missing": Case(
        TELEGRAM + '[web]\ntoken_file = "desk-token"\n',
        "web: cannot read {dir}/desk-token: No such file or directory; fix the path",
    ),
    # [rules]
    "rule-file-invalid": Case(
        TELEGRAM + '[rules]\nfiles = ["mine.toml"]\n',
        "{dir}/mine.toml: mine: unknown kind 'nope'",
        {"mine.toml": RULE + 'kind = "nope"\n'},
    ),
    "rule-file-missing": Case(
        TELEGRAM + '[rules]\nfiles = ["gone.toml"]\n',
        "{dir}/gone.toml: -: cannot read: No such file or directory",
    ),
    "disabled-unknown-id": Case(
        TELEGRAM + '[rules]\ndisabled = ["no-such-rule"]\n',
        "{dir}/monitor.toml: rules.disabled: no-such-rule: no rule has this id; remove it from "
        "rules.disabled or fix its spelling",
    ),
    "disabled-unknown-id-repeated": Case(
        TELEGRAM + "[rules]\ndisabled = [" + '"ghost", ' * 5000 + "]\n",
        "rules.disabled: ghost: no rule has this id",
    ),
    # [[alerts]]
    "webhook-url-space": Case(
        TELEGRAM + WEBHOOK + 'url = "https://example.org/a hook?token=SECRET"\n',
        "alerts[0].url: holds a space or control character (got "
        "'https://example.org/a hook?token=***'); percent-encode it",
    ),
    "webhook-url-port": Case(
        TELEGRAM + WEBHOOK + 'url = "https://example.org:99999/hook"\n',
        "alerts[0].url: is not a URL (Port out of range 0-65535)",
    ),
    "webhook-url-not-http": Case(
        TELEGRAM + WEBHOOK + 'url = "ftp://user:SECRET@example.org/?token=SECRET"\n',
        "alerts[0].url: must be an http:// or https:// URL with a host (got "
        "'ftp://user:***@example.org/?token=***')",
    ),
    "webhook-header-crlf": Case(
        TELEGRAM + WEBHOOK + 'url = "https://example.org/"\n'
        'headers = { "X-Auth" = "SECRET\\r\\nX-Injected: 1" }\n',
        "alerts[0].headers: the value of header 'X-Auth' holds a line break (CR/LF) or NUL; "
        "put it on one line",
    ),
    "webhook-header-name": Case(
        TELEGRAM + WEBHOOK + 'url = "https://example.org/"\nheaders = { "X Auth" = "1" }\n',
        "alerts[0].headers: 'X Auth' is not a valid header name; use letters, digits and dashes",
    ),
    "apprise-url-not-one": Case(
        TELEGRAM + APPRISE + 'urls = ["SECRET-not-a-url"]\n',
        "alerts[0]: urls[0]: Apprise does not understand ?://...; write it as the Apprise wiki",
    ),
    "apprise-urls-missing": Case(
        TELEGRAM + APPRISE,
        "alerts[0]: urls is missing; set urls, urls_file (one URL per line) or the environment "
        "variable MONITOR_ALERTS_CHAT_URLS",
    ),
    "apprise-urls-file-missing": Case(
        TELEGRAM + APPRISE + 'urls_file = "urls.txt"\n',
        "alerts[0]: cannot read {dir}/urls.txt: No such file or directory; fix the path",
    ),
    "bot-token-missing": Case(
        TELEGRAM + '[[alerts]]\nkind = "telegram"\nname = "desk"\nchat = "@desk_chat"\n',
        "alerts[0]: bot_token is missing; set bot_token, bot_token_file, the environment "
        "variable MONITOR_ALERTS_DESK_BOT_TOKEN, or as_account = true",
    ),
    "filter-unknown-category": Case(
        TELEGRAM + LOG_SINK + 'categories = ["deserter"]\n',
        "alerts[0].categories: unknown category 'deserter'; use one of awol, desertion, escape",
    ),
    "filter-unknown-rule": Case(
        TELEGRAM + LOG_SINK + 'rules = ["no-such-rule"]\n',
        "alerts[0].rules: no rule in effect has the id 'no-such-rule'; fix its spelling",
    ),
    "filter-min-score-unreachable": Case(
        TELEGRAM
        + '[rules]\ndefault_pack = false\nfiles = ["mine.toml"]\n'
        + LOG_SINK
        + "min_score = 0.9\n",
        "alerts[0].min_score: 0.9 is above every score the sink's rules give (the highest is "
        "0.6), so it would never alert; lower min_score",
        {"mine.toml": RULE},
    ),
    "filter-min-score-above-one": Case(
        TELEGRAM + LOG_SINK + "min_score = 1.5\n",
        "alerts[0].min_score: 1.5 is above every score the sink's rules give",
    ),
}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other process listens on (here: a plain socket)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def write_case(folder: Path, case: Case, port: int) -> Path:
    """Write the case's files into ``folder`` and return the config path."""
    for name, content in {"monitor.toml": case.config, **case.files}.items():
        path = folder / name
        if isinstance(content, str):
            path.write_text(content.replace("{port}", str(port)), encoding="utf-8")
        else:
            path.write_bytes(content)
    return folder / "monitor.toml"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_broken_config_is_one_line_from_check_config_and_run(
    tmp_path: Path, busy_port: int, case: Case
) -> None:
    """Each broken config: one line with file, key and fix, status 2; run refuses first."""
    path = write_case(tmp_path, case, busy_port)
    expected = case.expected.format(dir=tmp_path.resolve(), port=busy_port)
    checked = invoke(["check-config", "--config", str(path)])
    ran = invoke(["run", "--config", str(path)])
    for result in (checked, ran):
        assert result.code == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "SECRET" not in result.stderr + result.stdout
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert expected in result.stderr
        assert result.stderr.startswith(str(tmp_path.resolve())) or result.stderr.startswith(
            str(path)
        )
    assert ran.stderr == checked.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"monitor.toml", *case.files}), (
        "run created files (a database, a session) before refusing"
    )


def test_many_problems_are_capped(tmp_path: Path) -> None:
    """Thousands of broken entries print a bounded list that says how many more there are."""
    channels = "".join(f'[[channels]]\nref = "@channel_{i}"\ninterval = 1\n' for i in range(500))
    path = tmp_path / "monitor.toml"
    path.write_text(TELEGRAM + channels, encoding="utf-8")
    result = invoke(["check-config", "--config", str(path)])
    lines = result.stderr.splitlines()
    assert result.code == 2
    assert len(lines) == 21
    assert lines[0] == f"{path}: channels[0].interval: must be at least 5 seconds (got 1)"
    assert lines[-1] == "... and 480 more problems; fix the ones above and check again"


def test_problems_of_every_kind_are_reported_together(tmp_path: Path) -> None:
    """Rules that do not load do not hide a sink filter's mistake: both lines, one run."""
    path = tmp_path / "monitor.toml"
    path.write_text(
        TELEGRAM + '[rules]\ndisabled = ["ghost"]\n' + LOG_SINK + 'categories = ["deserter"]\n',
        encoding="utf-8",
    )
    result = invoke(["check-config", "--config", str(path)])
    assert result.code == 2
    assert [line.split(": ", 2)[1] for line in result.stderr.splitlines()] == [
        "rules.disabled",
        "alerts[0].categories",
    ]
