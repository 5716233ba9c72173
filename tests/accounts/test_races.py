"""Money under concurrency, on PostgreSQL: payments cannot overdraw, accrual runs do not
double up, and a return's settled fine is never overwritten by a run counting to today."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from api import clock
from api.accounts import service
from api.accounts.fines import settle_fine
from api.errors import Conflict
from api.extensions import db
from api.models import Loan
from tests.accounts.conftest import overdue_amounts
from tests.invariants.race import pinned as race_pinned
from tests.invariants.race import race
from worker.fines import accrue_fines

pytestmark = pytest.mark.postgres


def balance(app, user_id) -> int:
    with app.app_context():
        return service.balance(db.session, user_id)


def test_concurrent_payments_never_overdraw(app, admin, member):
    with app.app_context():
        service.charge(db.session, user_id=member.id, amount=100, note="lost book", actor_id=admin.id)

    def pay():
        return service.pay(db.session, user_id=member.id, amount=40, actor_id=admin.id).id

    results = race(app, *[pay] * 5)
    paid = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(paid) == 2 and len(refused) == 3
    assert {r.code for r in refused} == {"payment_exceeds_balance"}
    assert balance(app, member.id) == 20


def test_payments_racing_accrual_runs(app, fines, admin, member, add_loan):
    fines(per_day=10, batch=2)
    loans = [add_loan(member.id, due_days_ago=d) for d in (1, 2, 3, 4, 5)]
    with app.app_context():
        service.charge(db.session, user_id=member.id, amount=100, note="card", actor_id=admin.id)

    def accrual():
        return accrue_fines(str(uuid.uuid4()))

    def pay():
        return service.pay(db.session, user_id=member.id, amount=50, actor_id=admin.id).id

    results = race(app, accrual, pay, accrual, pay)
    # Every payment fits the 100 charged whatever the order; the two runs write each
    # line once between them (the second finds it at its amount).
    assert all(isinstance(r, int) for r in results[1::2]), results
    assert results[0]["changed"] + results[2]["changed"] == 5
    assert overdue_amounts(app) == dict(zip(loans, (10, 20, 30, 40, 50), strict=True))
    assert balance(app, member.id) == 150 + 100 - 2 * 50


def _return_backdated(loan_id: int, days_ago: int) -> int:
    returned_at = clock.utcnow() - timedelta(days=days_ago)
    db.session.execute(update(Loan).where(Loan.id == loan_id).values(returned_at=returned_at))
    amount = settle_fine(db.session, db.session.get(Loan, loan_id), returned_at=returned_at)
    db.session.commit()
    return amount


def pinned(app, first, second) -> tuple:
    """first() runs to its write to account_lines, second() until it waits on a lock,
    then both go on (as tests/invariants/test_lock_order.py pins circulation)."""
    return race_pinned(app, first, second, table="account_lines")


@pytest.mark.parametrize("days_back, owed", [(4, 20), (6, 0)])
def test_a_run_that_read_first_does_not_overwrite_a_backdated_return(
        app, fines, member, add_loan, days_back, owed):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=6)
    # The run holds the accrual lock, waiting to write the line (an insert: none existed
    # when either side read); the return then waits for that lock in settle_fine, and
    # writes its line after the run's, even when it owes nothing (returned on the due day).
    run_out, ret_out = pinned(app, lambda: accrue_fines(str(uuid.uuid4())),
                              lambda: _return_backdated(loan_id, days_back))
    assert run_out["changed"] == 1 and ret_out == owed
    assert overdue_amounts(app) == {loan_id: owed}


def test_a_run_that_comes_second_skips_the_returned_loan(app, fines, member, add_loan):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=6)
    # The return holds the accrual lock shared and waits to write the line; the run's
    # batch then waits for that lock, and finds the loan returned.
    ret_out, run_out = pinned(app, lambda: _return_backdated(loan_id, 4),
                              lambda: accrue_fines(str(uuid.uuid4())))
    assert ret_out == 20 and run_out["scanned"] == 0
    assert overdue_amounts(app) == {loan_id: 20}


def test_a_payment_waits_for_a_fine_being_brought_down(app, fines, admin, member, add_loan):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=10)
    with app.app_context():
        accrue_fines(str(uuid.uuid4()))
    assert balance(app, member.id) == 100

    def pay_it_all():
        return service.pay(db.session, user_id=member.id, amount=100, actor_id=admin.id).id

    # A book-drop check-in backdated to two days late (the fine comes down to 20) holds
    # the member's row while it writes; a payment of the old 100 waits for it, then
    # sees 20. Before, the payment read the balance unlocked by the fine write: -80.
    ret_out, pay_out = pinned(app, lambda: _return_backdated(loan_id, 8), pay_it_all)
    assert ret_out == 20
    assert isinstance(pay_out, Conflict) and pay_out.code == "payment_exceeds_balance", pay_out
    assert balance(app, member.id) == 20
