"""Building blocks of the config models: the frozen base, bounded numbers, paths, secrets.

Shared by ``config.py`` and ``config_sinks.py``; no business logic, nothing from the edges.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SecretStr,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError


def _at_least(minimum: int, unit: str) -> AfterValidator:
    """Return a validator with a message that states the floor and the value given."""

    def check(value: int) -> int:
        if value < minimum:
            raise PydanticCustomError(
                "too_small",
                "must be at least {minimum}{unit} (got {got})",
                {"minimum": minimum, "unit": unit, "got": value},
            )
        return value

    return AfterValidator(check)


def _at_most(maximum: int, fix: str) -> AfterValidator:
    """Return a validator that states the ceiling, the value given and the fix."""

    def check(value: int) -> int:
        if value > maximum:
            raise PydanticCustomError(
                "too_big",
                "must be at most {maximum} (got {got}); {fix}",
                {"maximum": maximum, "got": value, "fix": fix},
            )
        return value

    return AfterValidator(check)


Seconds = Annotated[int, _at_least(1, " seconds")]
#: Telegram's api_id is a signed 32-bit integer in the protocol (``initConnection api_id:int``).
ApiId = Annotated[
    int,
    _at_least(1, ""),
    _at_most(2**31 - 1, "copy the api_id shown at https://my.telegram.org"),
]
IntervalSeconds = Annotated[int, _at_least(5, " seconds")]
NonNegative = Annotated[int, _at_least(0, "")]
Positive = Annotated[int, _at_least(1, "")]


_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
FOREVER = "forever"


def _retention(value: object) -> str:
    """Accept ``30d``, ``12h``, ``2w``, ``90m`` or ``forever``; return it normalised."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if text == FOREVER:
        return text
    found = _DURATION.fullmatch(text)
    if found is None or int(found.group(1)) == 0:
        raise PydanticCustomError(
            "retention",
            'must be a duration like "30d", "12h", "2w" or "forever" (got {got})',
            {"got": repr(value)},
        )
    return f"{int(found.group(1))}{found.group(2)}"


def duration_seconds(text: str) -> int | None:
    """Return the seconds of ``30m``, ``12h``, ``7d`` or ``2w`` (None: not such a duration)."""
    found = _DURATION.fullmatch(text.strip().lower())
    return None if found is None else int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


def retention_seconds(value: str) -> int | None:
    """Return how many seconds a ``Retention`` keeps posts (None: forever)."""
    return duration_seconds(value)


Retention = Annotated[str, BeforeValidator(_retention)]


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve a relative path against the config file's folder (from the context)."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


def read_secret_file(path: Path, key: str) -> SecretStr:
    """Read a secret from a file, stripping the trailing newline editors add."""
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as error:
        raise PydanticCustomError(
            "secret_file",
            "cannot read {path}: {reason}; fix the path or set {key} directly",
            {"path": str(path), "reason": error.strerror or str(error), "key": key},
        ) from None


class Section(BaseModel):
    """Base of every config section: frozen, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def env_name(name: str) -> str:
    """Return ``name`` as it appears in an environment variable (upper case, ``_``)."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


_USERINFO = re.compile(r"(://[^/@?#]*?:)[^/@?#]*@")
_QUERY_VALUE = re.compile(r"((?:^|[&;])[^=&;]*=)[^&;]*")


def mask_url(url: str) -> str:
    """Hide a URL's credentials (the user's password and every query value) for display.

    ``https://user:pw@host/p?token=abc&x=1`` becomes ``https://user:***@host/p?token=***&x=***``.
    Query values are masked whatever their name: tokens hide under many names (``token``,
    ``key``, ``sig``, ``access_token``...), and the shape of the URL is enough to recognise it.
    """
    head, hash_sign, fragment = url.partition("#")
    base, question, query = head.partition("?")
    masked = _USERINFO.sub(r"\1***@", base) + question + _QUERY_VALUE.sub(r"\1***", query)
    return masked + (hash_sign + "***" if fragment else "")
