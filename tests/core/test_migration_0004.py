"""Migration 0004 upgrades a library filled through the previous schema in place."""

import flask_migrate
from sqlalchemy import text

from api import create_app
from api.extensions import db

NOW = "2026-11-20 10:00:00"


def _fill_previous_schema(conn) -> None:
    conn.execute(text("INSERT INTO users (id, username, email, password_hash, role, is_active, "
                      "token_version, created_at) VALUES (1, 'ann', 'ann@example.com', 'x', 'user', "
                      f"true, 0, '{NOW}'), (2, 'ben', 'ben@example.com', 'x', 'admin', true, 0, '{NOW}')"))
    conn.execute(text("INSERT INTO books (id, title, author, isbn, published_year, copies_total, "
                      f"copies_available, created_at, updated_at) VALUES (1, 'T', 'A', '9780000000002', "
                      f"2001, 2, 1, '{NOW}', '{NOW}')"))
    conn.execute(text("INSERT INTO loans (id, user_id, book_id, borrowed_at, due_at, renewals) "
                      f"VALUES (1, 1, 1, '{NOW}', '2026-12-04 10:00:00', 0)"))


def test_upgrade_seeds_the_default_rule_and_keeps_data(empty_database_url, redis_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, REDIS_URL=redis_url,
                     LOAN_PERIOD_DAYS=21, MAX_ACTIVE_LOANS=7, DEFAULT_PATRON_CATEGORY="reader")
    with app.app_context():
        flask_migrate.upgrade(revision="0002")
        with db.engine.begin() as conn:
            _fill_previous_schema(conn)
        flask_migrate.upgrade(revision="0004")
        with db.engine.connect() as conn:
            rules = conn.execute(text("SELECT * FROM circulation_rules")).mappings().all()
            users = conn.execute(text("SELECT username, category FROM users ORDER BY id")).all()
            loans = conn.execute(text("SELECT id, user_id FROM loans")).all()
        assert [(r["patron_category"], r["item_type"], r["loan_days"], r["renewal_days"],
                 r["max_loans"], r["max_renewals"], r["hold_pickup_days"], r["max_fine"])
                for r in rules] == [("*", "*", 21, 21, 7, 2, 3, 1000)]
        assert [tuple(u) for u in users] == [("ann", "reader"), ("ben", "reader")]
        assert [tuple(loan) for loan in loans] == [(1, 1)]

        flask_migrate.downgrade(revision="0002")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names())
            columns = {c["name"] for c in db.inspect(conn).get_columns("users")}
            kept = conn.execute(text("SELECT count(*) FROM loans")).scalar(), \
                conn.execute(text("SELECT count(*) FROM users")).scalar()
        assert not {"circulation_rules", "closed_dates", "closed_weekdays"} & tables
        assert "category" not in columns
        assert kept == (1, 2)
        db.engine.dispose()
