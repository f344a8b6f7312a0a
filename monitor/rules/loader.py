"""Reading rule files (TOML) into a ``RuleSet``; every problem is found here, at load time.

A file holds an optional ``[pack]`` table, ``[groups]`` of named term lists (used as ``$name``
in that file) and ``[[rules]]``. Problems are collected over all files and raised together as
one ``RuleError``, each line ``file: rule id: problem``. Reading files is the only I/O of the
rules package and happens here, never while matching.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.errors import RuleError
from monitor.rules.features import term_groups
from monitor.rules.keyword import KeywordRule, KeywordSpec, build_keyword
from monitor.rules.regex import RegexSpec, build_regex
from monitor.rules.ruleset import Rule, RuleSet
from monitor.rules.schema import CATEGORIES, PackInfo
from monitor.rules.scorer import DEFAULT_WEIGHTS, Scorer, load_weights
from monitor.rules.terms import TermTable
from monitor.tomlfile import read_toml

DEFAULT_PACK = Path(__file__).resolve().parent / "packs" / "military_discipline.toml"

Builder = Callable[[Any, TermTable], KeywordRule]
# The registry of rule kinds: a new kind is one module and one line here.
KINDS: dict[str, tuple[type[BaseModel], Builder]] = {
    "keyword": (KeywordSpec, build_keyword),
    "regex": (RegexSpec, build_regex),
}
_TOP_KEYS = {"pack", "groups", "rules"}


class _Loaded:
    """What the files loaded so far hold: rules, their content for the version, problems."""

    def __init__(self) -> None:
        self.table = TermTable()
        self.rules: list[Rule] = []
        self.content: dict[str, Any] = {}
        self.origin: dict[str, Path] = {}
        self.problems: list[str] = []
        self.groups: dict[str, list[str]] = {}


def load_ruleset(
    files: Sequence[Path] = (),
    *,
    default_pack: bool = True,
    disabled: Collection[str] = (),
    scorer: bool | None = None,
    weights: Path | None = None,
) -> RuleSet:
    """Load the default pack and/or rule files into one compiled ``RuleSet``.

    Args:
        files: user rule files, loaded after the default pack, in order.
        default_pack: include the shipped ``military-discipline`` pack.
        disabled: rule ids to leave out (each must exist).
        scorer: attach the learned scorer; by default, when the pack or ``weights`` is used.
        weights: a weights file from ``monitor rules train`` (default: the shipped one).

    Raises:
        RuleError: any file is unreadable or invalid; one line per problem.
    """
    loaded = _Loaded()
    for path in [DEFAULT_PACK, *files] if default_pack else list(files):
        _load_file(Path(path), loaded)
    for rule_id in disabled:
        if rule_id not in loaded.origin:
            loaded.problems.append(f"rules.disabled: {rule_id}: no rule has this id")
    if loaded.problems:
        raise RuleError(loaded.problems)
    kept = [rule for rule in loaded.rules if rule.id not in set(disabled)]
    canonical = json.dumps([loaded.content[rule.id] for rule in kept], sort_keys=True)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    ruleset = RuleSet(kept, loaded.table.terms, version, loaded.groups)
    if scorer or (scorer is None and (default_pack or weights is not None)):
        attach_scorer(ruleset, weights or DEFAULT_WEIGHTS)
    return ruleset


def attach_scorer(ruleset: RuleSet, path: Path) -> None:
    """Give ``ruleset`` the scorer of a weights file; its digest joins the version.

    Raises:
        RuleError: the file cannot be read or is not a weights file.
    """
    try:
        weights = load_weights(path)
    except ValueError as error:
        raise RuleError([f"{error} (write one with 'monitor rules train')"]) from None
    ruleset.scorer = Scorer(weights, term_groups(ruleset.groups))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    ruleset.version = f"{ruleset.version}+{digest}"


def _load_file(path: Path, loaded: _Loaded) -> None:
    """Load one file into ``loaded``, recording problems instead of raising."""
    data = _read(path, loaded.problems)
    if data is None:
        return
    for key in sorted(set(data) - _TOP_KEYS):
        loaded.problems.append(f"{path}: -: unknown key {key!r} (expected pack, groups, rules)")
    try:
        PackInfo.model_validate(data.get("pack", {}))
    except ValidationError as error:
        loaded.problems.extend(_describe(path, "pack", error))
    groups = _groups(path, data.get("groups", {}), loaded.problems)
    loaded.table.groups = groups
    loaded.groups.update(groups)
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        loaded.problems.append(f"{path}: -: 'rules' must be an array of tables ([[rules]])")
        return
    for position, raw in enumerate(raw_rules):
        _load_rule(path, position, raw, groups, loaded)


def _read(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """Read a TOML file, or record why it cannot be read."""
    try:
        return read_toml(path)
    except OSError as error:
        problems.append(f"{path}: -: cannot read: {error.strerror or error}")
    except ValueError as error:
        problems.append(f"{path}: -: {error}")
    return None


def _groups(path: Path, raw: Any, problems: list[str]) -> dict[str, list[str]]:
    """Validate the ``[groups]`` table: names to non-empty lists of strings."""
    if not isinstance(raw, dict):
        problems.append(f"{path}: -: [groups] must be a table of term lists")
        return {}
    groups: dict[str, list[str]] = {}
    for name, terms in raw.items():
        if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
            problems.append(f"{path}: ${name}: a group is a list of strings")
        elif not terms:
            problems.append(f"{path}: ${name}: empty group")
        else:
            groups[name] = terms
    return groups


def _load_rule(
    path: Path, position: int, raw: Any, groups: dict[str, list[str]], loaded: _Loaded
) -> None:
    """Validate and compile one ``[[rules]]`` table."""
    if not isinstance(raw, dict):
        loaded.problems.append(f"{path}: rules[{position}]: a rule is a table")
        return
    rule_id = str(raw.get("id") or f"rules[{position}]")
    kind = raw.get("kind", "keyword")
    if kind not in KINDS:
        known = ", ".join(KINDS)
        loaded.problems.append(f"{path}: {rule_id}: unknown kind {kind!r} (one of {known})")
        return
    model, build = KINDS[kind]
    try:
        spec = model.model_validate(raw)
    except ValidationError as error:
        loaded.problems.extend(_describe(path, rule_id, error))
        return
    if rule_id in loaded.origin:
        first = loaded.origin[rule_id]
        loaded.problems.append(f"{path}: {rule_id}: duplicate id (first defined in {first})")
        return
    try:
        rule = build(spec, loaded.table)
    except ValueError as error:
        loaded.problems.append(f"{path}: {rule_id}: {error}")
        return
    loaded.origin[rule_id] = path
    loaded.rules.append(rule)
    loaded.content[rule_id] = {"rule": spec.model_dump(mode="json"), "groups": groups}


def _describe(path: Path, rule_id: str, error: ValidationError) -> list[str]:
    """Turn a pydantic error into ``file: rule id: field: problem`` lines."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "-"
        lines.append(f"{path}: {rule_id}: {field}: {_message(problem)}")
    return lines


def _message(problem: Any) -> str:
    """Say a pydantic problem in the words of a rule file."""
    kind = problem["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "too_short":
        return "empty group"
    if kind == "literal_error" and problem["loc"][-1] == "category":
        return f"unknown category {problem['input']!r} (one of {', '.join(CATEGORIES)})"
    return str(problem["msg"])
