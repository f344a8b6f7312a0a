"""Full-text search over every stored post (flagged or not), in Russian, Ukrainian and English.

The index is the database's own (migration 0007): a contentless FTS5 table kept by triggers on
SQLite, a GIN index on ``to_tsvector('russian', text)`` on PostgreSQL. Word forms are matched
by stem and prefix: each word of the query is cut to the shortest of its Russian Snowball stem,
its Ukrainian base (no Snowball stemmer exists for Ukrainian) and its English Snowball stem (as
far as that stem is a prefix of the word), and posts holding a word that starts with it match.
So дезертир finds дезертиров, військовий finds військового, deserted finds deserters. The
query is never handed to the database's query parser as written: words are pulled out with a
regex and each one quoted, so no input can be a syntax error. Results are newest stored first
(post id descending, which both indexes can walk without sorting every match), paged by
keyset (``before`` = the last id seen). A common word under a narrow filter (one channel, the
last hour) would have the index yield a great many matches for the filter to discard: PostgreSQL
looks through the filter's newest posts first, SQLite checks each FTS5 match against the few
filtered ids before reading its post. SQLAlchemy stays inside ``monitor.storage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, column, func, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.rules.stem import stem_english, stem_russian, ukrainian_base
from monitor.storage.rows import channels_t, matches_t, posts_t

MAX_TERMS = 8  # a longer query is cut: each word narrows, and a query is not a document
MIN_PREFIX = 3  # a shorter prefix would match a good part of the language
RECENT_WINDOW = 5000  # newest posts checked one by one on PostgreSQL before the index
NARROW = 50_000  # SQLite: a channel or time filter that at most this many posts pass
SNIPPET = 240  # characters of context returned around the first hit

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
_LATIN = re.compile(r"[a-z]")
_FOLD = str.maketrans({"ё": "е"})
RUSSIAN: Any = literal_column("'russian'::regconfig")  # literal: must equal the index's
# PostgreSQL's generated tsvector column (migration 0007), not part of the mapped table.
VECTOR: Any = literal_column("posts.search_vector")
FTS = table("posts_fts", column("rowid", Integer), column("posts_fts"))  # SQLite's FTS5 table


@dataclass(frozen=True)
class SearchHit:
    """One post found: where it is, a snippet of its text with the hits' offsets in it."""

    id: int
    channel: str
    message_id: int
    date: datetime
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    flagged: bool
    category: str | None
    link: str
    deleted_at: datetime | None


def fold(word: str) -> str:
    """Lower-case and fold ё to е, as the index does."""
    return word.lower().translate(_FOLD)


def word_prefix(word: str) -> str:
    """Return the prefix every form of a folded ``word`` starts with (see the module doc)."""
    if len(word) <= MIN_PREFIX:
        return word
    if _CYRILLIC.search(word):
        stems = [stem_russian(word), ukrainian_base(word)]
    elif _LATIN.search(word):
        # Porter2 writes a final y as i (army, armies -> armi): cut it, or armies misses army.
        stems = [stem_english(word).removesuffix("i")]
    else:
        return word
    shortest = min((_common_start(word, stem) for stem in stems), key=len)
    return shortest if len(shortest) >= MIN_PREFIX else word[:MIN_PREFIX]


def _common_start(word: str, stem: str) -> str:
    """The longest start ``word`` and ``stem`` share (an English stem may end in i for y)."""
    size = 0
    for mine, theirs in zip(word, stem, strict=False):
        if mine != theirs:
            break
        size += 1
    return word[:size]


def query_prefixes(query: str) -> list[str]:
    """Return the distinct prefixes of the query's words (at most ``MAX_TERMS``), in order."""
    words = _WORD.findall(fold(query))
    return list(dict.fromkeys(word_prefix(word) for word in words))[:MAX_TERMS]


def fts5_query(prefixes: list[str]) -> str:
    """An FTS5 MATCH string: every prefix quoted (words only, so no quote inside) and ANDed."""
    return " AND ".join(f'"{prefix}"*' for prefix in prefixes)


def tsquery(prefixes: list[str]) -> str:
    """A ``to_tsquery`` string: every prefix as a prefix lexeme, ANDed (words only, safe)."""
    return " & ".join(f"{prefix}:*" for prefix in prefixes)


