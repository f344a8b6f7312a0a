"""Everything ``monitor run`` checks before it touches the database or the network.

``prepare(config)`` loads the rules, checks what the config can only be checked against (the
rules a sink filter names, the scores they reach, the server key, the metrics port), and builds
the sinks. Every problem is collected into one ``ConfigError``, each line naming the file, the
key and the fix. ``check-config`` runs the very same function, so a config it accepts is one
``run`` accepts. This module neither connects nor writes anything.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from monitor.config import Config, SinkSettings
from monitor.errors import ConfigError, RuleError


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` built and checked: the compiled rule set and the sinks, by name."""

    ruleset: Any
    sinks: dict[str, Any]


def prepare(config: Config) -> Prepared:
    """Check ``config`` as ``run`` needs it and build its rule set and sinks.

    Raises:
        ConfigError: one line per problem found, over every check.
    """
    from monitor.alerts import build_sinks

    where = f"{config.source}: " if config.source else ""
    problems = [
        where + line
        for line in telegram_problems(config) + listen_problems(config) + web_problems(config)
    ]
    ruleset = None
    try:
        ruleset = load_rules(config)
    except RuleError as error:
        problems += [_locate_rule_problem(where, line) for line in error.problems]
    for index, sink in enumerate(config.alerts):
        problems += [f"{where}alerts[{index}].{p}" for p in filter_problems(sink, ruleset)]
    sinks: dict[str, Any] = {}
    try:
        sinks = build_sinks(config)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(problems)
    return Prepared(ruleset, sinks)


def load_rules(config: Config) -> Any:
    """Load and compile the rule set in effect (fails at start, never mid-run).

    Raises:
        RuleError: a rule file is invalid or ``disabled`` names no rule.
    """
    from monitor.rules import load_ruleset

    rules = config.rules
    return load_ruleset(
        rules.files,
        default_pack=rules.default_pack,
        disabled=rules.disabled,
        scorer=rules.scorer,
        weights=rules.weights,
    )


def _locate_rule_problem(where: str, line: str) -> str:
    """Rule-file lines name their file; the ``disabled`` ones belong to the config file."""
    if line.startswith("rules.disabled: "):
        return f"{where}{line}; remove it from rules.disabled or fix its spelling"
    return line


def telegram_problems(config: Config) -> list[str]:
    """Problems of the ``[telegram]`` section found only by reading what it points to."""
    if config.telegram is None:
        return ["telegram: required to run; add a [telegram] table with api_id and api_hash"]
    missing = config.telegram.missing_secret()
    if missing:
        return [f"telegram: {missing}"]
    if config.telegram.server is None:
        return []
    from monitor.telegram.session import server_key_problem

    problem = server_key_problem(config.telegram)
    return [problem] if problem else []


def listen_problems(config: Config) -> list[str]:
    """Say when the metrics address cannot be listened on (taken, or no such host)."""
    listen = config.metrics.listen
    if not listen:
        return []
    from monitor.metrics import parse_listen

    problem = bind_problem(*parse_listen(listen))
    return [f"metrics.listen: cannot listen on {listen} ({problem}); {BIND_FIX}"] if problem else []


BIND_FIX = "choose a free port, or stop what uses it"


def bind_problem(host: str, port: int) -> str | None:
    """Say why ``host:port`` cannot be listened on, or None when it can."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            # The same option the servers set: a port left in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        return str(error.strerror or error)
    return None


def web_problems(config: Config) -> list[str]:
    """Say when ``[web] listen`` is beyond loopback without an access token, or taken."""
    if not config.web.listen:
        return []
    from monitor.web.security import exposure_problem, parse_listen
    from monitor.web.server import desk_token

    listen = config.web.listen
    host, port = parse_listen(listen)
    problem = exposure_problem(host, desk_token(config))
    if problem:
        return [problem]
    taken = bind_problem(host, port)
    return [f"web.listen: cannot listen on {listen} ({taken}); {BIND_FIX}"] if taken else []


def filter_problems(sink: SinkSettings, ruleset: Any) -> list[str]:
    """Say which filters of ``sink`` can never let an alert through with these rules.

    Without a rule set (the rules did not load) only the categories can be checked.
    """
    from monitor.rules.schema import CATEGORIES

    problems = [
        f"categories: unknown category {name!r}; use one of {', '.join(CATEGORIES)}"
        for name in sink.categories
        if name not in CATEGORIES
    ]
    if ruleset is None:
        return problems
    ids = {rule.id for rule in ruleset.rules}
    problems += [
        f"rules: no rule in effect has the id {rule_id!r}; fix its spelling, or take it "
        "out of rules.disabled"
        for rule_id in sink.rules
        if rule_id not in ids
    ]
    if problems:
        return problems
    return _score_problems(sink, ruleset)


def _score_problems(sink: SinkSettings, ruleset: Any) -> list[str]:
    taken = [
        rule.score
        for rule in ruleset.rules
        if (not sink.categories or rule.category in sink.categories)
        and (not sink.rules or rule.id in sink.rules)
    ]
    best = max(taken, default=0.0)
    if sink.min_score <= best or (not taken and sink.min_score == 0):
        return []
    return [
        f"min_score: {sink.min_score:g} is above every score the sink's rules give "
        f"(the highest is {best:g}), so it would never alert; lower min_score"
    ]
