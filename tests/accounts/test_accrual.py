"""fines-accrual and settle_fine: one overdue line per loan, kept at the formula's amount."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from api import clock
from api.accounts import service
from api.accounts.fines import settle_fine
from api.celery_setup import JOB_TASKS, SCHEDULE
from api.days.service import library_date
from api.extensions import db
from api.models import AccountLine, ClosedDate, Loan
from tests.accounts.conftest import overdue_amounts
from tests.helpers import create_user
from tests.worker.fixtures import wait_for
from tests.worker.helpers import task_run
from worker.fines import accrue_fines


def accrue(app) -> dict:
    with app.app_context():
        return accrue_fines(str(uuid.uuid4()))


def test_each_open_overdue_loan_gets_one_line_at_the_formula(app, fines, member, add_loan, client):
    fines(per_day=25, grace=1, cap=100, batch=2)
    three = add_loan(member.id, due_days_ago=3)          # 3 days > grace 1: 75
    one = add_loan(member.id, due_days_ago=1)            # within grace: 0, no line
    ten = add_loan(member.id, due_days_ago=10)           # 250 capped at 100
    add_loan(member.id, due_days_ago=-2)                 # not due yet
    add_loan(member.id, due_days_ago=5, returned=True)   # returned: settled at return, not here
    assert accrue(app) == {"scanned": 3, "charged": 2, "changed": 2}
    assert overdue_amounts(app) == {three: 75, ten: 100}
    assert one not in overdue_amounts(app)
    lines = client.get("/users/me/account/lines", headers=member.headers).get_json()["items"]
    assert {(x["kind"], x["loan_id"], x["amount"], x["created_by"]) for x in lines} == {
        ("overdue", three, 75, None), ("overdue", ten, 100, None)}
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 175


def test_running_twice_a_day_changes_nothing_and_the_next_day_adds_a_day(app, fines, member, add_loan):
    fines(per_day=10, batch=1)
    loans = [add_loan(member.id, due_days_ago=d) for d in (2, 4)]
    first = accrue(app)
    assert first["changed"] == 2
    assert accrue(app) == {"scanned": 2, "charged": 2, "changed": 0}
    assert overdue_amounts(app) == {loans[0]: 20, loans[1]: 40}
    clock.advance(timedelta(days=1))
    assert accrue(app)["changed"] == 2
    assert overdue_amounts(app) == {loans[0]: 30, loans[1]: 50}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccountLine)) == 2


def test_no_fines_configured_writes_no_rows(app, member, add_loan):
    add_loan(member.id, due_days_ago=30)  # FINE_PER_DAY defaults to 0
    assert accrue(app) == {"scanned": 1, "charged": 0, "changed": 0}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccountLine)) == 0


def test_a_fine_that_drops_is_brought_down(app, fines, member, add_loan):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=5)
    accrue(app)
    with app.app_context():  # an admin moves the due date later: fewer chargeable days
        db.session.execute(update(Loan).where(Loan.id == loan_id)
                           .values(due_at=clock.utcnow() - timedelta(days=2)))
        db.session.commit()
    accrue(app)
    assert overdue_amounts(app) == {loan_id: 20}
    fines(per_day=0)
    assert accrue(app)["changed"] == 1
    assert overdue_amounts(app) == {loan_id: 0}


def test_settle_fine_counts_to_the_return_day_even_when_backdated(app, fines, member, add_loan):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=6)
    accrue(app)
    assert overdue_amounts(app) == {loan_id: 60}
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        returned_at = clock.utcnow() - timedelta(days=4)  # a book-drop return, two days late
        loan.returned_at = returned_at
        db.session.flush()
        assert settle_fine(db.session, loan, returned_at=returned_at) == 20
        db.session.commit()
    assert overdue_amounts(app) == {loan_id: 20}
    clock.advance(timedelta(days=3))
    accrue(app)  # the returned loan is never touched again
    assert overdue_amounts(app) == {loan_id: 20}


def test_settle_fine_on_time_or_within_grace_leaves_no_line(app, fines, member, add_loan):
    fines(per_day=10, grace=3)
    late, on_time = add_loan(member.id, due_days_ago=2), add_loan(member.id, due_days_ago=-1)
    with app.app_context():
        for loan_id in (late, on_time):
            loan = db.session.get(Loan, loan_id)
            assert settle_fine(db.session, loan, returned_at=clock.utcnow()) == 0
        db.session.commit()
    assert overdue_amounts(app) == {}


def test_line_survives_its_loan_record_and_goes_with_its_member(app, fines, member, add_loan):
    fines(per_day=10)
    loan_id = add_loan(member.id, due_days_ago=3)
    accrue(app)
    with app.app_context():
        db.session.delete(db.session.get(Loan, loan_id))
        db.session.commit()
        line = db.session.scalars(select(AccountLine)).one()
        assert (line.loan_id, line.amount) == (None, 30)
        assert service.balance(db.session, member.id) == 30


def test_fines_accrual_is_scheduled_daily_and_triggerable(app):
    assert SCHEDULE["fines-accrual"] == ("FINES_ACCRUAL_CRON", JOB_TASKS["fines-accrual"])
    assert len(app.config["FINES_ACCRUAL_CRON"].split()) == 5


@pytest.mark.worker
def test_admin_triggered_run_through_a_real_worker(worker_app, celery_worker, admin, fines, add_loan):
    fines(per_day=15, batch=2, apps=[worker_app])
    client = worker_app.test_client()  # its Celery uses the worker's broker
    borrower = create_user(worker_app, "late")
    loan_ids = [add_loan(borrower.id, due_days_ago=d) for d in (1, 2, 3)]
    runs = []
    for _ in range(2):
        response = client.post("/admin/tasks/fines-accrual", headers=admin.headers)
        assert response.status_code == 202
        run_id = response.get_json()["task_id"]
        done = wait_for(lambda: (r := task_run(worker_app, run_id)) and r.state in ("succeeded", "failed")
                        and r, message="fines-accrual to finish")
        assert done.state == "succeeded", done.error
        runs.append(done)
    assert runs[0].result == {"scanned": 3, "charged": 3, "changed": 3}
    assert runs[1].result == {"scanned": 3, "charged": 3, "changed": 0}
    assert (runs[0].progress_current, runs[0].progress_total, runs[0].requested_by) == (3, 3, admin.id)
    assert overdue_amounts(worker_app) == dict(zip(loan_ids, (15, 30, 45), strict=True))


def test_the_readme_worked_example(app, fines, client, admin, member, add_loan):
    fines(per_day=25, grace=2, cap=500, max_balance=500)
    loan_id = add_loan(member.id, due_days_ago=5)
    accrue(app)
    assert client.get("/users/me/account", headers=member.headers).get_json() == {
        "currency": "USD", "balance": 125}
    paid = post_money(client, admin, member.id, "payments", amount=100, note="cash at the desk")
    assert paid.status_code == 201 and paid.get_json()["amount"] == -100
    refused = post_money(client, admin, member.id, "payments", amount=50)
    assert refused.status_code == 409 and refused.get_json()["code"] == "payment_exceeds_balance"
    assert refused.get_json()["detail"] == "The payment (50) is more than the balance (25)."
    waived = post_money(client, admin, member.id, "waivers", amount=25, note="first late return")
    assert waived.status_code == 201
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 0
    assert overdue_amounts(app) == {loan_id: 125}


def post_money(client, admin, user_id, what, **body):
    return client.post(f"/users/{user_id}/account/{what}", json=body, headers=admin.headers)


def test_moving_the_due_date_reprices_the_line_at_once(app, fines, member, admin, add_loan, client):
    # SPEC: the line's amount is counted from the due day. Once staff move the due date
    # later the loan may no longer be overdue, and fines-accrual never visits it again.
    fines(per_day=100)
    loan = add_loan(member.id, due_days_ago=4)
    accrue(app)
    assert overdue_amounts(app) == {loan: 400}

    def move_due(days: int) -> None:
        due_at = (clock.utcnow() + timedelta(days=days)).isoformat()
        response = client.patch(f"/loans/{loan}", json={"due_at": due_at}, headers=admin.headers)
        assert response.status_code == 200, response.get_json()

    move_due(-2)
    assert overdue_amounts(app) == {loan: 200}
    move_due(7)
    assert overdue_amounts(app) == {loan: 0}  # brought down, never deleted
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 0
    assert accrue(app)["scanned"] == 0 and overdue_amounts(app) == {loan: 0}


def test_closing_a_charged_past_day_reprices_its_loans(app, fines, member, add_loan, client):
    # A snow day recorded the next morning: the loan due on it moves to today, so it is
    # no longer overdue, and its fine (charged by the night's accrual) must go with it —
    # fines-accrual never visits a loan that is not overdue.
    from worker.days import reschedule_due_on

    fines(per_day=10)
    loan, other = add_loan(member.id, due_days_ago=1), add_loan(member.id, due_days_ago=3)
    accrue(app)
    assert overdue_amounts(app) == {loan: 10, other: 30}
    with app.app_context():
        yesterday = library_date(clock.utcnow()) - timedelta(days=1)
        db.session.add(ClosedDate(date=yesterday, reason="Snow"))
        db.session.commit()
        result = reschedule_due_on(str(uuid.uuid4()), day=yesterday)
    assert (result["moved"], result["repriced"]) == (1, 1)
    assert overdue_amounts(app) == {loan: 0, other: 30}
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 30
    accrue(app)  # the loan not moved loses the closed day from its count the next night
    assert overdue_amounts(app) == {loan: 0, other: 20}
