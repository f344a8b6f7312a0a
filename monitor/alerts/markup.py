"""Telegram HTML: escaping, validation, and splitting at the message-length limit.

Telegram accepts a small HTML subset (``<b>``, ``<i>``, ``<a href>``, ``<code>``, ...) and
rejects a message over 4096 characters. ``split_html`` cuts a long HTML text into several
messages, each within the limit, each with balanced tags: it breaks only between words,
tags and entities (never inside one), closes the tags still open at a cut and reopens them,
attributes included, at the start of the next part.

Lengths are counted in UTF-16 code units of the HTML source. That is stricter than
Telegram's own count (characters after the entities are parsed) so a part that fits here
always fits there.

This module is pure: it imports nothing from the edges (no Telethon) and does no I/O.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

TELEGRAM_LIMIT = 4096

#: The tags Telegram's HTML parse mode understands.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)

# One token: a tag, a character reference, a run of white space, or a word.
_TOKEN = re.compile(r"<[^<>]*>|&#?\w+;|\s+|[^<&\s]+|[<&]")
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)")


def escape(text: str) -> str:
    """Escape ``text`` for the body of a Telegram HTML message (``<``, ``>``, ``&``)."""
    return html.escape(text, quote=False)


def escape_attribute(text: str) -> str:
    """Escape ``text`` for a double-quoted attribute value."""
    return html.escape(text, quote=True)


def link(href: str, label: str) -> str:
    """Return an ``<a href>`` element with both parts escaped."""
    return f'<a href="{escape_attribute(href)}">{escape(label)}</a>'


def telegram_length(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


class _Checker(HTMLParser):
    """Collect the problems of a Telegram HTML text: unknown or unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not supported by Telegram")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing tag <{tag}/> is not supported by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"closing tag </{tag}> does not match an open tag")
            return
        self.stack.pop()


def validate_html(text: str) -> list[str]:
    """Return the problems that would make Telegram reject ``text`` (empty when valid).

    Checks that every tag is one Telegram supports and that tags are balanced and nested.
    """
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems = list(checker.problems)
    problems.extend(f"tag <{tag}> is never closed" for tag in checker.stack)
    if re.search(r"<(?![/A-Za-z])|&(?!#?\w+;)", text):
        problems.append("a bare '<' or '&' must be escaped as &lt; or &amp;")
    return problems


@dataclass
class _Part:
    """A message being filled: its tokens and whether it holds any visible text yet."""

    opened: tuple[str, ...]
    tokens: list[str] = field(default_factory=list)
    size: int = 0
    has_text: bool = False


@dataclass
class _Splitter:
    """Greedy packer of tokens into parts of at most ``limit`` UTF-16 units."""

    limit: int
    parts: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)  # the open tags, as written
    part: _Part = field(default_factory=lambda: _Part(()))

    def feed(self, token: str) -> None:
        after = _apply(self.stack, token)
        cost = telegram_length(token)
        if self.part.has_text and not self._fits(cost, after):
            self._flush()
            if token.isspace():
                return  # a cut eats the white space at it
        self._append(token, cost, after)

    def finish(self) -> list[str]:
        if self.part.has_text:
            self._flush()
        return self.parts

    def _fits(self, cost: int, stack_after: list[str]) -> bool:
        return self.part.size + cost + _closing_length(stack_after) <= self.limit

    def _append(self, token: str, cost: int, after: list[str]) -> None:
        if not self.part.tokens:
            self.part = _Part(tuple(self.stack))
            self.part.size = sum(telegram_length(tag) for tag in self.stack)
        self.part.tokens.append(token)
        self.part.size += cost
        self.part.has_text = self.part.has_text or not (token.startswith("<") or token.isspace())
        self.stack = after

    def _flush(self) -> None:
        tokens = self.part.tokens
        stack = list(self.stack)
        # Tags opened at the very end of a part wrap nothing here: move them to the next.
        while tokens and _is_opening(tokens[-1]):
            tokens.pop()
            stack.pop()
        body = "".join(self.part.opened) + "".join(tokens).rstrip()
        self.parts.append(body + _closers(stack))
        self.part = _Part(tuple(self.stack))


def _is_opening(token: str) -> bool:
    match = _TAG.match(token)
    return bool(match) and not match.group(1)  # type: ignore[union-attr]


def _tag_name(tag: str) -> str:
    match = _TAG.match(tag)
    return match.group(2).lower() if match else ""


def _apply(stack: list[str], token: str) -> list[str]:
    """Return the open-tag stack after ``token``."""
    match = _TAG.match(token)
    if not match:
        return stack
    if not match.group(1):
        return [*stack, token]
    name = match.group(2).lower()
    for index in range(len(stack) - 1, -1, -1):
        if _tag_name(stack[index]) == name:
            return stack[:index] + stack[index + 1 :]
    return stack


def _closers(stack: list[str]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _closing_length(stack: list[str]) -> int:
    return telegram_length(_closers(stack))


def _tokens(text: str, longest: int) -> list[str]:
    """Tokenise ``text``; words longer than ``longest`` are cut into pieces."""
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith(("<", "&")) or len(token) <= longest:
            tokens.append(token)
            continue
        tokens.extend(token[i : i + longest] for i in range(0, len(token), longest))
    return tokens


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a valid Telegram HTML ``text`` into parts of at most ``limit`` UTF-16 units.

    Cuts fall between words where possible and never inside a tag or a character
    reference; tags open at a cut are closed and reopened. White space at a cut is dropped.
    A text that already fits is returned unchanged as the only part.

    Raises:
        ValueError: ``limit`` is too small to hold the nesting of tags in ``text``.
    """
    text = text.strip()
    if telegram_length(text) <= limit:
        return [text] if text else []
    splitter = _Splitter(limit)
    for token in _tokens(text, max(1, limit // 8)):
        splitter.feed(token)
    parts = splitter.finish()
    if any(telegram_length(part) > limit for part in parts):
        raise ValueError(f"cannot split into parts of {limit}: tags nest too deeply")
    return parts
