"""Catalog search (`GET /books?q=`): the statements for each stage, per database.

Stages, each tried only when the one before found nothing (README "Search"):
1. words: every word of q matches a word of the title, author or ISBN, any order and
   case; the last word also as a prefix (type-ahead). A q that is an ISBN (10 or 13,
   hyphens or not) also matches that ISBN exactly.
2. substring: only for a q with punctuation or a run of 4+ digits (what v1 matched:
   "e_L", "100%", part of an ISBN): q as a case-insensitive substring.
3. close spellings: each word may also be a catalog word within max_edits() of it
   (candidates from the vocabulary: PostgreSQL by pg_trgm similarity, SQLite from the
   FTS5 vocabulary with the same first letter). Flagged `meta.fuzzy`.
Relevance: title hits rank above author hits, then ISBN; ties by id.
A last word of one or two characters that starts more than PREFIX_WORDS catalog words
stands for the first PREFIX_WORDS of them (prefix_words): ranking and counting 22,000
prefix hits of "Author 12" cost ten times a page. Longer prefixes stay complete, so
"harry pot" finds Harry Potter however many catalog words start with "pot".
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Select, bindparam, false, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from api.books.isbn import normalise_isbn
from api.models import Book

_SPLIT = re.compile(r"[\W_]+")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_DIGITS = re.compile(r"\d{4,}")
MAX_WORDS = 12  # a longer q is not a search a person types; more terms only cost time
CLOSE_PER_WORD = 5
PREFIX_WORDS = 20  # what one type-ahead word may stand for (Elasticsearch's max_expansions)
SHORT_PREFIX = 2  # ...when it is this short: a longer prefix is selective and must stay complete
# D, C, B, A: ISBN (C) and author (B) hits weigh far less than title (A) hits.
_PG_WEIGHTS = literal_column("'{0.01, 0.02, 0.1, 1.0}'::float4[]")
_VECTOR = literal_column("books.search_vector")
_SQLITE_WEIGHTS = "100.0, 1.0, 0.5"  # bm25() weights per column: title, author, isbn


def words(q: str) -> list[str]:
    """q as the index sees it: NFKC (full-width letters become ASCII), lower case, split
    at anything but letters and digits; an ISBN-shaped chunk as the stored ISBN-13."""
    out = []
    for chunk in unicodedata.normalize("NFKC", q).lower().split():
        if isbn := _as_isbn(chunk):
            out.append(isbn)
        else:
            out += [word for word in _SPLIT.split(chunk) if word]
    return out[:MAX_WORDS]


def whole_isbn(q: str) -> str | None:
    return _as_isbn(q.replace(" ", "")) if set(q) <= set("0123456789-Xx ") else None


def _as_isbn(word: str) -> str | None:
    if len(word.replace("-", "")) not in (10, 13):
        return None
    try:
        return normalise_isbn(word)
    except ValueError:
        return None


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def match_words(session: Session, stmt: Select, groups: list[list[str]], *, relevance: bool,
                prefix_last: bool = True, isbn: str | None = None) -> Select:
    """`stmt` filtered to books matching every group (a group: alternatives for one
    word), ordered by relevance if asked (the caller adds the tie-break)."""
    words_for_prefix = prefix_words(session, groups[-1][0]) if prefix_last and groups else None
    build = partial(_query, _PG if dialect(session) == "postgresql" else _FTS5)
    query = build(groups, prefix_last, isbn, None)
    if not query:
        return stmt.where(false())
    matched = query if words_for_prefix is None else build(groups, prefix_last, isbn, words_for_prefix)
    if dialect(session) == "postgresql":
        # The last word alone as well (same matches): GIN then walks its few postings and
        # skips through a common word's ("author": every book) instead of reading them all.
        lead = build(groups[-1:], prefix_last, None, words_for_prefix) if len(groups) > 1 and not isbn \
            else None
        return _pg_match(stmt, matched, query if relevance else None, lead)
    return _sqlite_match(stmt, matched, relevance)


def prefix_words(session: Session, prefix: str) -> list[str] | None:
    """The catalog words a short last word (SHORT_PREFIX characters at most) stands for
    when it starts more than PREFIX_WORDS of them: the first PREFIX_WORDS in byte order
    (so the word itself, if it is one). None when it is longer or starts fewer: the
    index's own prefix match is then complete, and as cheap or selective enough.
    ISBNs are not words here (an ISBN's part is stage 2's)."""
    if not prefix or len(prefix) > SHORT_PREFIX or ord(prefix[-1]) >= 0x10FFFF:
        return None
    bounds = {"lo": prefix, "hi": prefix[:-1] + chr(ord(prefix[-1]) + 1), "n": PREFIX_WORDS + 1}
    if dialect(session) == "postgresql":
        sql = ('SELECT word FROM search_words WHERE word COLLATE "C" >= :lo AND word COLLATE "C" < :hi '
               'ORDER BY word COLLATE "C" LIMIT :n')
    else:  # the FTS5 vocabulary also has ISBNs: read past them
        sql = ("SELECT term FROM books_fts_vocab WHERE term >= :lo AND term < :hi "
               "AND NOT (length(term) = 13 AND term GLOB '97[89]*' AND term NOT GLOB '*[^0-9]*') "
               "ORDER BY term LIMIT :n")
    found = [w for (w,) in session.execute(text(sql), bounds)]
    return found[:PREFIX_WORDS] if len(found) > PREFIX_WORDS else None


@dataclass(frozen=True)
class _Syntax:
    """How a word, a prefix, "or" and "and" are written in a database's query language."""

    quote: Callable[[str], str]
    prefix: str
    any: str
    all: str


