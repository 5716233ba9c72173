"""Whole-database circulation invariants, checked in SQL against the real tables.

`violations()` returns human-readable strings rather than asserting, so the state
machine and the race tests can show every broken rule at once (one drift usually
breaks several). Call inside an app context.
"""

from flask import current_app
from sqlalchemy import text

from api.extensions import db
from tests.helpers import clean_database  # noqa: F401  (re-exported: one cleaning rule)

QUEUE_ORDER = "hold served out of queue order"

# Each query returns offending rows; an empty result means the rule holds.
_RULES = {
    "available + open loans + ready holds + damaged != copies_total": """
        SELECT b.id, b.copies_available, b.copies_total,
               (SELECT count(*) FROM loans l WHERE l.book_id = b.id AND l.returned_at IS NULL),
               (SELECT count(*) FROM holds h WHERE h.book_id = b.id AND h.status = 'ready')
        FROM books b
        WHERE b.copies_available
              + (SELECT count(*) FROM loans l WHERE l.book_id = b.id AND l.returned_at IS NULL)
              + (SELECT count(*) FROM holds h WHERE h.book_id = b.id AND h.status = 'ready')
              + (SELECT count(*) FROM items i WHERE i.book_id = b.id AND i.status = 'damaged')
              <> b.copies_total""",
    # The derived columns never drift from the items they count.
    "copies_total / copies_available differ from the items": """
        SELECT b.id, b.copies_total, b.copies_available FROM books b
        WHERE b.copies_total <> (SELECT count(*) FROM items i WHERE i.book_id = b.id
                                 AND i.status NOT IN ('lost', 'withdrawn'))
           OR b.copies_available <> (SELECT count(*) FROM items i WHERE i.book_id = b.id
                                     AND i.status = 'available')""",
    "open loan whose item is not on loan (or of another book)": """
        SELECT l.id, l.item_id, i.status FROM loans l LEFT JOIN items i ON i.id = l.item_id
        WHERE l.returned_at IS NULL
          AND (i.id IS NULL OR i.status <> 'on_loan' OR i.book_id <> l.book_id)""",
    "item on loan without exactly one open loan": """
        SELECT i.id FROM items i WHERE i.status = 'on_loan' AND (SELECT count(*) FROM loans l
            WHERE l.item_id = i.id AND l.returned_at IS NULL) <> 1""",
    "ready hold whose item is not on the hold shelf (or of another book)": """
        SELECT h.id, h.item_id, i.status FROM holds h LEFT JOIN items i ON i.id = h.item_id
        WHERE h.status = 'ready'
          AND (i.id IS NULL OR i.status <> 'on_hold_shelf' OR i.book_id <> h.book_id)""",
    "item on the hold shelf without exactly one ready hold": """
        SELECT i.id FROM items i WHERE i.status = 'on_hold_shelf' AND (SELECT count(*) FROM holds h
            WHERE h.item_id = i.id AND h.status = 'ready') <> 1""",
    "shelf count outside 0..copies_total": """
        SELECT id, copies_available, copies_total FROM books
        WHERE copies_available < 0 OR copies_available > copies_total""",
    # A suspended hold is passed over; its suspended_until is cleared (and a free copy
    # handed over) when it resumes, by PATCH or the hourly job.
    "a copy is on the shelf while a hold waits": """
        SELECT b.id, b.copies_available FROM books b
        WHERE b.copies_available > 0 AND EXISTS (SELECT 1 FROM holds h
            WHERE h.book_id = b.id AND h.status = 'waiting' AND h.suspended_until IS NULL)""",
    "member above the loan limit": """
        SELECT user_id, count(*) FROM loans WHERE returned_at IS NULL
        GROUP BY user_id HAVING count(*) > :max_loans""",
    "two open loans of one book for one member": """
        SELECT user_id, book_id FROM loans WHERE returned_at IS NULL
        GROUP BY user_id, book_id HAVING count(*) > 1""",
    "two open holds on one book for one member": """
        SELECT user_id, book_id FROM holds WHERE status IN ('waiting', 'ready')
        GROUP BY user_id, book_id HAVING count(*) > 1""",
    "open hold on a book the member already has on loan": """
        SELECT h.id, h.user_id, h.book_id FROM holds h
        JOIN loans l ON l.user_id = h.user_id AND l.book_id = h.book_id AND l.returned_at IS NULL
        WHERE h.status IN ('waiting', 'ready')""",
    # A hold that was never ready and still waits was already in the queue when the
    # younger one was served: it was skipped — unless it is suspended (passed over on
    # purpose). Only an admin's override at the desk sends a ready hold back to waiting;
    # it keeps its ready_at and its place. No history is kept, so a hold resumed after
    # being passed over would be reported: scenarios check before resuming such a hold,
    # the state machine names the pairs it saw (violations(passed_over=...)).
    QUEUE_ORDER: """
        SELECT w.id, r.id FROM holds w JOIN holds r ON r.book_id = w.book_id
        WHERE w.status = 'waiting' AND w.ready_at IS NULL AND w.suspended_until IS NULL
          AND r.ready_at IS NOT NULL
          AND (w.created_at < r.created_at OR (w.created_at = r.created_at AND w.id < r.id))""",
    "ready hold without its dates": """
        SELECT id FROM holds WHERE status = 'ready' AND (ready_at IS NULL OR expires_at IS NULL)""",
    "closed hold without closed_at": """
        SELECT id FROM holds WHERE status IN ('fulfilled', 'cancelled', 'expired') AND closed_at IS NULL""",
    # Nothing lost: every hold that was ever made ready has exactly its one email.
    "ready hold without its hold_ready email": """
        SELECT h.id FROM holds h WHERE h.ready_at IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM notifications n
            WHERE n.kind = 'hold_ready' AND n.hold_id = h.id)""",
    "hold_ready email for a hold never made ready": """
        SELECT n.id, n.hold_id FROM notifications n JOIN holds h ON h.id = n.hold_id
        WHERE n.kind = 'hold_ready' AND h.ready_at IS NULL""",
    "loan or hold of a book that no longer exists": """
        SELECT 'loan', id FROM loans WHERE book_id NOT IN (SELECT id FROM books)
        UNION ALL SELECT 'hold', id FROM holds WHERE book_id NOT IN (SELECT id FROM books)""",
}


