"""benchmarks/rules/score_real.py: reads the labelled file, scores through the public API."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from monitor.rules import load_ruleset
from monitor.rules.scoring import Example, score

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "rules" / "score_real.py"

# Our own sentences (the real passages are not in the repository).
ROWS = [
    ("a1", "Рядовой самовольно оставил воинскую часть, объявлен в розыск.", True, "awol", "ru"),
    ("a2", "Сочи принял рекордное число туристов этим летом.", False, None, "ru"),
    (
        "a3",
        "A private went AWOL from Fort Bliss and was arrested by military police.",
        True,
        "awol",
        "en",
    ),
    ("a4", "The senator went AWOL for half of the votes this session.", False, None, "en"),
    ("a5", "Військовий пішов у СЗЧ і не повернувся до частини.", True, "awol", "uk"),
]


def load_script() -> ModuleType:
    """Import the benchmark script as a module."""
    spec = importlib.util.spec_from_file_location("score_real", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """A labelled file in the real-text format, alternating splits."""
    path = tmp_path / "real.jsonl"
    lines = []
    for number, (rid, text, label, category, lang) in enumerate(ROWS):
        split = "tune" if number % 2 else "test"
        row = {
            "id": rid,
            "text": text,
            "label": label,
            "category": category,
            "language": lang,
            "url": f"https://example.org/{rid}",
            "split": split,
        }
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rule_figures_are_the_ones_rules_eval_computes(
    labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script()
    assert module.main([str(labelled), "--split", "all"]) == 0
    out = capsys.readouterr().out
    examples = [Example(r[0], r[1], r[2], r[3] or "none", r[4]) for r in ROWS]
    expected = score(load_ruleset(), examples).overall
    assert module.format_counts("overall", expected) in out.split("naive")[0]
    for lang in ("en", "ru", "uk"):
        assert f"  {lang} " in out


def test_split_selects_passages_and_show_lists_ids(
    labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script()
    assert module.main([str(labelled), "--split", "tune", "--show"]) == 0
    out = capsys.readouterr().out
    assert "passages=2  positive=0" in out
    assert "naive:" not in out
    assert "misses: " in out


def test_naive_baseline_flags_any_keyword_substring() -> None:
    matcher = load_script().NaiveMatcher(("awol", "сзч"))
    assert matcher.evaluate("The senator went AWOL")
    assert matcher.evaluate("пішов у СЗЧ")
    assert not matcher.evaluate("Сочи, пляж")


def test_missing_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_script().main([str(tmp_path / "nope.jsonl")]) == 2
    assert capsys.readouterr().out.count("\n") == 1


def test_unreadable_weights_is_a_one_line_error(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --weights file that cannot be read names the file, without a traceback."""
    missing = tmp_path / "weights.json"
    assert load_script().main([str(labelled), "--split", "all", "--weights", str(missing)]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert f"{missing}: cannot read" in out
