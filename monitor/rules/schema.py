"""The rule-file schema shared by every rule kind: categories, languages, scope, score.

Pydantic models only (frozen, ``extra="forbid"``), so an unknown key or category is a load
error. Each kind adds its own conditions in its module (``keyword.py``, ``regex.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# awol: absent without leave (СОЧ / СЗЧ, not back from leave); desertion: leaving for good,
# defecting, deserters hiding or caught; escape: breaking out of a unit, hospital, holding
# area or commissariat; mutiny: collective refusals to obey or to fight; hazing: violence and
# humiliation between servicemen; crime: other crimes by serving soldiers.
CATEGORIES: tuple[str, ...] = ("awol", "desertion", "escape", "mutiny", "hazing", "crime")
LANGUAGES: tuple[str, ...] = ("ru", "uk", "en")

Category = Literal["awol", "desertion", "escape", "mutiny", "hazing", "crime"]
Language = Literal["ru", "uk", "en"]
TermList = Annotated[list[str], Field(min_length=1)]


def _every_language() -> list[Language]:
    """A rule's languages when it names none: all of them."""
    return ["ru", "uk", "en"]


class Strict(BaseModel):
    """Frozen and closed: an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class NearSpec(Strict):
    """Two term groups at most ``within`` words apart, in either order unless ``ordered``."""

    a: TermList
    b: TermList
    within: int = Field(default=5, ge=1, le=50)
    ordered: bool = False


class RuleFields(Strict):
    """What every rule has, whatever its kind."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$")
    category: Category
    description: str = ""
    # Factories, not list defaults: pydantic deep-copies a mutable default for every rule,
    # which was a sixth of compiling 10,000 rules.
    languages: Annotated[list[Language], Field(min_length=1)] = Field(
        default_factory=_every_language
    )
    score: float = Field(default=0.5, gt=0, le=1)
    channels: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    not_: TermList | None = Field(default=None, alias="not")
    not_near: list[NearSpec] | None = Field(default=None, min_length=1)


class PackInfo(Strict):
    """The optional ``[pack]`` table of a rule file."""

    name: str = ""
    description: str = ""
