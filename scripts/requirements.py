"""Print the requirements pyproject.toml gives the package and the named extras, one a line.

The container's dependency layer installs them against the lock before the source is copied:
    python scripts/requirements.py apprise > deps.txt
    pip install -c requirements.lock -r deps.txt
(pyproject.toml and requirements.lock are all it reads; the package itself is not needed.)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

_SELF_EXTRAS = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*\[([^\]]*)\]\s*$")


def requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    """Return the base requirements plus those of ``extras`` (expanding self-references)."""
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = list(project["dependencies"])
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r}; it has {sorted(optional)}")
        seen.add(extra)
        for requirement in optional[extra]:
            itself = _SELF_EXTRAS.match(requirement)
            if itself and itself.group(1) == project["name"]:
                pending += [name.strip() for name in itself.group(2).split(",")]
            elif requirement not in found:
                found.append(requirement)
    return found


def main() -> None:
    """Print the requirements of the extras named on the command line (comma or space lists)."""
    path = Path(__file__).resolve().parents[1] / "pyproject.toml"
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    extras = [e for arg in sys.argv[1:] for e in arg.split(",") if e.strip()]
    sys.stdout.write("".join(f"{line}\n" for line in requirements(project, extras)))


if __name__ == "__main__":
    main()
