"""Search terms: each query word becomes a prefix its forms share, quoted for the database."""

from __future__ import annotations

import pytest

from monitor.storage.search import fts5_query, highlight, query_prefixes, tsquery, word_prefix


@pytest.mark.parametrize(
    ("query", "form"),
    [
        pytest.param("дезертир", "дезертиров", id="ru-noun"),
        pytest.param("дезертиры", "дезертиром", id="ru-plural"),
        pytest.param("військовий", "військового", id="uk-adjective"),
        pytest.param("військового", "військовий", id="uk-genitive"),
        pytest.param("deserted", "deserters", id="en-verb-noun"),
        pytest.param("armies", "army", id="en-y-i"),
        pytest.param("ушёл", "ушел", id="yo"),
    ],
)
def test_a_word_prefix_starts_its_other_forms(query: str, form: str) -> None:
    """The prefix made from one form is a start of the other form (folded)."""
    [prefix] = query_prefixes(query)
    assert form.replace("ё", "е").startswith(prefix)


@pytest.mark.parametrize(
    ("word", "prefix"),
    [
        pytest.param("дезертир", "дезертир", id="stem-is-the-word"),
        pytest.param("суд", "суд", id="short-word-kept"),
        pytest.param("2024", "2024", id="digits"),
        pytest.param("ии", "ии", id="never-empty"),
    ],
)
def test_word_prefix_is_never_shorter_than_needed(word: str, prefix: str) -> None:
    """Short words and words of no script are kept whole; stems never go below 3 letters."""
    assert word_prefix(word) == prefix


@pytest.mark.parametrize(
    ("query", "prefixes"),
    [
        pytest.param('"; DROP TABLE posts; --', ["drop", "tabl", "post"], id="sql"),
        pytest.param('NEAR("a" b)* OR col:x', ["near", "a", "b", "or", "col", "x"], id="fts5"),
        pytest.param("&|!<->:*()", [], id="tsquery-operators"),
        pytest.param("слово слова слову", ["слов"], id="forms-once"),
        pytest.param(" ".join(f"w{n}" for n in range(20)), [f"w{n}" for n in range(8)], id="cap"),
    ],
)
def test_queries_become_words_only(query: str, prefixes: list[str]) -> None:
    """Only words survive (no quote, operator or bracket), deduplicated and capped."""
    assert query_prefixes(query) == prefixes


def test_database_queries_quote_every_prefix() -> None:
    """FTS5 gets quoted prefix terms ANDed; to_tsquery gets prefix lexemes ANDed."""
    assert fts5_query(["дезертир", "desert"]) == '"дезертир"* AND "desert"*'
    assert tsquery(["дезертир", "desert"]) == "дезертир:* & desert:*"


def test_highlight_marks_every_form_inside_the_snippet() -> None:
    """Offsets point at the words that start with a prefix, relative to the snippet."""
    body = "x " * 200 + "Дезертира задержали; дезертиры бежали."
    snippet, spans = highlight(body, ["дезертир"])
    assert [snippet[a:b] for a, b in spans] == ["Дезертира", "дезертиры"]
    assert len(snippet) <= 240
