"""Data the bench generates for itself: a catalog with its items, members, loans (each
of its own item), holds, task runs, outbox rows.

Rows go in with executemany (SQLAlchemy Core, batched) or, for items and the big loan
tables, one server-side INSERT ... SELECT (generate_series, or a recursive CTE where
SQLite must run it too): ORM objects one by one would make seeding, not the app, the
slowest thing in the run.
"""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text

from api import models  # noqa: F401
from api.extensions import db
from api.models.types import UTCDateTime

WORDS = ["amber", "river", "night", "garden", "iron", "glass", "winter", "letter", "house",
         "silent", "city", "stone", "shadow", "ocean", "paper", "crown", "north", "empire",
         "song", "forest", "lantern", "mirror", "orchard", "harbour", "machine"]
ADMIN_ID = 1
# One member owns every seeded loan, hold and notification, so lists that show a
# member only their own rows still have more than 100 items to page through.
HEAVY_ID = 2
# Shelf items per book (books.copies_* derive from items).
COPIES = 2


def table(name):
    return db.metadata.tables[name]


def isbn13(n: int) -> str:
    body = f"978{n:09d}"
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def seed_catalog(engine, books: int, users: int) -> None:
    """`books` books and `users` members (user 1 is an admin), plus 150 each of the
    rows the other list endpoints show, so every list has more than 100 items."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    book_rows = [{
        "title": " ".join(rng.choice(WORDS).title() for _ in range(3)) + f" {i}",
        "author": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}",
        "isbn": isbn13(i), "published_year": rng.randint(1900, 2025),
        "description": "A generated book for the benchmark. " * 3,
        "copies_total": COPIES, "copies_available": COPIES,
        "created_at": now - timedelta(minutes=i), "updated_at": now,
    } for i in range(1, books + 1)]
    user_rows = [{
        "username": f"user{i}", "email": f"user{i}@bench.invalid", "password_hash": "x",
        "role": "admin" if i == ADMIN_ID else "user", "is_active": True, "token_version": 0,
        "created_at": now - timedelta(minutes=i),
    } for i in range(1, users + 1)]
    with engine.begin() as conn:
        conn.execute(table("books").insert(), book_rows)
        conn.execute(table("users").insert(), user_rows)
        seed_shelf_items(conn, now)
        seed_list_rows(conn, now, min(users, books))


def seed_shelf_items(conn, now) -> None:
    """COPIES available items of every book, in one INSERT ... SELECT (PostgreSQL and SQLite)."""
    conn.execute(text(
        "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < :copies) "
        "INSERT INTO items (book_id, barcode, item_type, status, created_at, updated_at) "
        "SELECT b.id, 'S' || b.id || '-' || k.n, 'book', 'available', :now, :now FROM books b CROSS JOIN k")
        .bindparams(bindparam("now", type_=UTCDateTime)), {"copies": COPIES, "now": now})


def seed_list_rows(conn, now, limit: int) -> None:
    n = min(150, limit - 1)
    conn.execute(table("loans").insert(), [{
        "user_id": HEAVY_ID, "book_id": 1 + i, "borrowed_at": now - timedelta(days=1),
        "due_at": now + timedelta(days=13), "renewals": 0} for i in range(n)])
    # Each on a shelf item of its book, which goes out on loan.
    conn.execute(text("UPDATE loans SET item_id = "
                      "(SELECT min(i.id) FROM items i WHERE i.book_id = loans.book_id)"))
    conn.execute(text("UPDATE items SET status = 'on_loan' WHERE id IN (SELECT item_id FROM loans)"))
    conn.execute(text("UPDATE books SET copies_available = copies_available - 1 "
                      "WHERE id IN (SELECT book_id FROM loans)"))
    conn.execute(table("holds").insert(), [{
        "user_id": HEAVY_ID, "book_id": 2 + i, "status": "waiting",
        "created_at": now} for i in range(n)])
    conn.execute(table("task_runs").insert(), [{
        "id": f"bench-{i}", "name": "overdue-check", "state": "succeeded", "progress_current": 1,
        "progress_total": 1, "result": {"sent": 0}, "requested_by": ADMIN_ID, "requested_at": now,
        "finished_at": now} for i in range(n)])
    conn.execute(table("audit_log").insert(), [{
        "at": now, "actor_id": ADMIN_ID, "action": "book.updated", "object_type": "book",
        "object_id": str(1 + i), "data": {"bench": i}} for i in range(n)])
    conn.execute(table("notifications").insert(), [{
        "kind": "welcome", "dedupe_key": f"bench:list:{i}", "recipient": f"user{i}@bench.invalid",
        "subject": "Welcome", "body": "Hello", "user_id": HEAVY_ID, "state": "sent",
        "attempts": 1, "created_at": now, "next_attempt_at": now, "sent_at": now} for i in range(n)])
    # Rules for categories and item types no member or item has, setting no fine value
    # (the fines bench prices by the `*`/`*` rule alone), and the member's account lines.
    conn.execute(table("circulation_rules").insert(), [{
        "patron_category": f"bench{i // 10}", "item_type": f"type{i % 10}", "loan_days": 7 + i % 7}
        for i in range(n)])
    conn.execute(table("account_lines").insert(), [{
        "user_id": HEAVY_ID, "kind": "manual", "amount": 100 + i, "note": f"bench charge {i}",
        "created_at": now, "created_by": ADMIN_ID} for i in range(n)])


def seed_loans(engine, loans: int, books: int, overdue_every: int = 10) -> None:
    """`loans` open loans, every `overdue_every`-th one overdue, five per member
    (MAX_ACTIVE_LOANS), each member's five on five different books, each loan of its
    own item (on loan). PostgreSQL only."""
    members = -(-loans // 5)
    with engine.begin() as conn:
        first = conn.scalar(text("SELECT coalesce(max(id), 0) FROM users")) + 1
        conn.execute(text(
            "INSERT INTO users (username, email, password_hash, role, is_active, token_version, "
            "created_at) SELECT 'loaner' || (:first + g), 'loaner' || (:first + g) || '@bench.invalid', "
            "'x', 'user', true, 0, now() FROM generate_series(0, :n - 1) g"),
            {"n": members, "first": first})
        # Loan g's item has barcode L<first>-<g>.
        conn.execute(text(
            "INSERT INTO items (book_id, barcode, item_type, status, created_at, updated_at) "
            "SELECT 1 + ((g - 1)::bigint * 7919) % :books, 'L' || :first || '-' || g, 'book', 'on_loan', "
            "now(), now() FROM generate_series(1, :n) g"),
            {"first": first, "books": books, "n": loans})
        conn.execute(text(
            "INSERT INTO loans (user_id, book_id, item_id, borrowed_at, due_at, renewals) "
            "SELECT :first + (x.g - 1) / 5, i.book_id, i.id, now() - interval '20 days', "
            "CASE WHEN x.g % :every = 0 THEN now() - interval '3 days' "
            "ELSE now() + interval '7 days' END, 0 "
            "FROM items i CROSS JOIN LATERAL (SELECT split_part(i.barcode, '-', 2)::int AS g) x "
            "WHERE i.barcode LIKE 'L' || :first || '-%' ORDER BY x.g"),
            {"first": first, "every": overdue_every})
        conn.execute(text("ANALYZE"))


def clear_loans(engine) -> None:
    """Empty the loan, item, outbox and account-line tables, then put the shelf items back,
    so the next size starts from the same catalog. TRUNCATE rather than DELETE: a
    million-row DELETE would cost more than the seeding. The list rows go too, so this
    runs after the list benchmarks. PostgreSQL only."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notifications, account_lines, loans, holds, items"))
        conn.execute(text("UPDATE books SET copies_available = copies_total"))
        seed_shelf_items(conn, datetime.now(UTC))
