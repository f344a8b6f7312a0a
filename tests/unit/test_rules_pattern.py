"""User regexes run in bounded time (RE2) and mean what Python's ``re`` says they mean."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules import load_ruleset
from monitor.rules.pattern import MAX_PATHS, compile_pattern

# (pattern, text): the spans must be those of Python's re.finditer (empty matches left out).
SAME_AS_PYTHON = [
    pytest.param(r"\bст\.?\s*337\b", "по ст 337 ук, ст.337; ст 3370 ист 337", id="cyrillic-b"),
    pytest.param(r"\bсзч\b", "сзч сзч,сзч асзч сзча сзч", id="adjacent-b"),
    pytest.param(r"\b(1[6-8]\d\d|19[0-4]\d)\b", "в 1812 году, 19401 1941 ١٨١٢", id="pack-years"),
    pytest.param(r"\w+", "бойцы_1 ушли—в СЗЧ №5 ǅ", id="unicode-w"),
    pytest.param(r"[^\W\d]+", "рота7 взвод_2 ٣", id="negated-category-in-class"),
    pytest.param(r"\d+\s+\S+", "12\u00a0бойцов 3\u2003роты ٣ x", id="unicode-d-s"),
    pytest.param(r"\w+$", "abc def\n", id="dollar-before-final-newline"),
    pytest.param(r"(?m)^\w+$", "раз\nдва три\nчетыре", id="multiline"),
    pytest.param(r"сзч|\bсоч\b", "сзчсоч соч", id="branch-edges"),
    pytest.param(r"(?:\bсзч|соч\b)", "асзч сочи соч", id="group-edges"),
    pytest.param(r"\Bоч\b", "соч оч", id="non-boundary"),
    pytest.param(r"\b\.net\b", "asp.net .net x.netz", id="b-before-non-word"),
    pytest.param(r"(?i:СЗЧ)\s?\d{1,3}", "сзч 12 СЗЧ7", id="scoped-flags"),
    pytest.param(r"a.{0,3}?b", "a12b a\nb", id="lazy-dot"),
    pytest.param(r"[а-я]+", "СОЛДАТ ёж Ёж", id="ignorecase-class"),
    pytest.param(r"[^а\s]+", "баАб ааа", id="ignorecase-negated-class"),
    pytest.param(r"б[^а]", "ба бА бб", id="ignorecase-not-literal"),
    pytest.param(r"(а+)+$", "а" * 12 + "!", id="catastrophic-no-match"),
    pytest.param(r"(а+)+$", "а" * 40, id="catastrophic-match"),
]


@pytest.mark.parametrize(("source", "text"), SAME_AS_PYTHON)
def test_runs_on_re2_with_pythons_meaning(source: str, text: str) -> None:
    """Each pattern runs on RE2 and finds exactly the matches Python's re finds."""
    pattern = compile_pattern(source)
    assert pattern.engine == "re2"
    assert list(pattern.spans(text)) == _python_spans(source, text)


def _python_spans(source: str, text: str) -> list[tuple[int, int]]:
    """The non-empty match spans Python's re finds (IGNORECASE, as rules use)."""
    found = re.finditer(source, text, re.IGNORECASE)
    return [m.span() for m in found if m.end() > m.start()]


PROPERTY_PATTERNS = [
    r"\bаб\b",
    r"\b\w+\b",
    r"б\w*\b",
    r"\d+",
    r"\s+\w",
    r"(а|б)+\.?",
    r"[^\w\s]+",
    r"а\S*$",
    r"\Bб",
    r"[^а]+",
    r"б[^\Wа]",
]
ALPHABET = "абАБ1٣_ .,\n\u00a0x"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PROPERTY_PATTERNS), st.text(alphabet=ALPHABET, max_size=30))
def test_any_text_same_as_python(source: str, text: str) -> None:
    """On any text over a tricky alphabet, the RE2 rewrite finds Python's matches."""
    assert list(compile_pattern(source).spans(text)) == _python_spans(source, text)


