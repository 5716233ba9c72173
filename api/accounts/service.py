"""The ledger, callable without HTTP. Money moves only through pay / waive / charge,
each of which locks the member's row, checks, writes the line and its audit entry,
and commits them together."""

from flask import current_app
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.errors import BadRequest, Conflict, NotFound
from api.models import AccountLine, User

MAX_ID = 2**31 - 1
# One line's largest amount (1,000,000.00 in a two-decimal currency): far from int32.
MAX_AMOUNT = 100_000_000


def currency() -> str:
    return current_app.config["CURRENCY"]


def balance(session: Session, user_id: int) -> int:
    """What the member owes (negative: in credit), summed by the database."""
    total = session.scalar(select(func.coalesce(func.sum(AccountLine.amount), 0))
                           .where(AccountLine.user_id == user_id))
    return int(total)


def get_account_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound("No such user.")
    return user


def lines_stmt(user_id: int) -> Select:
    """The member's lines, newest first (ix_account_lines_user)."""
    return select(AccountLine).where(AccountLine.user_id == user_id).order_by(AccountLine.id.desc())


def get_line(session: Session, user_id: int, line_id: int) -> AccountLine:
    line = session.get(AccountLine, line_id) if 0 < line_id <= MAX_ID else None
    if line is None or line.user_id != user_id:
        raise NotFound("No such account line.")
    return line


def lock_account(session: Session, user_id: int) -> User:
    """The member's row, locked until commit, so two payments (or a payment and a borrow's
    balance check) see each other's lines. Same lock mode as api.circulation's lock_user:
    FOR NO KEY UPDATE, which does not block the FK checks of inserts naming the member.
    A deactivated member can still pay: they may owe money."""
    if not 0 < user_id <= MAX_ID:
        raise NotFound("No such user.")
    if session.get_bind().dialect.name == "sqlite":
        # No row locks: a no-op write takes the database's single write lock now, so the
        # balance read next stays true until commit (see api.circulation.common).
        session.execute(update(User).where(User.id == user_id).values(id=User.id)
                        .execution_options(synchronize_session=False))
    user = session.scalar(select(User).where(User.id == user_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))
    if user is None:
        session.rollback()
        raise NotFound("No such user.")
    return user


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise BadRequest("The amount is invalid.",
                         errors={"amount": [f"A whole number of minor units, 1 to {MAX_AMOUNT}."]})


def _check_note(note: str | None) -> None:
    if note is None or not note.strip():
        raise BadRequest("A note is required.", errors={"note": ["Say why."]})


def pay(session: Session, *, user_id: int, amount: int, note: str | None = None,
        actor_id: int | None) -> AccountLine:
    """Record a payment of `amount` (> 0) and commit; 409 `payment_exceeds_balance` when it
    is more than the member owes (an overpayment would be a credit nobody asked for)."""
    _check_amount(amount)
    lock_account(session, user_id)
    owed = balance(session, user_id)
    if amount > owed:
        session.rollback()
        raise Conflict(f"The payment ({amount}) is more than the balance ({owed}).",
                       code="payment_exceeds_balance")
    return _record(session, user_id, "payment", -amount, note, actor_id, "account.paid", owed)


def waive(session: Session, *, user_id: int, amount: int, note: str, actor_id: int | None) -> AccountLine:
    """Forgive `amount` (> 0, at most the balance; a note is required) and commit."""
    _check_amount(amount)
    _check_note(note)
    lock_account(session, user_id)
    owed = balance(session, user_id)
    if amount > owed:
        session.rollback()
        raise Conflict(f"The waiver ({amount}) is more than the balance ({owed}).",
                       code="waiver_exceeds_balance")
    return _record(session, user_id, "waiver", -amount, note, actor_id, "account.waived", owed)


def charge(session: Session, *, user_id: int, amount: int, note: str, actor_id: int | None) -> AccountLine:
    """Charge `amount` (> 0; a note is required: a lost book, a card) and commit."""
    _check_amount(amount)
    _check_note(note)
    lock_account(session, user_id)
    owed = balance(session, user_id)
    return _record(session, user_id, "manual", amount, note, actor_id, "account.charged", owed)


def _record(session: Session, user_id: int, kind: str, amount: int, note: str | None,
            actor_id: int | None, action: str, owed: int) -> AccountLine:
    line = AccountLine(user_id=user_id, kind=kind, amount=amount, note=note, created_by=actor_id)
    session.add(line)
    session.flush()
    record(session, actor_id=actor_id, action=action, object_type="account", object_id=user_id,
           data={"line_id": line.id, "kind": kind, "amount": amount, "note": note,
                 "balance_before": owed, "balance_after": owed + amount})
    session.commit()
    return line
