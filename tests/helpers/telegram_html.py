"""Check Telegram HTML the way the tests need: independently of ``monitor.alerts.markup``.

``parse`` runs Telethon's own HTML parser (what a Telethon client sends to Telegram);
``problems`` checks tag balance with the standard library's parser; ``styled`` reduces a
parsed message to its visible characters and the styles on each, so tests can compare a
split message with the original one.
"""

from __future__ import annotations

from html.parser import HTMLParser

from telethon.extensions import html as telethon_html
from telethon.tl.types import TypeMessageEntity

TELEGRAM_TAGS = {"a", "b", "strong", "i", "em", "u", "s", "del", "code", "pre", "blockquote"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"unexpected <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def problems(text: str) -> list[str]:
    """Return tag problems in ``text``: unknown tags, unbalanced or unclosed ones."""
    checker = _Balance()
    checker.feed(text)
    checker.close()
    return checker.problems + [f"unclosed <{tag}>" for tag in checker.stack]


def parse(text: str) -> tuple[str, list[TypeMessageEntity]]:
    """Return the text and entities Telethon would send for the HTML ``text``."""
    text, entities = telethon_html.parse(text)
    return str(text), list(entities)


def utf16_length(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def styled(text: str) -> list[tuple[str, frozenset[str]]]:
    """Return each visible (non-space) character of the HTML ``text`` with its styles."""
    plain, entities = parse(text)
    units = plain.encode("utf-16-le")
    result: list[tuple[str, frozenset[str]]] = []
    offset = 0
    for char in plain:
        width = len(char.encode("utf-16-le")) // 2
        styles = frozenset(
            f"{type(e).__name__}:{getattr(e, 'url', '')}"
            for e in entities
            if e.offset <= offset < e.offset + e.length
        )
        if not char.isspace():
            result.append((char, styles))
        offset += width
    assert offset * 2 == len(units)
    return result