def test_catastrophic_pattern_is_linear() -> None:
    """``(а+)+$`` on a long run of а and a '!' ends at once (Python's re would run for ever)."""
    pattern = compile_pattern(r"(а+)+$")
    done = threading.Event()
    result: list[list[tuple[int, int]]] = []

    def scan() -> None:
        result.append(list(pattern.spans("а" * 100_000 + "!")))
        done.set()

    threading.Thread(target=scan, daemon=True).start()
    assert done.wait(30), "the catastrophic pattern did not finish"
    assert result == [[]]


def test_spans_are_characters_and_survive_surrogates() -> None:
    """Offsets count characters (not UTF-8 bytes), and a lone surrogate does not break RE2."""
    text = "ё\ud800 дезертир 😀 дезертир"
    spans = list(compile_pattern("дезертир").spans(text))
    assert [text[a:b] for a, b in spans] == ["дезертир", "дезертир"]


BOUNDED = [
    pytest.param(r"(?<!не )дезертир", "не дезертир, дезертир", id="look-behind"),
    pytest.param(r"сзч(?!\w)", "сзчи сзч", id="look-ahead"),
    pytest.param(r"(\w)\1{2}", "ааа бб", id="back-reference"),
    pytest.param(r"ст\b.{0,5}\b337", "ст. 337, ст337", id="b-inside"),
]


@pytest.mark.parametrize(("source", "text"), BOUNDED)
def test_bounded_patterns_run_on_python(source: str, text: str) -> None:
    """What RE2 lacks runs on Python's re when no repeat is unbounded."""
    pattern = compile_pattern(source)
    assert pattern.engine == "re"
    assert list(pattern.spans(text)) == _python_spans(source, text)


REFUSED = [
    pytest.param(r"(?<=x)(а+)+$", "look-around", id="look-behind-nested"),
    pytest.param(r"(\w+)\s+\1", "back-reference", id="back-reference-unbounded"),
    pytest.param(r"foo\b.*bar", "inside the pattern", id="b-inside-unbounded"),
    pytest.param(r"(?>a+)+b", "atomic group", id="atomic"),
    pytest.param(r"(?<!x)(ab|cd|ef|gh){1,9}", "look-around", id="too-many-paths"),
]


@pytest.mark.parametrize(("source", "reason"), REFUSED)
def test_unbounded_patterns_are_refused(source: str, reason: str) -> None:
    """A pattern RE2 cannot run and that can backtrack without bound is refused, saying why."""
    with pytest.raises(ValueError, match="can backtrack without bound") as caught:
        compile_pattern(source)
    assert reason in str(caught.value)
    assert "fix:" in str(caught.value)
    assert MAX_PATHS < 4**9


def test_default_pack_runs_only_on_re2() -> None:
    """Every regex of the shipped pack runs in linear time."""
    terms = [term for term in load_ruleset().terms if term.pattern is not None]
    assert terms
    assert {term.pattern.engine for term in terms if term.pattern} == {"re2"}


def test_rule_set_with_catastrophic_rule_classifies_at_once(tmp_path: Path) -> None:
    """A user's ``(а+)+$`` rule classifies the post that would make a backtracker hang.

    In a child process: a backtracking regex holds the GIL, so only a process can be timed out.
    """
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nid = "redos"\nkind = "regex"\ncategory = "awol"\npatterns = ["(а+)+$"]\n',
        encoding="utf-8",
    )
    script = (
        "import sys; from pathlib import Path; from monitor.rules import load_ruleset\n"
        "rules = load_ruleset([Path(sys.argv[1])], default_pack=False)\n"
        "print(len(rules.evaluate('а' * 34 + '!')), len(rules.evaluate('а' * 34)))\n"
    )
    try:
        done = subprocess.run(  # our interpreter, our script
            [sys.executable, "-c", script, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("classifying froze on the catastrophic rule")
    assert done.stdout.split() == ["0", "1"]
