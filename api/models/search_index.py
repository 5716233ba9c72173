"""The catalog's search index: database-specific objects outside the ORM models.

PostgreSQL: a stored generated `books.search_vector` (tsvector, 'simple' config, so
names are lower-cased but never stemmed: "Austen" stays "austen") with a GIN index;
trigram GIN indexes (pg_trgm) on title, author and isbn for substring matches; and
`search_words`, the catalog's vocabulary, which close spellings are looked up in.
SQLite: an FTS5 external-content table `books_fts` kept in step by triggers, and an
fts5vocab view of its terms for close spellings.

Both the migration (0006) and `create_all` (tests) build them through `create()`;
Alembic's model comparison skips them (`include_name`), since the models do not
declare them. A batch migration that re-creates `books` on SQLite drops its
triggers: such a migration must call `create()` again (README "Search").
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from api.models.book import Book
from api.models.user import User

PG_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE books ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('simple', title), 'A') ||
         setweight(to_tsvector('simple', author), 'B') ||
         setweight(to_tsvector('simple', isbn), 'C')) STORED""",
    "CREATE INDEX ix_books_search ON books USING gin (search_vector)",
    "CREATE INDEX ix_books_title_trgm ON books USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_books_author_trgm ON books USING gin (author gin_trgm_ops)",
    "CREATE INDEX ix_books_isbn_trgm ON books USING gin (isbn gin_trgm_ops)",
    "CREATE TABLE search_words (word text PRIMARY KEY)",
    "CREATE INDEX ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)",
    # Words in a stable order, so two concurrent inserts never wait on each other in a cycle.
    """CREATE FUNCTION books_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_words (word)
         SELECT DISTINCT w FROM new_rows,
                unnest(tsvector_to_array(to_tsvector('simple', new_rows.title || ' ' || new_rows.author))) w
         WHERE length(w) BETWEEN 3 AND 40 AND w !~ '^[0-9]+$'
         ORDER BY w ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION books_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_words (word)
         SELECT DISTINCT w
         FROM unnest(tsvector_to_array(to_tsvector('simple', NEW.title || ' ' || NEW.author))) w
         WHERE length(w) BETWEEN 3 AND 40 AND w !~ '^[0-9]+$'
         ORDER BY w ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
    # Statement-level for inserts (bulk loads pay once); row-level with WHEN for updates,
    # so the borrow/return UPDATEs of copies_available never run it.
    """CREATE TRIGGER books_search_words_ins AFTER INSERT ON books
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION books_search_words()""",
    """CREATE TRIGGER books_search_words_upd AFTER UPDATE OF title, author ON books FOR EACH ROW
       WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.author IS DISTINCT FROM NEW.author)
       EXECUTE FUNCTION books_search_words_row()""",
    "INSERT INTO search_words (word) SELECT DISTINCT w FROM books, "
    "unnest(tsvector_to_array(to_tsvector('simple', title || ' ' || author))) w "
    "WHERE length(w) BETWEEN 3 AND 40 AND w !~ '^[0-9]+$' ON CONFLICT DO NOTHING",
]
# Migration 0012: the vocabulary holds every word of titles and authors (numbers and
# short words too), so that a type-ahead prefix can be expanded from it
# (api.books.search.prefix_words), read in byte order by an index of its own whatever
# the database's collation. Close spellings still consider only words of 3+ letters.
_ALL_WORDS = ("SELECT DISTINCT w FROM {source} unnest(tsvector_to_array(to_tsvector('simple', "
              "{row}title || ' ' || {row}author))) w WHERE length(w) <= 40")
def _vocabulary_functions(words: str) -> list[str]:
    return [
        """CREATE OR REPLACE FUNCTION books_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_words (word) """ + words.format(source="new_rows,", row="new_rows.") + """
         ORDER BY w ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
        """CREATE OR REPLACE FUNCTION books_search_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_words (word) """ + words.format(source="", row="NEW.") + """
         ORDER BY w ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
    ]


PG_VOCABULARY_DDL = [
    *_vocabulary_functions(_ALL_WORDS),
    'CREATE INDEX ix_search_words_bytes ON search_words (word COLLATE "C")',
    "INSERT INTO search_words (word) " + _ALL_WORDS.format(source="books,", row="")
    + " ON CONFLICT DO NOTHING",
    # A large catalog adds tens of thousands of words: plan with them (close spellings'
    # trigram index), not with the stale statistics until autovacuum comes by.
    "ANALYZE search_words",
]
PG_VOCABULARY_DROP = [
    "DROP INDEX IF EXISTS ix_search_words_bytes",
    *(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1) for sql in PG_DDL
      if sql.startswith("CREATE FUNCTION")),  # 0006's: words of 3+ letters, not numbers
    "DELETE FROM search_words WHERE length(word) < 3 OR word ~ '^[0-9]+$'",
]
# Migration 0013: punctuation splits words in the index as it does in a query
# (api.books.search.words): PostgreSQL's parser kept "node.js", "j.r.r" and "2.0" whole,
# so "node action" or "tolkien j.r.r." found nothing there (SQLite's unicode61 splits
# them). [:punct:] rather than [^[:alnum:]]: letters stay letters whatever the
# database's LC_CTYPE (under "C" a non-ASCII letter is not [:alnum:]).
_SPLIT = "regexp_replace({}, '[[:punct:]]+', ' ', 'g')"


def _vector(split: bool) -> str:
    words = (lambda column: _SPLIT.format(column)) if split else (lambda column: column)
    return (f"setweight(to_tsvector('simple', {words('title')}), 'A') || "
            f"setweight(to_tsvector('simple', {words('author')}), 'B') || "
            "setweight(to_tsvector('simple', isbn), 'C')")


def _words_split(split: bool) -> str:
    text = "{row}title || ' ' || {row}author"
    return _ALL_WORDS.replace(text, _SPLIT.format(text)) if split else _ALL_WORDS


def _split_ddl(split: bool) -> list[str]:
    """The search vector and vocabulary with words split at punctuation (or, for the
    downgrade, as 0006 and 0012 had them)."""
    return [
        "ALTER TABLE books DROP COLUMN search_vector",  # its GIN index goes with it
        f"ALTER TABLE books ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_vector(split)}) STORED",
        "CREATE INDEX ix_books_search ON books USING gin (search_vector)",
        *_vocabulary_functions(_words_split(split)),
        *(["DELETE FROM search_words WHERE word ~ '[[:punct:]]'"] if split else []),  # never matched now
        "INSERT INTO search_words (word) " + _words_split(split).format(source="books,", row="")
        + " ON CONFLICT DO NOTHING",
        "ANALYZE books",
        "ANALYZE search_words",
    ]


PG_SPLIT_DDL, PG_SPLIT_DROP = _split_ddl(True), _split_ddl(False)
# GET /users?q= is a substring of the lower-cased username or email.
PG_USERS_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_users_username_trgm ON users USING gin (lower(username) gin_trgm_ops)",
    "CREATE INDEX ix_users_email_trgm ON users USING gin (lower(email) gin_trgm_ops)",
]
PG_USERS_DROP = ["DROP INDEX IF EXISTS ix_users_email_trgm", "DROP INDEX IF EXISTS ix_users_username_trgm"]
PG_DROP = [
    "DROP TRIGGER IF EXISTS books_search_words_upd ON books",
    "DROP TRIGGER IF EXISTS books_search_words_ins ON books",
    "DROP FUNCTION IF EXISTS books_search_words_row()",
    "DROP FUNCTION IF EXISTS books_search_words()",
    "DROP TABLE IF EXISTS search_words",
    "DROP INDEX IF EXISTS ix_books_isbn_trgm",
    "DROP INDEX IF EXISTS ix_books_author_trgm",
    "DROP INDEX IF EXISTS ix_books_title_trgm",
    "DROP INDEX IF EXISTS ix_books_search",
    "ALTER TABLE books DROP COLUMN IF EXISTS search_vector",
]  # the extension stays: other databases' objects may use it, and dropping needs ownership

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE books_fts USING fts5(title, author, isbn, content='books', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE books_fts_vocab USING fts5vocab(books_fts, 'row')",
    """CREATE TRIGGER books_fts_ai AFTER INSERT ON books BEGIN
          INSERT INTO books_fts (rowid, title, author, isbn) VALUES (new.id, new.title, new.author, new.isbn);
        END""",
    """CREATE TRIGGER books_fts_ad AFTER DELETE ON books BEGIN
          INSERT INTO books_fts (books_fts, rowid, title, author, isbn)
          VALUES ('delete', old.id, old.title, old.author, old.isbn);
        END""",
    """CREATE TRIGGER books_fts_au AFTER UPDATE OF title, author, isbn ON books BEGIN
          INSERT INTO books_fts (books_fts, rowid, title, author, isbn)
          VALUES ('delete', old.id, old.title, old.author, old.isbn);
          INSERT INTO books_fts (rowid, title, author, isbn) VALUES (new.id, new.title, new.author, new.isbn);
        END""",
    "INSERT INTO books_fts (books_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS books_fts_au",
    "DROP TRIGGER IF EXISTS books_fts_ad",
    "DROP TRIGGER IF EXISTS books_fts_ai",
    "DROP TABLE IF EXISTS books_fts_vocab",
    "DROP TABLE IF EXISTS books_fts",
]
_NAMES = {"search_words", "search_vector", "ix_books_search", "ix_books_title_trgm",
          "ix_books_author_trgm", "ix_books_isbn_trgm", "ix_search_words_trgm", "search_words_pkey",
          "ix_users_username_trgm", "ix_users_email_trgm", "ix_search_words_bytes"}


def create(conn: Connection, *, books: bool = True, users: bool = True, vocabulary: bool = False,
           split: bool = False) -> None:
    """What migration 0006 built; `vocabulary` adds what 0012 changed, `split` what 0013
    did (create_all: all of it)."""
    postgres = conn.dialect.name == "postgresql"
    statements = (PG_DDL if postgres else SQLITE_DDL) if books else []
    statements = statements + (PG_VOCABULARY_DDL if postgres and vocabulary else [])
    statements = statements + (PG_SPLIT_DDL if postgres and split else [])
    for sql in statements + (PG_USERS_DDL if postgres and users else []):
        conn.exec_driver_sql(sql)


def drop(conn: Connection, *, books: bool = True, users: bool = True, vocabulary: bool = False,
         split: bool = False) -> None:
    postgres = conn.dialect.name == "postgresql"
    statements = (PG_DROP if postgres else SQLITE_DROP) if books else []
    statements = (PG_VOCABULARY_DROP if postgres and vocabulary else []) + statements
    statements = (PG_SPLIT_DROP if postgres and split else []) + statements
    for sql in (PG_USERS_DROP if postgres and users else []) + statements:
        conn.exec_driver_sql(sql)


def include_name(name, type_, parent_names) -> bool:
    """For Alembic's comparison: the search index is not part of the models."""
    return not (name in _NAMES or (name or "").startswith("books_fts"))


@event.listens_for(Book.__table__, "after_create")
def _books_created(table, conn, **kw):
    create(conn, users=False, vocabulary=True, split=True)


@event.listens_for(Book.__table__, "before_drop")
def _books_dropped(table, conn, **kw):
    drop(conn, users=False)


@event.listens_for(User.__table__, "after_create")
def _users_created(table, conn, **kw):
    create(conn, books=False)


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_conn, record):
    if isinstance(dbapi_conn, sqlite3.Connection):
        from api.books.search import edit_distance

        dbapi_conn.create_function("lib_edit_distance", 2, edit_distance, deterministic=True)
        # Unicode-aware lower() for api.books.search.contains_text (SQLite's folds ASCII only).
        dbapi_conn.create_function("lib_lower", 1, _lower, deterministic=True)


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()
