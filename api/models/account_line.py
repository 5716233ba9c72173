from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

CHARGE_KINDS = ("overdue", "manual")
CREDIT_KINDS = ("payment", "waiver")
ACCOUNT_LINE_KINDS = CHARGE_KINDS + CREDIT_KINDS


class AccountLine(db.Model):
    """One line of a member's ledger, in minor units of CURRENCY: charges positive,
    credits negative, so the balance is SUM(amount)."""

    __tablename__ = "account_lines"
    __table_args__ = (
        # The database refuses a credit written as a charge (or an unknown kind), whatever
        # the code path. An overdue line may be 0 (within grace, or waived by a rule change).
        CheckConstraint(
            "(kind = 'overdue' AND amount >= 0) OR (kind = 'manual' AND amount > 0)"
            " OR (kind IN ('payment', 'waiver') AND amount < 0)",
            name="ck_account_lines_kind_sign"),
        # One overdue line per loan: the accrual's upsert target (ON CONFLICT ... WHERE).
        Index("uq_account_lines_overdue_loan", "loan_id", unique=True,
              postgresql_where=text("kind = 'overdue'"), sqlite_where=text("kind = 'overdue'")),
        # A member's balance (SUM) and their lines, newest first.
        Index("ix_account_lines_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    # The fine stays on the account when its loan record is deleted.
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The admin who recorded it; null for the accrual job (and once the admin is deleted).
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
