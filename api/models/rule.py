from sqlalchemy import CheckConstraint, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from api.extensions import db

# `*` means "any" for either code; the `*`/`*` row is the library-wide default.
ANY = "*"
RULE_VALUES = ("loan_days", "renewal_days", "max_renewals", "max_loans", "hold_pickup_days",
               "fine_per_day", "fine_grace_days", "max_fine", "max_balance")


class CirculationRule(db.Model):
    """Loan rules for a (patron category, item type) pair; a null value inherits
    (see api.rules.resolve for the order)."""

    __tablename__ = "circulation_rules"
    # The unique pair is also the index effective_rule's lookup uses.
    __table_args__ = (
        UniqueConstraint("patron_category", "item_type", name="uq_rules_pair"),
        # Backstop for the API's refusal: the default row answers every value.
        CheckConstraint("NOT (patron_category = '*' AND item_type = '*') OR ("
                        + " AND ".join(f"{name} IS NOT NULL" for name in RULE_VALUES) + ")",
                        name="default_rule_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_category: Mapped[str] = mapped_column(String(32))
    item_type: Mapped[str] = mapped_column(String(32))
    loan_days: Mapped[int | None] = mapped_column(Integer)
    renewal_days: Mapped[int | None] = mapped_column(Integer)
    max_renewals: Mapped[int | None] = mapped_column(Integer)
    max_loans: Mapped[int | None] = mapped_column(Integer)
    hold_pickup_days: Mapped[int | None] = mapped_column(Integer)
    fine_per_day: Mapped[int | None] = mapped_column(Integer)
    fine_grace_days: Mapped[int | None] = mapped_column(Integer)
    max_fine: Mapped[int | None] = mapped_column(Integer)
    max_balance: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_default(self) -> bool:
        return self.patron_category == ANY and self.item_type == ANY

    def values(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in RULE_VALUES}


@event.listens_for(CirculationRule.__table__, "after_create")
def _seed_default_rule(table, conn, **kw):
    """create_all seeds the `*`/`*` row as the migrations do, so it always exists."""
    from api.rules.resolve import default_rule_insert  # resolve imports this module

    conn.execute(default_rule_insert())
