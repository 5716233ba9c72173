"""Migration 0003 upgrades a database filled through the previous schema in place:
items for every book's copies, an item for each open loan and ready hold; and the
downgrade takes them away again, leaving the v1 rows as they were."""

from datetime import timedelta

import flask_migrate
from sqlalchemy import inspect, text

from api import create_app
from api.circulation import loans
from api.clock import utcnow
from api.extensions import db
from tests.invariants.checks import violations

# AFTER is head: the filled v1 database goes through every later migration too, and the
# ORM calls below need the whole current schema.
BEFORE, AFTER = "0002", "head"
T = "2026-11-01 10:00:00"


def _fill_v1(conn) -> None:
    """Three members, four books, loans and holds in every state, as v1 wrote them."""
    for uid in (1, 2, 3):
        conn.execute(text("INSERT INTO users (id, username, email, password_hash, role, is_active, "
                          "token_version, created_at) VALUES (:id, :n, :e, 'x', 'user', true, 0, :t)"),
                     {"id": uid, "n": f"u{uid}", "e": f"u{uid}@example.com", "t": T})
    # book: (copies_total, copies_available)
    for book_id, total, available in ((1, 3, 1), (2, 2, 0), (3, 0, 0), (4, 1, 1)):
        conn.execute(text("INSERT INTO books (id, title, author, isbn, published_year, copies_total, "
                          "copies_available, created_at, updated_at) "
                          "VALUES (:id, :t, 'A', :isbn, 2000, :total, :available, :at, :at)"),
                     {"id": book_id, "t": f"B{book_id}", "isbn": f"978000000000{book_id}", "total": total,
                      "available": available, "at": T})
    loan_rows = [(1, 1, 1, None), (2, 3, 1, T), (3, 1, 2, None), (4, 3, 2, None)]  # id, user, book, returned
    for loan_id, uid, book_id, returned in loan_rows:
        conn.execute(text("INSERT INTO loans (id, user_id, book_id, borrowed_at, due_at, returned_at, "
                          "renewals) VALUES (:id, :u, :b, :t, '2099-01-01 00:00:00', :r, 0)"),
                     {"id": loan_id, "u": uid, "b": book_id, "t": T, "r": returned})
    for hold_id, uid, book_id, status in ((1, 2, 1, "ready"), (2, 2, 2, "waiting")):
        conn.execute(text("INSERT INTO holds (id, user_id, book_id, status, created_at, ready_at, "
                          "expires_at) VALUES (:id, :u, :b, :s, :t, :ready, :ready)"),
                     {"id": hold_id, "u": uid, "b": book_id, "s": status, "t": T,
                      "ready": "2099-01-01 00:00:00" if status == "ready" else None})
    conn.execute(text("INSERT INTO notifications (kind, dedupe_key, recipient, subject, body, user_id, "
                      "hold_id, state, attempts, created_at, next_attempt_at) VALUES ('hold_ready', "
                      "'hold_ready:1', 'u2@example.com', 's', 'b', 2, 1, 'sent', 1, :t, :t)"), {"t": T})
    if conn.dialect.name == "postgresql":  # rows given explicit ids: move the sequences past them
        for table in ("users", "books", "loans", "holds"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


def _rows(conn, sql):
    return [tuple(r) for r in conn.execute(text(sql))]


def test_upgrade_fills_items_and_downgrade_removes_them(empty_database_url, redis_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, REDIS_URL=redis_url)
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            _fill_v1(conn)
        flask_migrate.upgrade(revision=AFTER)
        with db.engine.connect() as conn:
            assert _rows(conn, "SELECT book_id, barcode, status FROM items ORDER BY book_id, barcode") == [
                (1, "1-1", "on_loan"), (1, "1-2", "on_hold_shelf"), (1, "1-3", "available"),
                (2, "2-1", "on_loan"), (2, "2-2", "on_loan"), (4, "4-1", "available")]
            assert _rows(conn, "SELECT l.id, i.barcode FROM loans l LEFT JOIN items i ON i.id = l.item_id "
                               "ORDER BY l.id") == [(1, "1-1"), (2, None), (3, "2-1"), (4, "2-2")]
            assert _rows(conn, "SELECT h.id, i.barcode FROM holds h LEFT JOIN items i ON i.id = h.item_id "
                               "ORDER BY h.id") == [(1, "1-2"), (2, None)]
            assert _rows(conn, "SELECT id, copies_total, copies_available FROM books ORDER BY id") == [
                (1, 3, 1), (2, 2, 0), (3, 0, 0), (4, 1, 1)]
        assert violations() == []
        # The upgraded rows circulate: a return hands its item to the waiting hold.
        loans.return_loan(db.session, loans.get_loan(db.session, 3))
        with db.engine.connect() as conn:
            assert _rows(conn, "SELECT h.status, i.barcode, i.status FROM holds h JOIN items i ON "
                               "i.id = h.item_id WHERE h.id = 2") == [("ready", "2-1", "on_hold_shelf")]
        loan = loans.borrow(db.session, db.session.get(loans.User, 1), 4, due_at=utcnow() + timedelta(days=1))
        assert loan.barcode == "4-1"
        assert violations() == []
        db.session.remove()

        flask_migrate.downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            assert "items" not in names
            assert "item_id" not in {c["name"] for c in inspect(conn).get_columns("loans")}
            assert "item_id" not in {c["name"] for c in inspect(conn).get_columns("holds")}
            assert _rows(conn, "SELECT id, copies_total, copies_available FROM books ORDER BY id") == [
                (1, 3, 1), (2, 2, 0), (3, 0, 0), (4, 1, 0)]
            assert _rows(conn, "SELECT count(*) FROM loans WHERE returned_at IS NULL") == [(3,)]
            # Rebuilding loans/holds on SQLite must not null the outbox's links to them.
            links = _rows(conn, "SELECT hold_id FROM notifications WHERE dedupe_key = 'hold_ready:1'")
            assert links == [(1,)]
        db.engine.dispose()
