"""Fixtures for fines, accounts and blocks: fine settings and loans made directly."""

from datetime import date, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import Date, literal, select, update

from api.accounts.pricing import library_day, open_days_sql
from api.clock import utcnow
from api.extensions import db
from api.models import AccountLine, CirculationRule, Loan
from api.models.types import UTCDateTime
from tests.helpers import take_item
from tests.worker.fixtures import (  # noqa: F401
    broker_url,
    celery_worker,
    clean_broker,
    inbox,
    worker_app,
)

FINE_SETTINGS = ("FINE_PER_DAY", "FINE_GRACE_DAYS", "MAX_FINE", "MAX_BALANCE", "BULK_BATCH_SIZE",
                 "LIBRARY_TIMEZONE")


@pytest.fixture
def fines(app):
    """fines(per_day=, grace=, cap=, max_balance=, batch=, apps=) sets the `*`/`*` fine
    values (read by api.rules.resolve) on the test app (and any extra app) for one test."""
    touched = []

    def configure(per_day=10, grace=0, cap=1000, max_balance=500, batch=None, apps=(), tz=None):
        for target in (app, *apps):
            touched.append((target, {k: target.config.get(k) for k in FINE_SETTINGS}))
            target.config.update(FINE_PER_DAY=per_day, FINE_GRACE_DAYS=grace, MAX_FINE=cap,
                                 MAX_BALANCE=max_balance)
            if batch is not None:
                target.config["BULK_BATCH_SIZE"] = batch
            if tz is not None:
                target.config["LIBRARY_TIMEZONE"] = tz
        # The `*`/`*` rule is seeded from these settings on first use; once seeded it is
        # what api.rules.resolve reads, so a later call must change the row as well.
        with app.app_context():
            db.session.execute(update(CirculationRule).where(
                CirculationRule.patron_category == "*", CirculationRule.item_type == "*").values(
                fine_per_day=per_day, fine_grace_days=grace, max_fine=cap, max_balance=max_balance))
            db.session.commit()

    yield configure
    for target, saved in reversed(touched):
        for key, value in saved.items():
            if value is None:
                target.config.pop(key, None)
            else:
                target.config[key] = value


@pytest.fixture
def add_loan(app, make_book):
    """add_loan(user_id, due_days_ago=, returned=False, item_type=None) -> loan id, written
    directly; with an item_type, the loan is of an item of that type."""

    def add(user_id: int, *, due_days_ago: float, returned: bool = False, book_id: int | None = None,
            item_type: str | None = None) -> int:
        now = utcnow()
        if item_type is not None:
            book_id = make_book(copies=1, item_type=item_type)
        with app.app_context():
            loan = Loan(user_id=user_id, book_id=book_id or make_book(copies=1),
                        item_id=take_item(book_id) if item_type is not None else None,
                        borrowed_at=now - timedelta(days=30), due_at=now - timedelta(days=due_days_ago),
                        returned_at=now if returned else None)
            db.session.add(loan)
            db.session.commit()
            return loan.id

    return add


def sql_days(due_at: datetime, end: date) -> int:
    """Chargeable days of a loan due at `due_at`, counted to library day `end` by the
    SQL the accrual and settle_fine run (api.accounts.pricing)."""
    zone = current_app.config.get("LIBRARY_TIMEZONE", "UTC")
    due_day = library_day(literal(due_at, UTCDateTime()), literal(zone))
    return db.session.scalar(select(open_days_sql(due_day, literal(end, Date()))))


def overdue_amounts(app) -> dict[int, int]:
    """{loan_id: amount} of every overdue line."""
    with app.app_context():
        rows = db.session.execute(db.select(AccountLine.loan_id, AccountLine.amount)
                                  .where(AccountLine.kind == "overdue")).all()
        return dict(rows)
