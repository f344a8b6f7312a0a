"""Run the Dockerfile's build stage in a plain venv, where no Docker engine is at hand.

Reads the Dockerfile, sends the build context through .dockerignore as Docker would, and
carries out the build stage's ARG, ENV, WORKDIR, COPY and RUN steps in a temporary folder
(``/src`` and ``/opt/monitor`` mapped into it), then checks the resulting venv: ``monitor
--help`` runs, the extras asked for are installed, no dev tool is, and every file the final
stage copies from the context is in it. Not checked here: the base image itself, users and
ownership, HEALTHCHECK, ENTRYPOINT.

    python scripts/dockerfile_steps.py [--build-arg EXTRAS=] [--keep]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("/src", "/opt/monitor")


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """Return the (INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n(?:\s*#[^\n]*\n)*", " ", dockerfile)
    steps = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            steps.append((word.upper(), rest.strip()))
    return steps


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` out of the context (the last matching line wins)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.rstrip("/")
        matches = any(fnmatch.fnmatchcase(p, body) for p in prefixes)
        if body.startswith("**/"):
            matches = matches or any(fnmatch.fnmatchcase(p, body[3:]) for p in parts)
        if matches:
            verdict = not negated
    return verdict


def context(into: Path) -> Path:
    """Copy the build context, less what .dockerignore excludes, into ``into``."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in (".git", ".venv")]
        for name in files:
            relative = (Path(folder) / name).relative_to(ROOT).as_posix()
            if not ignored(relative, patterns):
                (into / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, into / relative)
    return into


class Build:
    """The state of one stage: its variables, working folder and path mapping."""

    def __init__(self, base: Path, build_args: dict[str, str]) -> None:
        self.base = base
        self.context = context(base / "context")
        self.env = dict(os.environ)
        self.build_args = build_args
        self.workdir = base

    def path(self, text: str) -> str:
        for mapped in MAPPED:
            text = text.replace(mapped, str(self.base) + mapped)
        return text

    def step(self, word: str, args: str) -> None:
        """Carry out one instruction of the stage."""
        handler = {
            "ARG": self._arg,
            "ENV": self._env,
            "WORKDIR": self._workdir,
            "COPY": self._copy,
            "RUN": self._run,
        }.get(word)
        if handler is None:
            print(f"  (not run here: {word} {args})")
        else:
            handler(args)

    def _arg(self, args: str) -> None:
        name, _, default = args.partition("=")
        self.env[name] = self.build_args.get(name, default)

    def _env(self, args: str) -> None:
        for pair in shlex.split(args):
            name, _, value = pair.partition("=")
            self.env[name] = self.path(value)

    def _workdir(self, args: str) -> None:
        self.workdir = Path(self.path(args))
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _copy(self, args: str) -> None:
        *sources, target = shlex.split(args)
        destination = self.workdir / target
        if target.endswith("/"):
            destination.mkdir(parents=True, exist_ok=True)
        for source in sources:
            found = self.context / source.rstrip("/")
            if not found.exists():
                raise SystemExit(f"COPY {source}: not in the build context (.dockerignore?)")
            if found.is_dir():
                shutil.copytree(found, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(found, destination)

    def _run(self, args: str) -> None:
        print(f"+ RUN {args}", flush=True)
        bash = shutil.which("bash") or "/bin/bash"
        subprocess.run([bash, "-ec", self.path(args)], cwd=self.workdir, env=self.env, check=True)


def check(build: Build, later: list[tuple[str, str]]) -> None:
    """Check the venv the stage built, and the context files the final stage copies."""
    venv = build.base / "opt/monitor/bin"
    subprocess.run([venv / "monitor", "--help"], check=True, capture_output=True)
    extras = [e for e in build.env.get("EXTRAS", "").split(",") if e]
    probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec(sys.argv[1]) else 1)"
    for module, wanted in [("apprise", "apprise" in extras), ("pytest", False), ("mypy", False)]:
        present = (
            subprocess.run([venv / "python", "-c", probe, module], check=False).returncode == 0
        )
        if present != wanted:
            raise SystemExit(
                f"{module}: {'missing from' if wanted else 'should not be in'} the image"
            )
    _check_pins(venv / "python", build.context / "requirements.lock")
    for word, args in later:
        if word == "COPY" and not args.startswith("--from"):
            source = shlex.split(args)[0]
            if not (build.context / source).exists():
                raise SystemExit(f"final stage COPY {source}: not in the build context")


def _check_pins(python: Path, lock: Path) -> None:
    """Every installed distribution the lock names has a version the lock pins for it."""
    pinned: dict[str, set[str]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(";")[0].strip().lower().split("==")
            pinned.setdefault(name, set()).add(version)
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True, text=True
    ).stdout
    for line in listed.splitlines():
        name, _, version = line.partition("==")
        wanted = pinned.get(name.lower().replace("_", "-"))
        if wanted and version not in wanted:
            raise SystemExit(f"{name} {version} installed, requirements.lock pins {wanted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-arg", action="append", default=[])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    build_args = dict(arg.partition("=")[::2] for arg in options.build_arg)
    steps = instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    starts = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    stage, final = steps[starts[0] + 1 : starts[1]], steps[starts[1] + 1 :]
    base = Path(tempfile.mkdtemp(prefix="dockerfile-steps-"))
    try:
        build = Build(base, build_args)
        for word, args in stage:
            build.step(word, args)
        check(build, final)
    finally:
        if not options.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("the build stage installs and runs (base image, users, entrypoint: not checked)")


if __name__ == "__main__":
    sys.exit(main())