def highlight(body: str, prefixes: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Return a snippet of ``body`` around its first hit and the hits' offsets in it."""
    spans = [
        (m.start(), m.end())
        for m in _WORD.finditer(body)
        if fold(m.group()).startswith(tuple(prefixes))
    ]
    start = max(0, spans[0][0] - SNIPPET // 4) if spans else 0
    if start:
        start = body.rfind(" ", 0, start) + 1
    end = min(len(body), start + SNIPPET)
    inside = tuple((a - start, b - start) for a, b in spans if a >= start and b <= end)
    return body[start:end], inside


@dataclass(frozen=True)
class SearchFilter:
    """The non-text conditions of a search."""

    flagged: bool | None = None
    channel_ids: tuple[int, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 50


def _columns(*extra: Any) -> Select[Any]:
    return select(
        *extra,
        posts_t.c.id,
        posts_t.c.channel_id,
        posts_t.c.message_id,
        posts_t.c.date,
        posts_t.c.text,
        posts_t.c.flagged,
        posts_t.c.link,
        posts_t.c.deleted_at,
    )


def _filtered(query: Select[Any], where: SearchFilter, order: Any = posts_t.c.id) -> Select[Any]:
    if where.flagged is not None:
        query = query.where(posts_t.c.flagged.is_(where.flagged))
    if where.channel_ids is not None:
        query = query.where(posts_t.c.channel_id.in_(where.channel_ids))
    if where.since is not None:
        query = query.where(posts_t.c.date >= where.since)
    if where.until is not None:
        query = query.where(posts_t.c.date < where.until)
    if where.before is not None:
        query = query.where(posts_t.c.id < where.before)
    return query.order_by(order.desc()).limit(where.limit)


def sqlite_query(prefixes: list[str], where: SearchFilter) -> Select[Any]:
    """Posts whose FTS5 row matches, walked from the index newest first (FTS5 drives: the
    first page reads only as many posts as it needs, however common the word)."""
    found = (
        _columns()
        .select_from(FTS.join(posts_t, posts_t.c.id == FTS.c.rowid))
        .where(FTS.c.posts_fts.op("MATCH")(fts5_query(prefixes)))
    )
    if where.before is not None:
        found = found.where(FTS.c.rowid < where.before)
    return _filtered(found, replace(where, before=None), FTS.c.rowid)


def sqlite_filter_ids(where: SearchFilter) -> Select[Any]:
    """Ids of the posts passing the filters (``before`` and ``limit`` aside), read from the
    (channel, date, flagged) index alone: every channel is named (foreign keys hold), so a
    date range is one seek per channel even with no channel asked for."""
    channels = select(channels_t.c.id) if where.channel_ids is None else where.channel_ids
    query = select(posts_t.c.id).where(posts_t.c.channel_id.in_(channels))
    return (
        _filtered(query, replace(where, channel_ids=None, before=None)).order_by(None).limit(None)
    )


def sqlite_narrow_count(where: SearchFilter) -> Select[Any]:
    """How many posts pass the filters, counted up to ``NARROW + 1`` (index only)."""
    passing = sqlite_filter_ids(where).limit(NARROW + 1).subquery()
    return select(func.count()).select_from(passing)


def sqlite_narrow_query(prefixes: list[str], where: SearchFilter) -> Select[Any]:
    """Matches among the few posts passing the filters: FTS5 yields its matches newest first
    and each is checked against those posts' ids (a small in-memory index) before any post
    row is read. Looking each filtered post up in FTS5 instead costs a prefix's whole doclist
    per lookup (seconds); reading the post row of every match costs ~1 µs per match."""
    # The unary plus keeps FTS5 from taking the IN as a rowid lookup per id (see above).
    in_filter = literal_column(f"+{FTS.name}.rowid").in_(sqlite_filter_ids(where).correlate(None))
    return sqlite_query(
        prefixes, replace(where, channel_ids=None, since=None, until=None, flagged=None)
    ).where(in_filter)


def _is_narrow(where: SearchFilter) -> bool:
    """Whether the filters may be narrow enough to count: a channel or a date range."""
    return where.channel_ids is not None or where.since is not None or where.until is not None


async def _sqlite_rows(
    conn: AsyncConnection, prefixes: list[str], where: SearchFilter
) -> list[Any]:
    """A channel or time filter that few posts pass is applied by id as FTS5 yields matches;
    otherwise each match's post row is read and filtered (a broad filter soon fills a page)."""
    if _is_narrow(where) and int(await conn.scalar(sqlite_narrow_count(where)) or 0) <= NARROW:
        return list(await conn.execute(sqlite_narrow_query(prefixes, where)))
    return list(await conn.execute(sqlite_query(prefixes, where)))


def _matches(prefixes: list[str], vector: Any) -> Any:
    """``search_vector @@ query`` (the column the GIN index covers)."""
    return vector.op("@@")(func.to_tsquery(RUSSIAN, tsquery(prefixes)))


def postgres_recent_query(prefixes: list[str], where: SearchFilter) -> Select[Any]:
    """Matches among the newest ``RECENT_WINDOW`` posts that pass the filters.

    A common word fills a page from there in a few milliseconds. Left to itself, the planner
    (which cannot tell a rare prefix from a common one) walked the whole table by id for a
    rare word: 47 s at a million posts.
    """
    window = _filtered(_columns(VECTOR.label("search_vector")), replace(where, limit=RECENT_WINDOW))
    recent = window.subquery("recent")
    return (
        select(*(c for c in recent.c if c.name != "search_vector"))
        .where(_matches(prefixes, recent.c.search_vector))
        .order_by(recent.c.id.desc())
        .limit(where.limit)
    )


def postgres_indexed_query(prefixes: list[str], where: SearchFilter) -> Select[Any]:
    """Every match through the GIN index (run with plain index scans off), sorted by id."""
    return _filtered(_columns().where(_matches(prefixes, VECTOR)), where)


async def _postgres_rows(
    conn: AsyncConnection, prefixes: list[str], where: SearchFilter
) -> list[Any]:
    """The recent window first; when it holds less than a page, the index (few matches)."""
    rows = list(await conn.execute(postgres_recent_query(prefixes, where)))
    if len(rows) >= where.limit:
        return rows
    # Fewer than a page among the newest posts: the word is rare here, so its matches are
    # few and the GIN bitmap finds them all at once; the planner is told to use it.
    savepoint = await conn.begin_nested()
    try:
        await conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return list(await conn.execute(postgres_indexed_query(prefixes, where)))
    finally:
        await savepoint.rollback()  # the planner's settings end with the savepoint


async def _channel_ids(conn: AsyncConnection, channel: str) -> tuple[int, ...]:
    name = channel.strip().lstrip("@").lower()
    query = select(channels_t.c.id).where(
        (func.lower(channels_t.c.username) == name) | (channels_t.c.ref == channel)
    )
    return tuple(row.id for row in await conn.execute(query))


async def _categories(conn: AsyncConnection, ids: list[int]) -> dict[int, str]:
    """The best-scored category of each flagged post among ``ids``."""
    query = (
        select(matches_t.c.post_id, matches_t.c.category)
        .where(matches_t.c.post_id.in_(ids))
        .order_by(matches_t.c.post_id, matches_t.c.score.desc(), matches_t.c.id)
    )
    found: dict[int, str] = {}
    for row in await conn.execute(query):
        found.setdefault(row.post_id, row.category)
    return found


async def _channel_names(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    query = select(channels_t.c.id, channels_t.c.username, channels_t.c.ref).where(
        channels_t.c.id.in_(ids)
    )
    return {row.id: row.username or row.ref for row in await conn.execute(query)}


async def search_posts(
    engine: AsyncEngine,
    query: str,
    *,
    flagged: bool | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[SearchHit]:
    """Return the stored posts matching every word of ``query`` (in any of its forms).

    Args:
        engine: the store.
        query: what a person typed; anything goes (no syntax, no errors): words are
            extracted and matched by their forms; an empty query finds nothing.
        flagged: only flagged (True) or unflagged (False) posts; None: both.
        channel: a channel's username (with or without @) or configured ref.
        since: posts dated at or after this; until: before this.
        limit: the page size; before: the last id of the previous page (keyset paging).
    """
    prefixes = query_prefixes(query)
    if not prefixes or limit <= 0:
        return []
    async with engine.connect() as conn:
        ids = None if channel is None else await _channel_ids(conn, channel)
        where = SearchFilter(flagged, ids, since, until, before, limit)
        if engine.dialect.name == "postgresql":
            rows = await _postgres_rows(conn, prefixes, where)
        else:
            rows = await _sqlite_rows(conn, prefixes, where)
        if not rows:
            return []
        categories = await _categories(conn, [row.id for row in rows if row.flagged])
        names = await _channel_names(conn, {row.channel_id for row in rows})
    return [_hit(row, prefixes, names, categories) for row in rows]


def _hit(
    row: Any, prefixes: list[str], names: dict[int, str], categories: dict[int, str]
) -> SearchHit:
    snippet, spans = highlight(row.text, prefixes)
    return SearchHit(
        id=row.id,
        channel=names.get(row.channel_id, ""),
        message_id=row.message_id,
        date=row.date,
        snippet=snippet,
        highlights=spans,
        flagged=bool(row.flagged),
        category=categories.get(row.id),
        link=row.link,
        deleted_at=row.deleted_at,
    )
