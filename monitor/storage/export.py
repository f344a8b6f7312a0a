"""The flat records ``monitor export`` writes, read a batch at a time as plain tuples.

A lean path beside ``Browser.posts``: only the needed columns, one matches query per batch,
no ``Post``/``Match`` objects. Each record holds the same values, in ``EXPORT_FIELDS`` order,
as ``monitor.cli.present.flat_row`` gives for the same post (the tests compare them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Select, Text, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.storage.rows import CHUNK, _channel_column, channels_t, matches_t, posts_t

EXPORT_FIELDS = (
    "id", "channel", "channel_title", "message_id", "date", "edit_date", "deleted_at", "link",
    "flagged", "feedback", "category", "categories", "rules", "score", "terms", "spans",
    "language", "views", "forwards", "forward_from", "text",
)  # fmt: skip
LIST_FIELDS = tuple(
    i for i, name in enumerate(EXPORT_FIELDS) if name in ("categories", "rules", "terms", "spans")
)  # the positions of the values that are lists

ExportRow = tuple[Any, ...]
# rule_id, category, score, terms, spans: as stored, in storage order
MatchCells = tuple[str, str, float, list[str], list[list[int]]]


def export_columns(query: Select[Any]) -> Select[Any]:
    """Narrow a ``posts_query`` to the columns an export needs, in id order."""
    return query.with_only_columns(
        posts_t.c.id,
        _channel_column(channels_t.c.telegram_id),
        _channel_column(channels_t.c.username),
        _channel_column(channels_t.c.title),
        posts_t.c.message_id,
        posts_t.c.date,
        posts_t.c.edit_date,
        posts_t.c.deleted_at,
        posts_t.c.flagged,
        posts_t.c.language,
        posts_t.c.views,
        posts_t.c.forwards,
        posts_t.c.forward_from,
        posts_t.c.text,
        maintain_column_froms=True,
    )


def matches_query(post_ids: Sequence[int]) -> Select[Any]:
    """The matches of ``post_ids`` with their terms and spans as JSON text (cast in SQL: the
    PostgreSQL driver would decode them one by one).

    In post order, from the post's own index: ordered by the match id alone, SQLite would walk
    the whole matches table for every batch.
    """
    as_text = (sql_cast(matches_t.c.terms, Text), sql_cast(matches_t.c.spans, Text))
    return (
        select(matches_t.c.post_id, matches_t.c.rule_id, matches_t.c.category)
        .add_columns(matches_t.c.score, *as_text)
        .where(matches_t.c.post_id.in_(post_ids))
        .order_by(matches_t.c.post_id, matches_t.c.id)
    )


async def match_cells(
    conn: AsyncConnection, post_ids: Sequence[int]
) -> dict[int, list[MatchCells]]:
    """Return each post's stored matches as plain tuples, in storage order."""
    ids = sorted(set(post_ids))
    found: dict[int, list[MatchCells]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = list(await conn.execute(matches_query(ids[start : start + CHUNK])))
        for row, (terms, spans) in zip(rows, _decoded(rows), strict=True):
            found.setdefault(row[0], []).append((row[1], row[2], row[3], terms, spans))
    return found


def _decoded(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The terms and spans of many match rows, their stored JSON texts decoded in one call
    (a call per value costs more than the decoding itself)."""
    text = f"[{','.join(f'[{r[4]},{r[5]}]' for r in rows)}]"
    try:
        return cast(list[list[Any]], orjson.loads(text))
    except orjson.JSONDecodeError:  # stricter than json (a lone surrogate escape)
        return cast(list[list[Any]], json.loads(text))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_START_END = itemgetter(0, 1)


def _minus_score(match: MatchCells) -> float:
    return -match[2]


def _match_fields(matches: Sequence[MatchCells]) -> tuple[Any, ...]:
    """category, categories, rules, score, terms, spans of a post's matches."""
    if not matches:
        return None, [], [], None, [], []
    ranked = sorted(matches, key=_minus_score) if len(matches) > 1 else matches
    terms: set[str] = set()
    spans: set[tuple[int, int]] = set()
    for _, _, _, hit_terms, hit_spans in ranked:
        if len(hit_terms) != len(hit_spans):  # paired as Hit(term, *span): the shorter wins
            shortest = min(len(hit_terms), len(hit_spans))
            hit_terms, hit_spans = hit_terms[:shortest], hit_spans[:shortest]
        terms.update(hit_terms)
        spans.update(map(_START_END, hit_spans))
    best = ranked[0]
    categories = sorted({m[1] for m in ranked})
    return best[1], categories, [m[0] for m in ranked], best[2], sorted(terms), _lists(spans)


def _lists(spans: set[tuple[int, int]]) -> list[list[int]]:
    return [list(span) for span in sorted(spans)]


def export_row(
    row: Sequence[Any], matches: Sequence[MatchCells], feedback: str | None = None
) -> ExportRow:
    """One post as the tuple of its ``EXPORT_FIELDS`` values (lists still lists), with the
    label of its current feedback."""
    post_id, telegram_id, username, title, message_id, date, edit, deleted, flagged = row[:9]
    language, views, forwards, forward_from, text = row[9:]
    channel = username or str(telegram_id or 0)
    place = username if username else f"c/{telegram_id or 0}"
    link = f"https://t.me/{place}/{message_id}"
    dates = (date.isoformat(), _iso(edit), _iso(deleted))
    post = (language, views, forwards, forward_from, text)
    head = (post_id, channel, title, message_id, *dates, link, flagged, feedback)
    return (*head, *_match_fields(matches), *post)
