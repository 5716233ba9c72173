"""Every list query the API runs is served by an index (PostgreSQL EXPLAIN).

The tables get enough rows (generate_series, then VACUUM ANALYZE) that the planner
would rather scan a table than use a missing index. Then every list request, with
each filter and order it offers, goes through the app; the SQL it actually sends is
captured and EXPLAINed, and a sequential scan of one of these tables fails the test.
"""

import json
import re

import pytest
from sqlalchemy import event, text

from api.extensions import db

pytestmark = pytest.mark.postgres

N = 30_000
SEED = [
    f"""INSERT INTO users (username, email, password_hash, role, is_active, token_version, created_at)
        SELECT 'reader' || i, 'reader' || i || '@example.org', 'x', 'user', i % 50 <> 0, 0,
               now() - i * interval '1 minute' FROM generate_series(1, {N}) i""",
    f"""INSERT INTO books (title, author, isbn, published_year, copies_total, copies_available,
                           created_at, updated_at)
        SELECT 'Title ' || md5(i::text) || ' ' || (ARRAY['river','stone','night','garden'])[1 + i % 4],
               'Author ' || (i % 3000), '979' || lpad(i::text, 10, '0'), 1900 + i % 120, 2,
               CASE WHEN i % 500 = 0 THEN 0 ELSE 1 + i % 2 END, now() - i * interval '1 minute', now()
        FROM generate_series(1, {N}) i""",
    f"""INSERT INTO loans (user_id, book_id, borrowed_at, due_at, returned_at, renewals)
        SELECT (SELECT min(id) FROM users) + i % {N}, (SELECT min(id) FROM books) + (i * 7) % {N},
               now() - i * interval '10 minutes', now() - i * interval '10 minutes' + interval '14 days',
               CASE WHEN i % 20 = 0 THEN NULL ELSE now() - i * interval '5 minutes' END, 0
        FROM generate_series(1, {N}) i""",
    f"""INSERT INTO holds (user_id, book_id, status, created_at)
        SELECT (SELECT min(id) FROM users) + i % {N}, (SELECT min(id) FROM books) + (i * 11) % {N},
               (ARRAY['fulfilled','cancelled','expired','fulfilled','waiting'])[1 + i % 5],
               now() - i * interval '1 minute' FROM generate_series(1, {N}) i""",
    f"""INSERT INTO notifications (kind, dedupe_key, recipient, subject, body, state, attempts,
                                   created_at, next_attempt_at)
        SELECT (ARRAY['welcome','due_soon','overdue'])[1 + i % 3], 'k' || i, 'r@example.org', 's', 'b',
               CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'sent' END, 1, now(), now()
        FROM generate_series(1, {N}) i""",
    f"""INSERT INTO task_runs (id, name, state, progress_current, requested_at)
        SELECT 'run-' || i, (ARRAY['overdue-check','due-soon-reminders','expire-holds'])[1 + i % 3],
               CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'succeeded' END, 0, now() - i * interval '1 minute'
        FROM generate_series(1, {N}) i""",
    f"""INSERT INTO audit_log (at, actor_id, action, object_type, object_id, data)
        SELECT now(), (SELECT min(id) FROM users) + i % 10, 'loan.updated', 'loan', (i % 5000)::text, NULL
        FROM generate_series(1, {N}) i""",
]
LARGE = {"users", "books", "loans", "holds", "notifications", "task_runs", "audit_log", "search_words"}
REQUESTS = [
    "/books", "/books?sort=-title", "/books?sort=author", "/books?sort=published_year",
    "/books?sort=-created_at", "/books?available=true&sort=-published_year", "/books?available=false",
    "/books?page=1000", "/books?q=river", "/books?q=author 12", "/books?q=gard", "/books?q=9790000000042",
    "/books?q=author 1", "/books?q=river a",  # last words that start more than PREFIX_WORDS words
    "/books?q=river&sort=-published_year", "/books?q=stone&available=false", "/books?author=author 12",
    "/books?q=rivr", "/books?q=00004", "/books?q=no such words here",
    "/users", "/users?q=reader12", "/users?q=example", "/users?role=admin", "/users?is_active=false",
    "/loans", "/loans?status=overdue", "/loans?status=active", "/loans?status=returned",
    "/loans?user_id={user}", "/loans?book_id={book}", "/loans?page=500",
    "/holds", "/holds?status=waiting", "/holds?user_id={user}", "/holds?book_id={book}",
    "/admin/tasks", "/admin/tasks?name=expire-holds", "/admin/tasks?state=failed",
    "/admin/notifications", "/admin/notifications?state=failed", "/admin/notifications?kind=overdue",
    "/admin/audit", "/admin/audit?object_type=loan&object_id=42", "/admin/audit?actor_id={user}",
    "/users?page=100", "/holds?page=100", "/admin/tasks?page=100", "/admin/notifications?page=100",
    "/admin/audit?page=100", "/books?q=river&page=100",
]
# Read by cursor: the first page (after=), then the one after it (api/cursors.py).
BY_CURSOR = [
    "/books?sort=title", "/books?sort=-published_year&available=true", "/books?q=river&sort=-created_at",
    "/loans", "/loans?status=overdue", "/holds?status=waiting", "/users",
    "/admin/audit", "/admin/tasks", "/admin/notifications?state=sent",
]


def seq_scans(plan: dict, parent: dict | None = None) -> list[str]:
    """Tables read by a sequential scan, except one that a LIMIT right above it stops
    early because the planner expects more matches than the limit (a bounded count
    over a filter most rows pass reads about limit rows, not the table)."""
    found = []
    if plan["Node Type"] == "Seq Scan":
        bounded = parent is not None and parent["Node Type"] == "Limit" \
            and plan["Plan Rows"] > parent["Plan Rows"]
        if not bounded:
            found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += seq_scans(child, plan)
    return found


def test_every_list_query_uses_an_index(app, client, admin):
    with app.app_context():
        with db.engine.begin() as conn:
            for sql in SEED:
                conn.execute(text(sql))
            user = conn.exec_driver_sql("SELECT min(id) + 5 FROM users").scalar()
            book = conn.exec_driver_sql("SELECT min(id) + 7 FROM books").scalar()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE " + ", ".join(sorted(LARGE)))
        captured = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                captured.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            for path in REQUESTS:
                response = client.get(path.format(user=user, book=book), headers=admin.headers)
                assert response.status_code == 200, (path, response.get_json())
            for path in BY_CURSOR:
                url = path.format(user=user) + ("&" if "?" in path else "?") + "after=&per_page=10"
                first = client.get(url, headers=admin.headers)
                assert first.get_json()["meta"]["next_cursor"], (path, first.get_json())
                following = re.search(r'<([^>]+)>; rel="next"', first.headers["Link"])[1]
                assert client.get(following, headers=admin.headers).status_code == 200, following
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        bad = []
        with db.engine.connect() as conn:
            for statement, parameters in captured:
                plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                if scanned := LARGE & set(seq_scans(plan[0]["Plan"])):
                    where = statement.split("FROM", 1)[-1].replace("\n", " ")[:400]
                    bad.append(f"{sorted(scanned)}: ...FROM {where} {parameters}")
    assert len(captured) > len(REQUESTS)
    assert not bad, f"{len(bad)} statements scan a table:\n\n" + "\n\n".join(bad)
