"""Turns pydantic validation errors into one actionable line per problem.

Each line reads ``file: key.path[2].name: problem; fix``. Unknown keys get the nearest valid key
suggested. This module knows the shape of the config models only through pydantic's metadata.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

_MESSAGES = {
    "missing": "required; add it",
    "int_type": "must be a whole number (got {input!r})",
    "int_parsing": "must be a whole number (got {input!r})",
    "int_from_float": "must be a whole number (got {input!r})",
    "float_type": "must be a number (got {input!r})",
    "float_parsing": "must be a number (got {input!r})",
    "string_type": "must be a string (got {input!r})",
    "bool_type": "must be true or false (got {input!r})",
    "bool_parsing": "must be true or false (got {input!r})",
    "list_type": 'must be a list, like ["a", "b"] (got {input!r})',
    "dict_type": "must be a table (got {input!r})",
    "model_type": "must be a table (got {input!r})",
    "model_attributes_type": "must be a table (got {input!r})",
    "string_too_short": "must not be empty",
    "too_short": "must have at least {min_length} item(s)",
    "greater_than_equal": "must be at least {ge} (got {input!r})",
    "greater_than": "must be greater than {gt} (got {input!r})",
    "less_than_equal": "must be at most {le} (got {input!r})",
    "string_pattern_mismatch": "has the wrong form (got {input!r}); expected {pattern}",
    "literal_error": "must be one of {expected} (got {input!r})",
    "union_tag_not_found": "needs a kind; use one of {expected_tags}",
    "union_tag_invalid": "unknown kind {tag!r}; use one of {expected_tags}",
    "path_type": "must be a path string (got {input!r})",
}

_PATTERN_HINTS = {
    r"^https?://": "an http:// or https:// URL",
    r"^[\w.\-\[\]:]+:\d{1,5}$": "host:port, like 127.0.0.1:9108",
}


def format_validation_error(
    error: ValidationError, source: Path, data: dict[str, Any]
) -> list[str]:
    """Return one ``file: key: problem`` line per error in ``error``."""
    from monitor.config import Config

    lines = []
    for detail in error.errors(include_url=False):
        key = _format_location(detail["loc"], data)
        lines.append(f"{source}: {key}: {_describe(detail, Config, data)}".replace(": : ", ": "))
    return list(dict.fromkeys(lines))


def _format_location(loc: Sequence[int | str], data: Any) -> str:
    """Render a pydantic location as ``alerts[0].url``, dropping union tags."""
    parts: list[str] = []
    node = data
    for element in loc:
        if isinstance(element, int):
            parts.append(f"[{element}]")
            node = node[element] if isinstance(node, list) and element < len(node) else None
            continue
        if isinstance(node, dict) and element not in node and node.get("kind") == element:
            continue  # the discriminator tag pydantic adds for tagged unions
        parts.append(f".{element}" if parts else element)
        node = node.get(element) if isinstance(node, dict) else None
    return "".join(parts)


def _describe(detail: ErrorDetails, root: type[BaseModel], data: dict[str, Any]) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        return _unknown_key(detail["loc"], root, data)
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    template = _MESSAGES.get(kind)
    if template is None:
        return str(detail["msg"])
    context.setdefault("input", detail.get("input"))
    if "pattern" in context:
        context["pattern"] = _PATTERN_HINTS.get(str(context["pattern"]), context["pattern"])
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return str(detail["msg"])


def _unknown_key(loc: Sequence[int | str], root: type[BaseModel], data: dict[str, Any]) -> str:
    valid = _valid_keys(loc[:-1], root, data)
    name = str(loc[-1])
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    if valid:
        return f"unknown key; valid keys are {', '.join(sorted(valid))}"
    return "unknown key; remove it"


def _valid_keys(
    parent: Sequence[int | str], root: type[BaseModel], data: dict[str, Any]
) -> list[str]:
    """Walk the models along ``parent`` and return the field names found there."""
    model: Any = root
    node: Any = data
    for element in parent:
        if isinstance(element, int):
            node = node[element] if isinstance(node, list) and element < len(node) else None
            model = _item_type(model)
            continue
        if isinstance(node, dict) and element not in node and node.get("kind") == element:
            model = _pick_tagged(model, element)
            continue
        field = getattr(model, "model_fields", {}).get(element)
        if field is None:
            return []
        model = field.annotation
        node = node.get(element) if isinstance(node, dict) else None
    model = _concrete_model(model, node)
    fields = getattr(model, "model_fields", None)
    return [name for name, info in (fields or {}).items() if not info.exclude]


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[0] if args else annotation


def _union_members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _union_members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _union_members(arg)]
    return [annotation]


def _pick_tagged(annotation: Any, tag: str) -> Any:
    for member in _union_members(annotation):
        kind = getattr(member, "model_fields", {}).get("kind")
        if kind is not None and tag in typing.get_args(kind.annotation):
            return member
    return annotation


def _concrete_model(annotation: Any, node: Any) -> Any:
    members = [m for m in _union_members(annotation) if hasattr(m, "model_fields")]
    if isinstance(node, dict) and "kind" in node:
        return _pick_tagged(annotation, str(node["kind"]))
    return members[0] if members else annotation
