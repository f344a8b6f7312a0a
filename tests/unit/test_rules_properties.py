"""Properties of matching: arbitrary Unicode never raises; case, ё/е and zero-width characters
do not change which rules fire (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules import RuleSet, load_ruleset
from monitor.rules.normalize import INVISIBLE, normalize

PACK = load_ruleset()

# Words from the kinds of stories the pack is about (and their look-alikes), without the
# case-sensitive acronyms: =СОЧ is case-sensitive on purpose, so case changes may change it.
VOCABULARY = [
    "солдат",
    "дезертир",
    "ушёл",
    "из",
    "части",
    "сбежали",
    "госпиталя",
    "военкомата",
    "самовольно",
    "покинули",
    "расположение",
    "не",
    "вернулся",
    "отпуска",
    "в",
    "часть",
    "отказались",
    "выполнять",
    "боевую",
    "задачу",
    "дедовщина",
    "сослуживцы",
    "избили",
    "призывника",
    "Сочи",
    "большая",
    "жителей",
    "військовий",
    "втік",
    "з",
    "ТЦК",
    "розшук",
    "самовільно",
    "залишив",
    "відмовилися",
    "позиції",
    "soldiers",
    "went",
    "missing",
    "from",
    "their",
    "unit",
    "deserted",
    "beach",
    "refused",
    "to",
    "fight",
    "hazing",
    "conscript",
    "escaped",
    "military",
    "hospital",
    "ёлка",
    "задержан",
    "контрактник",
    "#дезертиры",
    "мобилизованные",
    "военная",
    "полиция",
    "ищут",
    "суд",
    "приговорил",
    "СОЧ",
    "СЗЧ",
]
texts = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=25).map(" ".join)


def fired(ruleset: RuleSet, text: str) -> list[str]:
    """The ids of the rules that fire on ``text``."""
    return sorted(match.rule_id for match in ruleset.evaluate(text))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_unicode_never_raises(text: str) -> None:
    """Any string can be normalised and evaluated, and spans stay inside the text."""
    normalized = normalize(text)
    assert all(
        0 <= s <= e <= len(text) for s, e in zip(normalized.starts, normalized.ends, strict=True)
    )
    for match in PACK.evaluate(text):
        assert all(0 <= start < end <= len(text) for start, end in match.spans)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), texts)
def test_noise_around_stories_never_raises(noise: str, story: str) -> None:
    """Stories wrapped in arbitrary characters evaluate without error."""
    PACK.evaluate(noise + story + noise)


def _drop_acronyms(text: str) -> str:
    """Remove the case-sensitive acronym (=СОЧ) so that case changes are neutral."""
    return " ".join(word for word in text.split() if word != "СОЧ")


@pytest.mark.parametrize("change", [str.upper, str.lower, str.title, str.swapcase])
@settings(max_examples=150, deadline=None)
@given(story=texts)
def test_case_does_not_change_matches(change: object, story: str) -> None:
    """Changing the case of a post does not change which rules fire."""
    assert callable(change)
    story = _drop_acronyms(story)
    assert fired(PACK, change(story)) == fired(PACK, story)


@settings(max_examples=200, deadline=None)
@given(story=texts)
def test_yo_does_not_change_matches(story: str) -> None:
    """Writing ё as е (or е as ё) does not change which rules fire."""
    assert fired(PACK, story.replace("ё", "е")) == fired(PACK, story)
    assert fired(PACK, story.replace("е", "ё")) == fired(PACK, story)


@settings(max_examples=200, deadline=None)
@given(story=texts, data=st.data())
def test_zero_width_does_not_change_matches(story: str, data: st.DataObject) -> None:
    """Invisible characters inserted inside words do not change which rules fire."""
    positions = data.draw(st.lists(st.integers(0, len(story)), max_size=6))
    invisible = data.draw(st.sampled_from(INVISIBLE))
    spoiled = story
    for position in sorted(positions, reverse=True):
        spoiled = spoiled[:position] + invisible + spoiled[position:]
    assert fired(PACK, spoiled) == fired(PACK, story)
