"""The baselines: a bare Flask app with no extensions, served by the same gunicorn config.

`/health` returns the same JSON as the full app's liveness probe. `/books` answers
the same page as the full app's GET /books from ONE raw SQL query (the total comes
from a window function) serialised with json.dumps: the floor for what a list
endpoint can cost on this database.
"""

import json
import math
import os

from flask import Flask, Response, request

app = Flask(__name__)
DSN = os.environ.get("BENCH_DSN", "")
# Must list the columns in the order the full app's book schema emits them.
COLUMNS = ("id", "title", "author", "isbn", "published_year", "description",
           "copies_total", "copies_available", "created_at", "updated_at")
ORDER = os.environ.get("BENCH_BOOKS_ORDER", "title, id")
_conn = None


def connection():
    # One connection per worker process, opened after gunicorn forks.
    global _conn
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


@app.get("/books")
def books():
    page = int(request.args.get("page", 1))
    per_page = min(int(request.args.get("per_page", 20)), 100)
    sql = (f"SELECT {', '.join(COLUMNS)}, count(*) OVER () FROM books "
           f"ORDER BY {ORDER} LIMIT {per_page} OFFSET {(page - 1) * per_page}")
    cur = connection().cursor()
    cur.execute(sql)
    rows = cur.fetchall()
    total = rows[0][-1] if rows else 0
    items = [dict(zip(COLUMNS, (_iso(v) for v in row[:-1]), strict=True)) for row in rows]
    body = {"items": items, "meta": {"page": page, "per_page": per_page, "total": total,
                                     "pages": math.ceil(total / per_page) if total else 0}}
    return Response(json.dumps(body), mimetype="application/json")


def _iso(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
