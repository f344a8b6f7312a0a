"""Rule-file errors: found at load time, one ``file: rule id: problem`` line each, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules import load_ruleset

GOOD = '[[rules]]\nid = "ok"\ncategory = "awol"\nany = ["=СОЧ"]\n'

BROKEN = [
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["a|b"]\n',
        "r: any: term 'a|b': '|' stands only inside (…) alternatives",
        id="alternatives-without-parentheses",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["(a|b|c|d) (a|b|c|d) (a|b|c|d) (a|b)"]\n',
        "r: any: term '(a|b|c|d) (a|b|c|d) (a|b|c|d) (a|b)' makes more than 64 spellings",
        id="alternatives-too-many",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["из ~2"]\n',
        "r: any: term 'из ~2' ends with a gap",
        id="gap-at-end",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["~2 из"]\n',
        "r: any: term '~2 из': a gap (~N) stands between two words",
        id="gap-at-start",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["из ~9 части"]\n',
        "r: any: term 'из ~9 части': a gap is ~1 to ~8 words",
        id="gap-too-wide",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nregex = ["(unclosed"]\n',
        "r: regex: bad regex",
        id="bad-regex",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nregex = [".*"]\n',
        "r: regex: regex '.*' matches the empty string",
        id="regex-matches-empty",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = []\n', "r: any: empty group", id="empty-any"
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nall = [["a"], []]\n',
        "r: all.1: empty group",
        id="empty-all-group",
    ),
    pytest.param("[groups]\nx = []\n" + GOOD, "$x: empty group", id="empty-named-group"),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["$nope"]\n',
        "r: any: unknown group '$nope'",
        id="unknown-group",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["x"]\ncolour = "red"\n',
        "r: colour: unknown key",
        id="unknown-key",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "gossip"\nany = ["x"]\n',
        "r: category: unknown category 'gossip'",
        id="unknown-category",
    ),
    pytest.param(GOOD + GOOD, "ok: duplicate id", id="duplicate-id"),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nnot = ["x"]\n',
        "r: no condition",
        id="only-exclusions",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nany = ["ab*"]\n',
        "r: any: prefix 'ab*' is shorter than 3 letters",
        id="short-prefix",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\nkind = "magic"\ncategory = "awol"\n',
        "r: unknown kind 'magic'",
        id="unknown-kind",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\nkind = "regex"\ncategory = "awol"\npatterns = ["[z-a]"]\n',
        "r: patterns: bad regex",
        id="regex-kind-bad-pattern",
    ),
    pytest.param(
        '[[rules]]\nid = "redos"\nkind = "regex"\ncategory = "awol"\npatterns = ["(?<=x)(а+)+$"]\n',
        "redos: patterns: regex '(?<=x)(а+)+$' can backtrack without bound",
        id="regex-unbounded-backtracking",
    ),
    pytest.param(
        '[[rules]]\nid = "r"\ncategory = "awol"\nnear = [{ a = ["x"], b = ["y"], within = 0 }]\n',
        "r: near.0.within:",
        id="near-within-zero",
    ),
    pytest.param("[[rules]\n", "-: invalid TOML", id="bad-toml"),
    pytest.param("[extras]\n" + GOOD, "-: unknown key 'extras'", id="unknown-top-key"),
]


@pytest.mark.parametrize(("body", "problem"), BROKEN)
def test_broken_rule_files(tmp_path: Path, body: str, problem: str) -> None:
    """Each broken file fails at load with a line naming the file, the rule and the problem."""
    path = tmp_path / "broken.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_ruleset([path], default_pack=False)
    assert caught.value.exit_code == 2
    assert any(line.startswith(f"{path}: {problem}") for line in caught.value.problems), (
        caught.value.problems
    )


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    """An id used in two files is reported at the second, naming the first."""
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(GOOD, encoding="utf-8")
    second.write_text(GOOD, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_ruleset([first, second], default_pack=False)
    assert caught.value.problems == [f"{second}: ok: duplicate id (first defined in {first})"]


def test_duplicate_of_default_pack_id(tmp_path: Path) -> None:
    """A user rule cannot reuse an id of the default pack."""
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace('"ok"', '"any-awol-term"'), encoding="utf-8")
    with pytest.raises(RuleError, match="any-awol-term: duplicate id"):
        load_ruleset([path])


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a load error, not a crash."""
    with pytest.raises(RuleError, match="cannot read"):
        load_ruleset([tmp_path / "absent.toml"], default_pack=False)


def test_unknown_disabled_id() -> None:
    """Disabling an id that no rule has is an error (a typo would silently keep the rule)."""
    with pytest.raises(RuleError, match=r"rules\.disabled: no-such-rule: no rule has this id"):
        load_ruleset(disabled=["no-such-rule"])


def test_all_problems_reported_together(tmp_path: Path) -> None:
    """Every problem of every file is reported at once."""
    path = tmp_path / "two.toml"
    path.write_text(
        '[[rules]]\nid = "a"\ncategory = "x"\nany = ["y"]\n'
        '[[rules]]\nid = "b"\ncategory = "awol"\nregex = ["("]\n',
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as caught:
        load_ruleset([path], default_pack=False)
    assert [line.split(": ")[1] for line in caught.value.problems] == ["a", "b"]
