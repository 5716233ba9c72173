"""Baseline for bench.scale: each measured request as hand-written SQL in a bare Flask app.

`/q/<name>?<the same query string>` runs the SQL a careful developer would write by
hand for that request (the page and its total, with the same indexes the app has;
for an admin list also the caller's row, `?caller=<username>`, which any authorised
list must read: role and active flag are never taken from the token alone) and
returns it as JSON, served by the same gunicorn config as the app. The app's
figure ÷ this one is what the app's layers (routing, schemas, auth, cache, the ORM)
cost on top of the database's own work.
"""

import json
import os

from flask import Flask, Response, request

app = Flask(__name__)
DSN = os.environ.get("BENCH_DSN", "")
BOOK = ("id, title, author, isbn, published_year, description, copies_total, copies_available, "
        "created_at, updated_at")
# Every field of the app's LoanOut: the item's barcode (a loan names its item) and the
# status the app derives from the dates.
LOAN = ("l.id, l.user_id, l.book_id, l.borrowed_at, l.due_at, l.returned_at, l.renewals, "
        "CASE WHEN l.returned_at IS NOT NULL THEN 'returned' WHEN l.due_at < now() THEN 'overdue' "
        "ELSE 'active' END AS status, l.item_id, i.barcode")
LOANS = "loans l LEFT JOIN items i ON i.id = l.item_id"
_LEAD = " AND search_vector @@ to_tsquery('simple', %(lead)s)"
RANK = "ts_rank('{0.01, 0.02, 0.1, 1.0}', search_vector, to_tsquery('simple', %(tsq)s))"
PG = {
    "search": (f"SELECT {BOOK} FROM books WHERE search_vector @@ to_tsquery('simple', %(match)s) "
               f"AND search_vector @@ to_tsquery('simple', %(lead)s) ORDER BY {RANK} DESC, id LIMIT 20",
               "SELECT count(*) FROM (SELECT 1 FROM books WHERE search_vector @@ to_tsquery('simple', "
               "%(match)s) AND search_vector @@ to_tsquery('simple', %(lead)s) LIMIT 10001) s"),
    "typo": (f"SELECT {BOOK} FROM books WHERE search_vector @@ to_tsquery('simple', %(tsq)s) "
             f"ORDER BY {RANK} DESC, id LIMIT 20",
             "SELECT count(*) FROM (SELECT 1 FROM books WHERE search_vector @@ "
             "to_tsquery('simple', %(tsq)s) LIMIT 10001) s"),
    "first": (f"SELECT {BOOK} FROM books ORDER BY title, id LIMIT 20",
              "SELECT reltuples FROM pg_class WHERE oid = 'books'::regclass"),
    "available": (f"SELECT {BOOK} FROM books WHERE copies_available > 0 "
                  "ORDER BY published_year DESC, id DESC LIMIT 20",
                  "SELECT count(*) FROM (SELECT 1 FROM books WHERE copies_available > 0 LIMIT 10001) s"),
    "deep": (f"SELECT {BOOK} FROM books ORDER BY title, id LIMIT 20 OFFSET 99980",
             "SELECT reltuples FROM pg_class WHERE oid = 'books'::regclass"),
    # Keyset: the page after a (title, id), read as one more row to know if there is a next.
    "after": (f"SELECT {BOOK} FROM books WHERE (title, id) > (%(title)s, %(id)s) ORDER BY title, id LIMIT 21",
              "SELECT reltuples FROM pg_class WHERE oid = 'books'::regclass"),
    "loans": (f"SELECT {LOAN} FROM {LOANS} ORDER BY l.borrowed_at DESC, l.id DESC LIMIT 20",
              "SELECT reltuples FROM pg_class WHERE oid = 'loans'::regclass"),
    "overdue": (f"SELECT {LOAN} FROM {LOANS} WHERE l.returned_at IS NULL AND l.due_at < now() "
                "ORDER BY l.borrowed_at DESC, l.id DESC LIMIT 20",
                "SELECT count(*) FROM (SELECT 1 FROM loans WHERE returned_at IS NULL AND due_at < now() "
                "LIMIT 10001) s"),
}
SQLITE_SEARCH = (f"SELECT {', '.join('b.' + c.strip() for c in BOOK.split(','))} FROM books b "
                 "JOIN (SELECT rowid AS id, bm25(books_fts, 100.0, 1.0, 0.5) AS r FROM books_fts "
                 "WHERE books_fts MATCH ?) h ON h.id = b.id ORDER BY h.r, b.id LIMIT 20",
                 "SELECT count(*) FROM (SELECT 1 FROM books_fts WHERE books_fts MATCH ? LIMIT 10001)")
