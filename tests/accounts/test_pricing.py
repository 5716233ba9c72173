"""The fine priced by the database: each SQL piece agrees with its Python definition
(fine_amount, open_days_between, effective_rule), and every loan is priced with the
rule of its member's category and its item's type, in accrual and at return."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import delete, literal, select, update

from api import clock
from api.accounts.currency import format_amount
from api.accounts.fines import fine_amount, settle_fine
from api.accounts.pricing import fine_sql
from api.days.service import library_date, open_days_between
from api.extensions import db
from api.models import CirculationRule, ClosedDate, ClosedWeekday, Item, Loan, User
from api.rules.resolve import effective_rule
from tests.accounts.conftest import overdue_amounts, sql_days
from worker.fines import accrue_fines


def test_fine_sql_is_fine_amount(app_ctx):
    combos = list(product((0, 1, 25, 100_000_000), (0, 2), (0, 40, 100_000_000), (0, 1, 2, 3, 7, 5000)))
    columns = [fine_sql(fine_per_day=literal(p), grace_days=literal(g), max_fine=literal(c),
                        chargeable_days=literal(d)) for p, g, c, d in combos]
    in_sql = db.session.execute(select(*columns)).one()
    assert list(in_sql) == [fine_amount(fine_per_day=p, grace_days=g, max_fine=c, chargeable_days=d)
                            for p, g, c, d in combos]


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/New_York"])
def test_sql_day_count_is_open_days_between(app, app_ctx, zone):
    rng = random.Random(zone)
    saved = app.config["LIBRARY_TIMEZONE"]
    app.config["LIBRARY_TIMEZONE"] = zone
    try:
        for weekdays in (set(), {7}, {6, 7}, set(rng.sample(range(1, 8), 3))):
            db.session.execute(delete(ClosedWeekday))
            db.session.execute(delete(ClosedDate))
            db.session.add_all(ClosedWeekday(weekday=w) for w in weekdays)
            db.session.add_all(ClosedDate(date=d) for d in
                               {date(2026, 1, 1) + timedelta(days=rng.randrange(365)) for _ in range(20)})
            db.session.commit()
            for _ in range(25):
                due = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(365 * 24 * 60))
                end = library_date(due) + timedelta(days=rng.randrange(-3, 60))
                assert sql_days(due, end) == open_days_between(db.session, library_date(due), end), (
                    weekdays, due, end)
    finally:
        app.config["LIBRARY_TIMEZONE"] = saved


def rules(app, *rows: dict) -> None:
    with app.app_context():
        db.session.add_all(CirculationRule(**row) for row in rows)
        db.session.commit()


@pytest.fixture
def kinds(app, fines, member, other_member, add_loan):
    """Ten a day after no grace by default; children pay 20 a day; DVDs are capped at 40;
    a child's DVD costs 50 a day after 2 days of grace, capped at 120."""
    fines(per_day=10, grace=0, cap=1000)
    with app.app_context():
        db.session.execute(update(User).where(User.id == member.id).values(category="child"))
        db.session.commit()
    rules(app, {"patron_category": "child", "item_type": "*", "fine_per_day": 20},
          {"patron_category": "*", "item_type": "dvd", "max_fine": 40},
          {"patron_category": "child", "item_type": "dvd", "fine_per_day": 50, "fine_grace_days": 2,
           "max_fine": 120})
    child, adult = member.id, other_member.id
    return {
        "child dvd": add_loan(child, due_days_ago=5, item_type="dvd"),          # 5 x 50, capped: 120
        "child dvd in grace": add_loan(child, due_days_ago=2, item_type="dvd"),  # within 2: 0
        "child book": add_loan(child, due_days_ago=5, item_type="book"),        # 5 x 20: 100
        "child, no item": add_loan(child, due_days_ago=5),                       # a book: 100
        "adult dvd": add_loan(adult, due_days_ago=5, item_type="dvd"),           # 5 x 10, capped: 40
        "adult book": add_loan(adult, due_days_ago=2, item_type="book"),         # 2 x 10: 20
    }


def python_fine(loan_id: int, end: date) -> int:
    """What the Python definitions say the loan's fine is: the reference."""
    loan = db.session.get(Loan, loan_id)
    category = db.session.get(User, loan.user_id).category
    item_type = "book" if loan.item_id is None else db.session.get(Item, loan.item_id).item_type
    rule = effective_rule(db.session, patron_category=category, item_type=item_type)
    days = open_days_between(db.session, library_date(loan.due_at), end)
    return fine_amount(fine_per_day=rule.fine_per_day, grace_days=rule.fine_grace_days,
                       max_fine=rule.max_fine, chargeable_days=days)


def test_accrual_prices_each_loan_with_its_category_and_item_type(app, kinds):
    with app.app_context():
        result = accrue_fines(str(uuid.uuid4()))
        today = library_date(clock.utcnow())
        reference = {loan_id: python_fine(loan_id, today) for loan_id in kinds.values()}
    assert result == {"scanned": 6, "charged": 5, "changed": 5}
    expected = {"child dvd": 120, "child book": 100, "child, no item": 100, "adult dvd": 40, "adult book": 20}
    assert overdue_amounts(app) == {kinds[name]: amount for name, amount in expected.items()}
    assert overdue_amounts(app) == {loan_id: fine for loan_id, fine in reference.items() if fine}


def test_settle_prices_the_return_with_the_same_rule(app, kinds):
    with app.app_context():
        accrue_fines(str(uuid.uuid4()))
        settled = {}
        for name in ("child dvd", "child book", "adult dvd"):
            loan = db.session.get(Loan, kinds[name])
            # Returned through the book drop three days ago: two days late.
            loan.returned_at = clock.utcnow() - timedelta(days=3)
            db.session.flush()
            settled[name] = settle_fine(db.session, loan, returned_at=loan.returned_at)
            assert settled[name] == python_fine(loan.id, library_date(loan.returned_at))
        db.session.commit()
    # Child's DVD: 2 days is within its rule's grace; child's book: 2 x 20; adult's DVD: 2 x 10.
    assert settled == {"child dvd": 0, "child book": 40, "adult dvd": 20}
    amounts = overdue_amounts(app)
    assert [amounts[kinds[name]] for name in settled] == [0, 40, 20]
    assert amounts[kinds["child, no item"]] == 100  # not returned: untouched


@pytest.mark.parametrize("amount, currency, text", [
    (125, "USD", "1.25 USD"), (5, "EUR", "0.05 EUR"), (125, "JPY", "125 JPY"), (1250, "KWD", "1.250 KWD"),
    (-30, "USD", "-0.30 USD")])
def test_amounts_read_in_major_units(amount, currency, text):
    assert format_amount(amount, currency) == text
