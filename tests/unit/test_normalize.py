"""Normalisation: what a post looks like to the matcher, and where its words sit in the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.normalize import fold_cased, fold_word, normalize, repair_homoglyphs

NORMALIZE_CASES = [
    pytest.param("Дезертиры ушли", ["дезертиры", "ушли"], id="casefold"),
    pytest.param("Ушёл в ЁЛКИ", ["ушел", "в", "елки"], id="yo-to-ye"),
    pytest.param("Е\u0308лка", ["елка"], id="combining-diaeresis"),
    pytest.param("дезер\u200bтир", ["дезертир"], id="zero-width-space"),
    pytest.param("дезер\u00adтиры", ["дезертиры"], id="soft-hyphen"),
    pytest.param("\ufeffСЗЧ\u2060", ["сзч"], id="bom-and-word-joiner"),
    pytest.param("CОЧ", ["соч"], id="latin-c-in-cyrillic-word"),
    pytest.param("вiйськовий", ["військовий"], id="latin-i-in-ukrainian-word"),
    pytest.param("dеsеrtеr", ["deserter"], id="cyrillic-e-in-english-word"),
    pytest.param("#дезертиры #СЗЧ", ["дезертиры", "сзч"], id="hashtags"),
    pytest.param("#ДезертирыРоссии", ["дезертиры", "россии"], id="camel-case-hashtag"),
    pytest.param("#дезертиры_россии", ["дезертиры", "россии"], id="snake-case-hashtag"),
    pytest.param("см. https://t.me/dezertir/12 и t.me/soch", ["см", "и"], id="urls-skipped"),
    pytest.param("via @dezertir_news", ["via"], id="mention-skipped"),
    pytest.param("зв’язку і зв'язку", ["зв'язку", "і", "зв'язку"], id="apostrophes"),
    pytest.param("ﬁle №5", ["file", "no5"], id="nfkc"),
    pytest.param("в/ч 1234", ["в", "ч", "1234"], id="slash-splits"),
    pytest.param("", [], id="empty"),
]


@pytest.mark.parametrize(("text", "words"), NORMALIZE_CASES)
def test_normalize_words(text: str, words: list[str]) -> None:
    """Each text normalises to the expected tokens, in the fast and in the full pass.

    The fast pass leaves look-alike letters to the matcher, which repairs each distinct word
    once (cached); the full pass (offsets, regex text) repairs them in place.
    """
    normalized = normalize(text)
    assert [repair_homoglyphs(word) for word in normalized.words] == words
    assert [repair_homoglyphs(word) for word in normalized.layout.words] == words


SPAN_CASES = [
    pytest.param("Солдат ушёл в СОЧ", "СОЧ", id="plain"),
    pytest.param("ﬁ … дезер\u200bтир", "дезер\u200bтир", id="after-expanding-chars"),
    pytest.param("Е\u0308лка и СОЧ", "СОЧ", id="after-combining-mark"),
    pytest.param("#ДезертирыРоссии", "России", id="camel-hashtag-piece"),
]


@pytest.mark.parametrize(("text", "original"), SPAN_CASES)
def test_spans_point_into_original(text: str, original: str) -> None:
    """A token's span slices the original text, not the normalised one."""
    normalized = normalize(text)
    slices = [
        text[start:end] for start, end in zip(normalized.starts, normalized.ends, strict=True)
    ]
    assert original in slices


def test_regex_text_blanks_urls_keeping_offsets() -> None:
    """URLs are blanked in the normalised text without shifting offsets."""
    normalized = normalize("СОЧ https://t.me/x СОЧ")
    assert "t.me" not in normalized.text
    assert len(normalized.text) == len("СОЧ https://t.me/x СОЧ")


FOLD_CASES = [
    pytest.param("СОЧ", "соч", "СОЧ", id="acronym"),
    pytest.param("CОЧ", "соч", "СОЧ", id="homoglyph-acronym"),
    pytest.param("Ёж", "еж", "Еж", id="yo"),
]


@pytest.mark.parametrize(("text", "folded", "cased"), FOLD_CASES)
def test_fold_word_and_cased(text: str, folded: str, cased: str) -> None:
    """Words fold to lowercase; the cased form keeps capitals but repairs the rest."""
    assert fold_word(text) == folded
    assert fold_cased(text) == cased


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fast_and_full_pass_agree(text: str) -> None:
    """The fast word list and the full pass with offsets find the same tokens."""
    normalized = normalize(text)
    assert [repair_homoglyphs(word) for word in normalized.words] == [
        repair_homoglyphs(word) for word in normalized.layout.words
    ]


URLISH = st.text(alphabet="ab@./:-#whtps сокм .ru", max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), URLISH))
def test_one_scan_finds_the_offsets_and_skips_a_match_by_match_scan_finds(text: str) -> None:
    """Words, their offsets and the regex text agree with a scan that walks every match."""
    from monitor.rules.normalize import _WORDS_RE, _fold, _regex_text

    folded = _fold(text)[0]
    if "#" in folded:  # hashtags have their own pass
        return
    matches = [m for m in _WORDS_RE.finditer(folded) if m.start(1) >= 0]
    for normalized in (normalize(text), normalize(text, lazy=True)):
        assert normalized.words == [m.group(1) for m in matches]
        assert normalized.positions == [m.start(1) for m in matches]
        assert normalized.layout.ends == [m.end(1) for m in matches]
        assert normalized.text == _regex_text(folded)
