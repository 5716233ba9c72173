"""Why a borrow or a renewal would be refused, and what an admin's override may lift.

`borrow_blockers` is the one list of reasons for both `borrow` (which calls it under
its row locks and refuses with it) and GET /loans/check (which calls it without locks
and only reports it), so the check and the borrow cannot disagree about a rule.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from api.accounts.blockers import account_blockers
from api.audit.service import record
from api.circulation.common import patron_category, refuse, rule_for
from api.circulation.items import first_available
from api.errors import NotFound
from api.models import Book, Hold, Item, Loan, User
from api.rules.resolve import EffectiveRule, loan_limits
from api.transaction import rollback_and_raise

# SPEC "Refusals": what `override_reason` lifts. Everything else (no copy, the book
# already on loan, an inactive account, an item not on the shelf, a returned or
# overdue loan) stays a refusal.
OVERRIDABLE = frozenset({"loan_limit", "has_overdue", "balance_limit", "patron_blocked",
                         "renewal_limit", "reserved_for_other"})

Blocker = tuple[str, str]  # (code, detail)


@dataclass
class BorrowAssessment:
    item: Item | None  # the item the loan would take (None: no copy is free)
    kept: Hold | None  # the member's own ready hold on the book
    rule: EffectiveRule  # for the member's category and that item's type
    blockers: list[Blocker]


def borrow_blockers(session: Session, user: User, book: Book, *, scanned: Item | None,
                    now: datetime) -> BorrowAssessment:
    """Every reason lending `book` (or the `scanned` item of it) to `user` now would be
    refused, in a stable order, with the item the loan would take. Reads only; under
    the caller's user and book locks the answer stays true until commit."""
    kept = session.scalar(select(Hold).where(Hold.user_id == user.id, Hold.book_id == book.id,
                                             Hold.status == "ready")
                          .execution_options(populate_existing=True))
    if scanned is not None:
        # As it is now (under the book's lock, when borrowing): staff may have deleted it
        # since it was looked up by its barcode.
        item = session.get(Item, scanned.id, populate_existing=True)
        if item is None:
            rollback_and_raise(session, NotFound("No item has this barcode."))
    elif kept is not None and kept.item_id is not None:
        item = session.get(Item, kept.item_id, populate_existing=True)
    else:
        item = first_available(session, book.id)
    item_type = item.item_type if item is not None else "book"
    rule = rule_for(session, user, item_type)
    open_loans = session.execute(
        select(Loan.book_id, Loan.due_at, Item.item_type).outerjoin(Item, Item.id == Loan.item_id)
        .where(Loan.user_id == user.id, Loan.returned_at.is_(None))).all()

    blockers = []
    if not user.is_active:
        blockers.append(("account_inactive", "This member's account is deactivated."))
    if any(row.book_id == book.id for row in open_loans):
        blockers.append(("already_borrowed", "The member already has this book on loan."))
    if any(row.due_at < now for row in open_loans):
        blockers.append(("has_overdue", "The member has an overdue loan; return it before borrowing more."))
    limits = loan_limits(session, patron_category=patron_category(user), item_type=item_type)
    if len(open_loans) >= limits.overall:
        blockers.append(("loan_limit", f"The member has {len(open_loans)} loans, the most allowed is "
                                       f"{limits.overall}."))
    of_type = sum(row.item_type == item_type for row in open_loans)
    if limits.of_type is not None and of_type >= limits.of_type:
        blockers.append(("loan_limit", f"The member has {of_type} loans of type {item_type}, "
                                       f"the most allowed is {limits.of_type}."))
    mine = kept is not None and item is not None and kept.item_id == item.id
    if item is None:
        blockers.append(("no_copy_available",
                         "No copy of this book is free; place a hold to join the queue."))
    elif item.status == "on_hold_shelf" and not mine:
        blockers.append(("reserved_for_other", "This item is kept on the hold shelf for another member."))
    elif item.status not in ("available", "on_hold_shelf"):
        blockers.append(("item_unavailable", f"This item is {item.status.replace('_', ' ')}."))
    blockers += account_blockers(session, user, rule=rule)
    return BorrowAssessment(item=item, kept=kept, rule=rule, blockers=blockers)


def renew_blockers(session: Session, loan: Loan, member: User, rule: EffectiveRule, *,
                   now: datetime) -> list[Blocker]:
    """Every reason renewing `loan` (as read now) would be refused."""
    if loan.returned_at is not None:
        return [("loan_returned", "This loan has been returned.")]
    blockers = []
    if not member.is_active:  # as for a borrow: no admin override lifts it (SPEC)
        blockers.append(("account_inactive", "This member's account is deactivated."))
    if loan.due_at < now:
        blockers.append(("loan_overdue", "This loan is overdue; return it instead."))
    if loan.renewals >= rule.max_renewals:
        blockers.append(("renewal_limit", f"This loan has been renewed {loan.renewals} times, the most "
                                          "allowed."))
    held = session.scalar(select(func.count()).select_from(Hold).where(and_(
        Hold.book_id == loan.book_id, Hold.user_id != loan.user_id, Hold.status.in_(("waiting", "ready")))))
    if held:
        blockers.append(("reserved_for_other", "Another member is waiting for this book; it cannot be "
                                               "renewed."))
    return blockers + account_blockers(session, member, rule=rule)


def first_refusal(blockers: list[Blocker], *, override_reason: str | None) -> Blocker | None:
    """The blocker to refuse with: the first one no override lifts, else (without an
    override) the first; None when the action may go ahead."""
    hard = [b for b in blockers if b[0] not in OVERRIDABLE]
    if hard:
        return hard[0]
    return blockers[0] if blockers and override_reason is None else None


def enforce(session: Session, blockers: list[Blocker], *, override_reason: str | None) -> list[str]:
    """Refuse (409, rolled back) unless every blocker is lifted by `override_reason`;
    returns the codes overridden ([] when nothing stood in the way)."""
    refusal = first_refusal(blockers, override_reason=override_reason)
    if refusal is not None:
        refuse(session, *refusal)
    return list(dict.fromkeys(code for code, _ in blockers))


def record_override(session: Session, *, actor_id: int | None, loan_id: int, on: str, reason: str,
                    codes: list[str], **data) -> None:
    """The audit entry of an override, in the transaction of the action it allowed."""
    record(session, actor_id=actor_id, action="loan.override", object_type="loan", object_id=loan_id,
           data={"on": on, "reason": reason, "codes": codes, **data})