_PG = _Syntax(lambda w: "'" + w.replace("\\", "\\\\").replace("'", "''") + "'", ":*", " | ", " & ")
_FTS5 = _Syntax(lambda w: '"' + w.replace('"', '""') + '"', "*", " OR ", " AND ")


def _query(syntax: _Syntax, groups, prefix_last, isbn, expanded) -> str:
    parts = []
    for i, group in enumerate(groups):
        last = prefix_last and i == len(groups) - 1
        alternatives = [syntax.quote(w) + (syntax.prefix if last and j == 0 and expanded is None else "")
                        for j, w in enumerate(group)]
        if last and expanded is not None:
            alternatives += [syntax.quote(w) for w in expanded if w not in group]
        parts.append("(" + syntax.any.join(alternatives) + ")")
    query = syntax.all.join(parts)
    if isbn:  # the ISBN is a word of the index too
        query = f"({query}){syntax.any}{syntax.quote(isbn)}" if query else syntax.quote(isbn)
    return query


def _pg_match(stmt, query, rank_query, lead):
    """Filter by `query` (and `lead`, implied by it); rank by `rank_query` (the
    unexpanded one: ts_rank's cost grows with the square of an AND query's terms)."""
    stmt = stmt.where(_VECTOR.op("@@")(_tsquery("tsq", query)))
    if lead is not None:
        stmt = stmt.where(_VECTOR.op("@@")(_tsquery("tsq_lead", lead)))
    if rank_query is None:
        return stmt
    return stmt.order_by(func.ts_rank(_PG_WEIGHTS, _VECTOR, _tsquery("tsq_rank", rank_query)).desc())


def _tsquery(name: str, query: str):
    return func.to_tsquery(literal_column("'simple'::regconfig"), bindparam(name, query))


def _sqlite_match(stmt, query, relevance):
    hits = (select(literal_column("rowid").label("id"),
                   literal_column(f"bm25(books_fts, {_SQLITE_WEIGHTS})").label("rank"))
            .select_from(text("books_fts")).where(text("books_fts MATCH :fts").bindparams(fts=query))
            .subquery("hits"))
    stmt = stmt.join(hits, hits.c.id == Book.id)
    return stmt.order_by(hits.c.rank) if relevance else stmt


def substring(session: Session, stmt: Select, q: str) -> Select | None:
    """Stage 2: q as a literal substring (LIKE wildcards escaped), or None if q is plain words."""
    if not (_PUNCTUATION.search(q) or _DIGITS.search(q)):
        return None
    matches = [contains_text(session, Book.title, q), contains_text(session, Book.author, q)]
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) >= 4 and set(q) <= set("0123456789-Xx "):
        matches.append(Book.isbn.contains(digits, autoescape=True))
    return stmt.where(or_(*matches))


def contains_text(session: Session, column, value: str):
    """`column` contains `value`, letter case aside, in any script: ILIKE (trigram-indexed
    on PostgreSQL). SQLite's lower() and LIKE fold ASCII letters only, so there a value
    that is not ASCII is compared with both sides lower-cased by Python ("émile" finds
    "ÉMILE"); an ASCII one keeps the built-in, C-speed path."""
    if dialect(session) == "sqlite" and not value.isascii():
        return func.lib_lower(column).like(f"%{escape_like(value.lower())}%", escape="\\")
    return column.ilike(f"%{escape_like(value)}%", escape="\\")


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def close_words(session: Session, terms: list[str]) -> dict[str, list[str]]:
    """Catalog words within max_edits() of each term (not the term itself). Candidates
    come from an index (PostgreSQL: trigram similarity; SQLite: same first letter and
    about the same length); the edit distance decides, the same on both."""
    candidates = [t for t in terms if len(t) >= 3 and not t.isdigit()]
    if not candidates:
        return {}
    if dialect(session) == "postgresql":
        rows = session.execute(text(
            "SELECT w.q, c.word FROM unnest(CAST(:terms AS text[])) AS w(q) CROSS JOIN LATERAL "
            "(SELECT word FROM search_words WHERE word % w.q AND word <> w.q "
            " AND length(word) >= 3 AND word !~ '^[0-9]+$' "
            " ORDER BY similarity(word, w.q) DESC, word LIMIT :n) c"),
            {"terms": candidates, "n": 4 * CLOSE_PER_WORD}).all()
    else:
        rows = []
        for term in candidates:
            most = max_edits(term)
            rows += [(term, w) for (w,) in session.execute(text(
                "SELECT term FROM books_fts_vocab WHERE term >= :lo AND term < :hi AND term <> :t "
                "AND length(term) BETWEEN :short AND :long AND lib_edit_distance(term, :t) <= :most "
                "ORDER BY term LIMIT :n"),
                {"lo": term[0], "hi": chr(ord(term[0]) + 1), "t": term, "short": len(term) - most,
                 "long": len(term) + most, "most": most, "n": 4 * CLOSE_PER_WORD})]
    found: dict[str, list[tuple[int, str]]] = {}
    for term, word in rows:
        if (distance := edit_distance(term, word)) <= max_edits(term):
            found.setdefault(term, []).append((distance, word))
    return {term: [w for _, w in sorted(close)[:CLOSE_PER_WORD]] for term, close in found.items()}


def max_edits(term: str) -> int:
    return 1 if len(term) <= 5 else 2


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance: typos are mostly one
    insertion, deletion, substitution or swap of neighbours."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            cur.append(cost)
        prev2, prev = prev, cur
    return prev[-1]
