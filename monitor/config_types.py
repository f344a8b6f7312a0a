"""Building blocks of the config models: the frozen base, bounded numbers, paths, secrets.

Shared by ``config.py`` and ``config_sinks.py``; no business logic, nothing from the edges.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationInfo
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


Seconds = Annotated[int, _at_least(1, " seconds")]
IntervalSeconds = Annotated[int, _at_least(5, " seconds")]
NonNegative = Annotated[int, _at_least(0, "")]
Positive = Annotated[int, _at_least(1, "")]


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


def mask_url_password(url: str) -> str:
    """Hide the password of a URL so it can appear in an error line."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
