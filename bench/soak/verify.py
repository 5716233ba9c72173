"""After the load: drain the outbox, then judge the driver's record, the database and
the SMTP sink together. Every check is (name, ok, detail)."""

import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from bench.soak.stack import SENDER
from worker.smtp import message_id

INVARIANT = text("""
SELECT b.id, b.copies_total, b.copies_available,
       (SELECT count(*) FROM loans l WHERE l.book_id = b.id AND l.returned_at IS NULL),
       (SELECT count(*) FROM holds h WHERE h.book_id = b.id AND h.status = 'ready'),
       (SELECT count(*) FROM holds h WHERE h.book_id = b.id AND h.status = 'waiting')
FROM books b ORDER BY b.id""")


def drain(engine, timeout: float) -> tuple[dict, float, float]:
    """Wait (bounded) until no row is pending or sending. Returns the state counts, the
    wait, and the longest a due, unleased row sat without a worker picking it up."""
    t0, idle = time.monotonic(), 0.0
    while True:
        with engine.connect() as conn:
            states = dict(conn.execute(text(
                "SELECT state, count(*) FROM notifications GROUP BY state")).all())
            due = conn.scalar(text("SELECT min(next_attempt_at) FROM notifications "
                                   "WHERE state = 'pending' AND claimed_at IS NULL"))
        if due is not None:
            idle = max(idle, (datetime.now(UTC) - _dt(due)).total_seconds())
        if not states.get("pending") and not states.get("sending"):
            return states, time.monotonic() - t0, idle
        if time.monotonic() - t0 > timeout:
            return states, time.monotonic() - t0, idle
        time.sleep(0.5)  # polling the worker's progress, not synchronising


def driver_checks(out: dict) -> list[tuple]:
    v = out["violations"]
    checks = [
        ("no 5xx", not v.get("5xx"), f"{v.get('5xx', 0)} responses >= 500"),
        ("every 4xx is problem+json", not v.get("4xx/5xx not problem+json"),
         f"{v.get('4xx/5xx not problem+json', 0)} not problem+json"),
        ("429s carry Retry-After", not v.get("429 without Retry-After"),
         f"{v.get('429 without Retry-After', 0)} without"),
        ("no unexpected statuses", not any(k.startswith("unexpected") for k in v),
         ", ".join(f"{k}: {n}" for k, n in v.items() if k.startswith("unexpected")) or "none"),
        ("no transport errors", not v.get("transport error"), f"{v.get('transport error', 0)}"),
        ("driver finished cleanly", not out["crashes"], "; ".join(out["crashes"]) or "yes"),
    ]
    for name, check in sorted(out["checks"].items()):
        detail = {k: val for k, val in check.items() if k != "ok"}
        checks.append((name.replace("_", " "), check["ok"], str(detail)))
    return checks


def outbox_checks(engine, out: dict, received: Counter, without_id: int, refused: int,
                  states: dict, waited: float, idle: float) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, kind, dedupe_key, recipient, hold_id, state, last_error "
            "FROM notifications")).all()
        ready_holds = set(conn.scalars(text("SELECT id FROM holds WHERE ready_at IS NOT NULL")))
        latency = conn.execute(text(
            "SELECT attempts > 1, created_at, sent_at FROM notifications WHERE sent_at IS NOT NULL"
        )).all()
    expected = Counter(message_id(r.id, r.dedupe_key, SENDER) for r in rows)
    dupes = {k: n for k, n in received.items() if n > 1}
    missing = sorted(set(expected) - set(received))
    extra = sorted(set(received) - set(expected))
    welcome = Counter(r.recipient for r in rows if r.kind == "welcome")
    hold_ready = Counter(r.hold_id for r in rows if r.kind == "hold_ready")
    resets = sum(r.kind == "password_reset" for r in rows)
    failed = [f"{r.id} {r.kind}: {r.last_error}" for r in rows if r.state == "failed"]
    return [
        ("outbox drained", not states.get("pending") and not states.get("sending"),
         f"{states} {waited:.1f}s after the load; {slowest(latency)}; a due retry waited "
         f"up to {idle:.1f}s for a worker"),
        ("every notification sent", all(r.state == "sent" for r in rows),
         f"{len(rows)} rows; failed: {failed[:3] or 'none'}"),
        ("sink got each Message-ID exactly once",
         not dupes and not missing and not extra and not without_id,
         f"{sum(received.values())} messages for {len(rows)} rows; duplicates {list(dupes)[:3]}, "
         f"missing {missing[:3]}, unexpected {extra[:3]}, without Message-ID {without_id}; "
         f"{refused} first attempts refused with 451 and retried"),
        ("one welcome per registration",
         set(welcome) == set(out["registered"]) and all(n == 1 for n in welcome.values()),
         f"{sum(welcome.values())} welcome rows, {len(out['registered'])} registrations"),
        ("one hold_ready per hold made ready",
         set(hold_ready) == ready_holds and all(n == 1 for n in hold_ready.values()),
         f"{sum(hold_ready.values())} rows, {len(ready_holds)} holds made ready"),
        ("one reset email per reset request", resets == out["password_resets"],
         f"{resets} rows, {out['password_resets']} requests for real accounts"),
    ]


def slowest(rows) -> str:
    """Created-to-sent, worst case, for first-try and retried rows (seconds)."""
    worst = {False: 0.0, True: 0.0}
    for retried, created, sent in rows:
        worst[bool(retried)] = max(worst[bool(retried)], (_dt(sent) - _dt(created)).total_seconds())
    return f"slowest delivery {worst[False]:.1f}s first try, {worst[True]:.1f}s retried"


def _dt(value):
    # SQLite hands the custom column type back as text through a raw connection.
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def circulation_checks(engine) -> list[tuple]:
    with engine.connect() as conn:
        books = conn.execute(INVARIANT).all()
        loans = conn.scalar(text("SELECT count(*) FROM loans"))
        holds = conn.scalar(text("SELECT count(*) FROM holds"))
    broken = [f"book {b}: {avail}+{on_loan}+{ready} != {total}"
              for b, total, avail, on_loan, ready, _ in books if avail + on_loan + ready != total]
    idle = [f"book {b}: {avail} free, {waiting} waiting"
            for b, _, avail, _, _, waiting in books if avail > 0 and waiting > 0]
    return [
        ("available + open loans + ready holds == total", not broken,
         f"{len(books)} books, {loans} loans, {holds} holds; broken: {broken[:3] or 'none'}"),
        ("no free copy while someone waits", not idle, "; ".join(idle[:3]) or "none"),
    ]


def run_checks(stack, out: dict, drain_timeout: float) -> list[tuple]:
    engine = create_engine(stack.database_url)
    try:
        states, waited, idle = drain(engine, drain_timeout)
        time.sleep(1.0)  # a late duplicate delivery would land now, after "drained"
        received, without_id, refused = stack.sink.handler.snapshot()
        return (driver_checks(out)
                + outbox_checks(engine, out, received, without_id, refused, states, waited,
                                idle)
                + circulation_checks(engine))
    finally:
        engine.dispose()
