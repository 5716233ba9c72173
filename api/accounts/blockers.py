"""The account side of "may this member borrow, renew or place a hold?".

Circulation (borrow, renew, holds, GET /loans/check) calls `account_blockers` with the
effective rule it resolved; it reads without locking, so call it after lock_user when
the answer guards a write (a payment and every one-loan fine write take the same lock,
so the balance cannot move under the check; the nightly fines-accrual batches do not,
and can only bring a fine to its formula's amount for the day).
"""

from sqlalchemy.orm import Session

from api.accounts.service import balance, currency
from api.blocks.service import active_blocks
from api.clock import utcnow
from api.models import User
from api.rules.resolve import EffectiveRule


def account_blockers(session: Session, user: User, *, rule: EffectiveRule) -> list[tuple[str, str]]:
    """[(code, detail)]: `balance_limit` when the balance is above the rule's max_balance,
    `patron_blocked` while an admin block is active (one entry naming every reason)."""
    blockers = []
    owed = balance(session, user.id)
    if owed > rule.max_balance:
        blockers.append(("balance_limit", f"The member owes {owed} {currency()} (minor units), more than "
                                          f"the limit of {rule.max_balance}."))
    blocks = active_blocks(session, user.id, now=utcnow())
    if blocks:
        reasons = "; ".join(
            b.reason + (f" (until {b.expires_at.isoformat()})" if b.expires_at else "") for b in blocks)
        blockers.append(("patron_blocked", f"The member is blocked: {reasons}."))
    return blockers