def violations(passed_over: frozenset[tuple[int, int]] = frozenset()) -> list[str]:
    """Every broken rule with up to three offending rows; [] when all hold.

    `passed_over`: (waiting hold, served hold) pairs the caller saw served while the
    waiting one was suspended, which the history-less queue-order rule cannot tell
    from a skip once the waiting hold has resumed."""
    db.session.rollback()  # see other transactions' commits, not an old snapshot
    params = {"max_loans": int(current_app.config["MAX_ACTIVE_LOANS"])}
    found = []
    for name, rows in zip(_RULES, _rows_of_each_rule(params), strict=True):
        if name == QUEUE_ORDER:
            rows = [r for r in rows if tuple(r) not in passed_over]
        if rows:
            found.append(f"{name}: {[tuple(r) for r in rows[:3]]}")
    db.session.rollback()
    return found


def _rows_of_each_rule(params: dict) -> list[list]:
    """Each rule's offending rows. On PostgreSQL the statements are sent in one psycopg
    pipeline, one round trip instead of one per rule: the state machine checks after
    every step, a few thousand times a run."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return [connection.execute(text(sql), params).all() for sql in _RULES.values()]
    driver = connection.connection.driver_connection
    with driver.pipeline():
        cursors = [driver.execute(sql.replace(":max_loans", "%(max_loans)s"),
                                  params if ":max_loans" in sql else None) for sql in _RULES.values()]
    return [cursor.fetchall() for cursor in cursors]


def assert_invariants() -> None:
    problems = violations()
    assert not problems, "\n".join(problems)
