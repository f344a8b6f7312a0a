"""Walk pydantic config models, for tests that compare them with documentation."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def field_names(model: type[BaseModel]) -> set[str]:
    """Return every field name of ``model`` and of the models nested in it."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        names.add(name)
        for nested in _models_in(info.annotation):
            names |= field_names(nested)
    return names
