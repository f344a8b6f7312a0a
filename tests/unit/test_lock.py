"""requirements.lock covers pyproject.toml: every requirement of the package and of each extra
is pinned there to a version its range allows, and nothing is pinned for the package that
pyproject.toml no longer asks for. (``scripts/lock --check`` in CI also re-resolves it.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_VIA_US = re.compile(r"^#\s+(?:via\s+)?telegram-discipline-monitor\b")


def _pyproject() -> dict[str, list[Requirement]]:
    """Every requirement of pyproject.toml, keyed by the extra that asks for it ("" = base)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project.get("optional-dependencies", {})}
    name = canonicalize_name(project["name"])
    return {
        extra: [r for r in map(Requirement, requirements) if canonicalize_name(r.name) != name]
        for extra, requirements in groups.items()
    }


def _lock() -> tuple[dict[str, str], set[str]]:
    """The lock's pins (name -> version) and the names it pins because the package asks."""
    pins: dict[str, str] = {}
    direct: set[str] = set()
    current = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        found = _PIN.match(line)
        if found:
            current = canonicalize_name(found.group(1))
            pins[current] = found.group(2)
        elif current and _VIA_US.match(line.strip()):
            direct.add(current)
    return pins, direct


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins, _ = _lock()
    problems = []
    for extra, requirements in _pyproject().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            where = f"[{extra}] " if extra else ""
            if name not in pins:
                problems.append(f"{where}{requirement}: not in requirements.lock")
            elif not requirement.specifier.contains(pins[name], prereleases=True):
                problems.append(f"{where}{requirement}: requirements.lock pins {pins[name]}")
    assert not problems, "run scripts/lock: " + "; ".join(problems)


def test_nothing_is_pinned_for_a_requirement_that_is_gone() -> None:
    _, direct = _lock()
    asked = {canonicalize_name(r.name) for group in _pyproject().values() for r in group}
    assert direct, "requirements.lock has no '# via telegram-discipline-monitor' annotations"
    assert direct <= asked, f"run scripts/lock: no longer required: {sorted(direct - asked)}"


def test_every_range_has_an_upper_bound() -> None:
    unbounded = [
        str(requirement)
        for group in _pyproject().values()
        for requirement in group
        if not any(spec.operator in ("<", "==", "~=") for spec in requirement.specifier)
    ]
    assert not unbounded, f"give these an upper bound on the major version: {unbounded}"
