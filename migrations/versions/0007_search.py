"""search: a full-text index over every stored post's text, kept by the database itself

Revision ID: 0007_search
Revises: 0006_feedback
Create Date: 2026-12-05 00:30:00

SQLite: a contentless FTS5 table ``posts_fts`` (rowid = posts.id), tokenizer ``unicode61
remove_diacritics 2`` (case and Latin accents folded; ё is folded to е by the triggers, which
unicode61 leaves alone), kept by triggers on insert, text update (edits, retention's prune) and
delete. Contentless: the text is not stored twice. PostgreSQL: a stored generated column
``search_vector = strip(to_tsvector('russian', text))`` (Snowball Russian stems Cyrillic
words, its English stemmer the Latin ones, ё folded; positions stripped, as no phrase search
needs them) with a GIN index, which PostgreSQL keeps itself. A column, not an expression
index: every recheck and filter would otherwise parse the text again (45 us a post, 14 s for
a common word at a million posts). Adding it rewrites the table once (about a minute a
million posts). Word forms are matched at query time
(stem, then prefix): see ``monitor/storage/search.py``. Existing posts are indexed here.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_search"
down_revision: str | None = "0006_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "text, content='', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts WHEN new.text != '' BEGIN "
    "INSERT INTO posts_fts(rowid, text) VALUES (new.id, "
    "replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')"
    "); END",
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts WHEN old.text != '' BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, "
    "replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е')"
    "); END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts "
    "WHEN old.text IS NOT new.text BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text) SELECT 'delete', old.id, "
    "replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е')"
    " "
    "WHERE old.text != ''; "
    "INSERT INTO posts_fts(rowid, text) SELECT new.id, "
    "replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')"
    " WHERE new.text != ''; END",
    "INSERT INTO posts_fts(rowid, text) "
    "SELECT id, replace(replace(text, 'ё', 'е'), 'Ё', 'Е') FROM posts WHERE text != ''",
    "INSERT INTO posts_fts(posts_fts) VALUES ('optimize')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TABLE IF EXISTS posts_fts",
]
POSTGRES_UP = [
    "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(strip(to_tsvector('russian'::regconfig, text))) STORED",
    "CREATE INDEX ix_posts_search ON posts USING gin (search_vector)",
    "ANALYZE posts",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_posts_search",
    "ALTER TABLE posts DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    """Apply this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    _run(POSTGRES_UP if postgres else SQLITE_UP)


def downgrade() -> None:
    """Revert this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    _run(POSTGRES_DOWN if postgres else SQLITE_DOWN)
