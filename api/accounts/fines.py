"""Overdue fines: the formula, and the writes that fines-accrual (worker/fines.py) and a
return (settle_fine) make with it.

A loan's fine is `fine_amount(...)` of its chargeable days: the open library days d
with due day < d <= today (or the return day), library dates in LIBRARY_TIMEZONE,
as api.days.service.open_days_between counts them, with the fine values of the
effective rule of its member's category and its item's type. It lives in the loan's
single `overdue` line, brought up to date in place (never one line per day). The
database prices and writes it (api.accounts.pricing); `fine_amount` is the definition
the SQL is tested against.
"""

from datetime import date, datetime

from sqlalchemy import exists, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.accounts.pricing import priced_loans
from api.accounts.service import lock_account
from api.clock import utcnow
from api.days.service import library_date
from api.models import AccountLine, Loan
from api.models.types import UTCDateTime


def fine_amount(*, fine_per_day: int, grace_days: int, max_fine: int, chargeable_days: int) -> int:
    """0 while the chargeable days are within the grace (days <= grace_days); after
    that every chargeable day is charged, the grace days included, capped at max_fine."""
    if chargeable_days <= grace_days or fine_per_day <= 0 or max_fine <= 0:
        return 0
    return min(max_fine, fine_per_day * chargeable_days)


def write_fines(session: Session, conditions, *, end: date, limit: int | None = None) -> tuple[int, int]:
    """Bring the `overdue` line of every loan matching `conditions` (at most `limit`) to
    its fine counted to library day `end`, with one INSERT ... SELECT ... ON CONFLICT
    (loan_id) WHERE kind = 'overdue' DO UPDATE. Returns (charged: loans whose fine is
    above 0, changed: lines written). A line already at its amount is not written (a
    second run changes nothing), and a fine of 0 creates no line (a library that charges
    no fines gets no rows) but brings an existing line down to 0."""
    priced = priced_loans(conditions, end=end, limit=limit).cte("priced")
    has_line = exists().where(AccountLine.loan_id == priced.c.loan_id, AccountLine.kind == "overdue")
    rows = (select(priced.c.user_id, literal("overdue"), priced.c.amount, priced.c.loan_id,
                   literal(utcnow(), UTCDateTime()))
            .where((priced.c.amount > 0) | has_line))
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(AccountLine)
    insert = insert.from_select(["user_id", "kind", "amount", "loan_id", "created_at"], rows)
    # RETURNING yields only the rows inserted or actually updated.
    insert = insert.on_conflict_do_update(
        index_elements=[AccountLine.loan_id], index_where=text("kind = 'overdue'"),
        set_={"amount": insert.excluded.amount}, where=AccountLine.amount != insert.excluded.amount,
    ).returning(AccountLine.id)
    charged = select(func.count()).select_from(priced).where(priced.c.amount > 0).scalar_subquery()
    if postgres:
        # One statement: the write as a data-modifying CTE, counted beside the priced rows.
        written = insert.cte("written")
        return tuple(session.execute(select(charged, select(func.count()).select_from(written)
                                            .scalar_subquery())).one())
    # SQLite has no writes in a CTE: the write first (it takes the write lock), then the count.
    changed = len(session.execute(insert).all())
    return session.scalar(select(charged)), changed


# The PostgreSQL advisory lock (transaction-scoped) that orders returns against the
# batches of fines-accrual: a batch holds it exclusively, a return's settle_fine
# shared (returns do not wait for each other).
ACCRUAL_LOCK = 0x66696E6573  # "fines"


def accrual_batch_begins(session: Session) -> None:
    """Start a fines-accrual batch's transaction (PostgreSQL): the accrual lock, taken
    before the batch is read, so it waits for every return whose fine is being
    settled and the batch sees them returned; its commit need not wait for its WAL to
    reach disk (synchronous_commit, local to the transaction): a crash can lose only
    the last batches, absolute amounts the next run writes again."""
    session.execute(text("SELECT set_config('synchronous_commit', 'off', true), "
                         "pg_advisory_xact_lock(:key)"), {"key": ACCRUAL_LOCK})


def settle_fine(session: Session, loan: Loan, *, returned_at: datetime) -> int:
    """Bring the loan's `overdue` line to its final amount, counting library days up to
    the return day (a backdated return counts to its own day). Call it in the return's
    transaction, after setting returned_at; it does not commit. Returns the fine."""
    return _write_one(session, loan.id, loan.user_id, end=library_date(returned_at))


def reprice_fine(session: Session, loan: Loan) -> int:
    """Bring an open loan's `overdue` line to its fine counted to today, after its due
    date moved: a line for a due date that no longer applies is brought down (to 0 if
    the loan is no longer overdue, which fines-accrual would never visit again) or up.
    Call it in the change's transaction; it does not commit. Returns the fine."""
    return _write_one(session, loan.id, loan.user_id, end=library_date(utcnow()))


def reprice_moved(session: Session, loans: list[tuple[int, int]]) -> int:
    """reprice_fine for those of `loans` ((id, user_id), due dates just moved in this
    transaction, in user order) that have an `overdue` line: a closed date in the past
    can take a charged loan out of being overdue. Returns how many were repriced."""
    charged = set(session.scalars(select(AccountLine.loan_id).where(
        AccountLine.kind == "overdue", AccountLine.loan_id.in_([loan_id for loan_id, _ in loans]))))
    today = library_date(utcnow())
    for loan_id, user_id in loans:
        if loan_id in charged:
            _write_one(session, loan_id, user_id, end=today)
    return len(charged)


def _write_one(session: Session, loan_id: int, user_id: int, *, end: date) -> int:
    """One loan's line priced to library day `end`, as it stands in this transaction.

    It first takes the accrual lock shared (PostgreSQL), held to the commit: a
    fines-accrual batch in flight (which may have read the loan as it was) commits
    first and this then overwrites its line; a batch that starts later waits for this
    commit and sees the loan as changed. Either way the amount written here is the last
    written. The accrual takes no other lock a return holds: no deadlock. Then the
    member's row, as a payment does (lock_account): a payment checks the balance under
    it, so it cannot accept more than the balance this write leaves (a backdated
    check-in bringing a fine down while an admin takes payment of the old amount)."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite serialises writers: take the write lock now.
        session.execute(update(Loan).where(Loan.id == loan_id).values(id=Loan.id)
                        .execution_options(synchronize_session=False))
    else:
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": ACCRUAL_LOCK})
    lock_account(session, user_id)
    conditions = [Loan.id == loan_id]
    amount = session.scalar(select(priced_loans(conditions, end=end).subquery().c.amount)) or 0
    write_fines(session, conditions, end=end)
    return amount
