"""Word forms: reduce a normalised word to keys shared by its inflections, per language.

Russian and English use the Snowball stemmers (``snowballstemmer``, which runs the C build from
PyStemmer when it is installed; the stems are the same). Russian gets one extra,
derivational step so that verbs in -овать meet their noun (дезертировал → дезертир). Snowball
has no Ukrainian stemmer, so Ukrainian uses a small suffix stripper written here, plus a fold of
the і/о/е alternation of the last syllable (втік / втекли, ніч / ночі). Keys carry a language
tag ("r:", "u:", "e:") so a Russian stem never meets a Ukrainian one by accident.
Pure functions; callers cache per word (stemming costs more than matching).
"""

from __future__ import annotations

import re
from collections.abc import Collection

import snowballstemmer

_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")

_HAS_CYRILLIC = re.compile(r"[а-яіїєґ]")
_HAS_LATIN = re.compile(r"[a-z]")


def _split(words: str) -> list[str]:
    """Return the space-separated words (keeps the ending table readable)."""
    return words.split()


# Inflectional endings of Ukrainian nouns, adjectives, participles and verbs.
_UK_ENDINGS = frozenset(
    _split(
        "ями ами ові еві єві ого ього ому ьому ими іми ати яти ити іти ути ючи ачи ячи вши "
        "или ила ило ала али ало ять ють уть ать ить іть емо ете ий ій ої ою ею єю ую юю ая "
        "их іх им ім ам ям ах ях ів їв ом ем ей ла ло ли ти ть ив ав ув ули ула уло ують юють "
        "ія ії ію ією іям іях іями а я о е є у ю і ї и ь й"
    )
)
_UK_LONGEST_ENDING = max(map(len, _UK_ENDINGS))
_UK_REFLEXIVE = ("ся", "сь")
_UK_LAST_VOWEL = re.compile(r"[іое](?=[^аеєиіїоуюяь']+$)")
_RU_VERB_SUFFIX = ("ова", "ева")


def stem_russian(word: str) -> str:
    """Return the Russian key of a folded word (Snowball, then -ова/-ева verbs to their base)."""
    stem: str = _RUSSIAN.stemWord(word)
    if stem.endswith(_RU_VERB_SUFFIX) and len(stem) >= 7:
        return stem[:-3]
    return stem


def stem_ukrainian(word: str) -> tuple[str, ...]:
    """Return the Ukrainian keys of a folded word: endings stripped, last-syllable і/о/е folded.

    Ukrainian endings are ambiguous (військ-ові is dative, військов-і is plural), so a word
    gets two keys: with its longest and with its shortest matching ending stripped. Two words
    share a form when any of their keys meet.
    """
    if len(word) <= 3:
        return (word,)
    if word.endswith(_UK_REFLEXIVE) and len(word) >= 6:
        word = word[:-2]
    endings = _uk_ending_sizes(word)
    if not endings:
        return (_UK_LAST_VOWEL.sub("*", word),)
    longest = _UK_LAST_VOWEL.sub("*", word[: -endings[0]])
    shortest = _UK_LAST_VOWEL.sub("*", word[: -endings[-1]])
    return (longest,) if longest == shortest else (longest, shortest)


def _uk_ending_sizes(word: str) -> list[int]:
    """Return the lengths of the endings ``word`` has, longest first, leaving 3 letters or more.

    The word's own last letters are looked up (four set lookups), rather than every ending
    tested with ``endswith``: stemming is most of what compiling 10,000 rules costs.
    """
    longest = min(_UK_LONGEST_ENDING, len(word) - 3)
    return [size for size in range(longest, 0, -1) if word[-size:] in _UK_ENDINGS]


def ukrainian_base(word: str) -> str:
    """Return a folded Ukrainian word without its longest ending (a prefix of the word).

    Unlike ``stem_ukrainian`` it folds no vowel, so every form of the word starts with it:
    what a prefix search needs (військового, військовий -> військов).
    """
    endings = _uk_ending_sizes(word)
    return word[: -endings[0]] if endings else word


def stem_english(word: str) -> str:
    """Return the English key of a folded word (Snowball English, also called Porter2)."""
    stem: str = _ENGLISH.stemWord(word)
    return stem


def word_keys(word: str, languages: Collection[str] = ("ru", "uk", "en")) -> tuple[str, ...]:
    """Return the keys of a folded word for the given languages (a token gets all of them).

    A word of neither script (digits, Greek) is its own key.
    """
    keys: list[str] = []
    if _HAS_CYRILLIC.search(word):
        if "ru" in languages:
            keys.append("r:" + stem_russian(word))
        if "uk" in languages:
            keys.extend("u:" + stem for stem in stem_ukrainian(word))
    elif _HAS_LATIN.search(word):
        if "en" in languages:
            keys.append("e:" + stem_english(word))
    else:
        return ("=" + word,)
    if not keys:  # a Cyrillic word in an English-only rule: use every language of its script
        return word_keys(word)
    return tuple(dict.fromkeys(keys))
