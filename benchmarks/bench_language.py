"""Language guess: accuracy and speed of monitor.rules.language on labelled ru/uk/en posts,
and of lingua-language-detector when it is installed (`pip install lingua-language-detector`).

    python benchmarks/bench_language.py [FILE.jsonl ...]   (default: ../shared/eval/dev.jsonl)

Each line needs "lang" (ru, uk or en) and "text".
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.rules.language import detect_language

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


def load(paths: list[Path]) -> list[tuple[str, str]]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("lang") in ("ru", "uk", "en") and row.get("text"):
                rows.append((row["lang"], row["text"]))
    return rows


def lingua_detectors() -> dict[str, Callable[[str], str]]:
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        print("lingua-language-detector is not installed: measuring ours only")
        return {}
    codes = {Language.RUSSIAN: "ru", Language.UKRAINIAN: "uk", Language.ENGLISH: "en"}
    builder = LanguageDetectorBuilder.from_languages(*codes)
    found = {}
    for name, detector in [
        ("lingua (high)", builder.build()),
        ("lingua (low)", builder.with_low_accuracy_mode().build()),
    ]:
        detector.detect_language_of("прогрев warm-up")  # models load lazily

        def guess(text: str, detector: object = detector) -> str:
            return codes.get(detector.detect_language_of(text), "other")  # type: ignore[attr-defined]

        found[name] = guess
    return found


def measure(name: str, guess: Callable[[str], str], rows: list[tuple[str, str]]) -> None:
    errors: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    for lang, text in rows:
        got = guess(text)
        if got != lang:
            errors[lang, got] += 1
    spent = time.perf_counter() - started
    right = len(rows) - sum(errors.values())
    print(
        f"{name:14} {right}/{len(rows)} = {right / len(rows):.3f}  "
        f"{spent / len(rows) * 1e6:7.1f} us/post  errors {dict(errors)}"
    )


def main() -> None:
    paths = [Path(arg) for arg in sys.argv[1:]] or [DEFAULT]
    rows = load(paths)
    short = [(lang, text) for lang, text in rows if len(text) <= 120]
    detectors = {"ours": detect_language, **lingua_detectors()}
    for label, subset in [("all posts", rows), ("posts <= 120 chars", short)]:
        print(f"-- {label}: {len(subset)} {dict(Counter(lang for lang, _ in subset))}")
        for name, guess in detectors.items():
            measure(name, guess, subset)


if __name__ == "__main__":
    main()