_conn = None


def connection():
    global _conn  # one per worker process, opened after gunicorn forks
    if _conn is None:
        if DSN.startswith("postgresql"):
            import psycopg

            _conn = psycopg.connect(DSN, autocommit=True)
        else:
            import sqlite3

            _conn = sqlite3.connect(DSN.removeprefix("sqlite:///"), check_same_thread=False)
    return _conn


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/q/<name>")
def query(name: str):
    cur = connection().cursor()
    if caller := request.args.get("caller"):  # who asks: an admin list reads its caller's row
        cur.execute("SELECT id, role, is_active, token_version FROM users WHERE username = %(u)s",
                    {"u": caller})
        row = cur.fetchone()
        if row is None or row[1] != "admin" or not row[2]:
            return Response(status=403)
    if DSN.startswith("postgresql"):
        page_sql, total_sql = PG[name]
        params = {"tsq": request.args.get("tsq", "")}
        if name == "search":
            params.update(_expanded(cur, params["tsq"], request.args.get("last", "")))
            if params["lead"] == params["match"]:  # one word: no second condition (as the app)
                page_sql, total_sql = (sql.replace(_LEAD, "") for sql in PG[name])
        if name == "after":
            params = {"title": request.args["title"], "id": int(request.args["id"])}
        if name == "typo":
            # Close spellings are for a search that matches nothing, so hand-written code,
            # too, first runs the search as typed, then looks the word up.
            word = request.args["word"]
            cur.execute(PG["typo"][0], {"tsq": f"{word}:*"})
            if cur.fetchall():
                return Response(status=409)  # not a typo: the bench asked for the wrong word
            cur.execute("SELECT word FROM search_words WHERE word %% %(w)s "
                        "ORDER BY similarity(word, %(w)s) DESC LIMIT 20", {"w": word})
            cur.fetchall()
    else:
        page_sql, total_sql = SQLITE_SEARCH
        params = (request.args.get("fts", ""),)
    cur.execute(page_sql, params)
    columns = [d[0] for d in cur.description]
    items = [dict(zip(columns, (_iso(v) for v in row), strict=True)) for row in cur.fetchall()[:20]]
    cur.execute(total_sql, params if "%(" in total_sql or "?" in total_sql else None)
    total = int(cur.fetchone()[0])
    body = {"items": items, "meta": {"page": 1, "per_page": 20, "total": total}}
    return Response(json.dumps(body), mimetype="application/json")


def _expanded(cur, tsq: str, last: str) -> dict:
    """What the app matches for `tsq` (last word `last`, typed as a prefix): a prefix of
    one or two characters and more than 20 vocabulary words stands for the first 20; the
    last word also on its own."""
    if len(last) > 2:
        return {"match": tsq, "lead": f"{last}:*"}
    cur.execute('SELECT word FROM search_words WHERE word COLLATE "C" >= %(lo)s '
                'AND word COLLATE "C" < %(hi)s ORDER BY word COLLATE "C" LIMIT 21',
                {"lo": last, "hi": last[:-1] + chr(ord(last[-1]) + 1)})
    words = [w for (w,) in cur.fetchall()]
    lead = f"({' | '.join(words[:20])})" if len(words) > 20 else f"{last}:*"
    return {"match": tsq.replace(f"{last}:*", lead), "lead": lead}


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
