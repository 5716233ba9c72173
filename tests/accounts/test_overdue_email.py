"""Overdue emails state the fine to date (SPEC), read from the loan's overdue line when
the worker sends them; a library that charges no fines sends what it always sent."""

import uuid

from api.extensions import db
from api.models import Book, Loan
from tests.accounts.conftest import overdue_amounts
from worker.fines import accrue_fines
from worker.jobs import loan_notices
from worker.mail import claim_batch, deliver

TODAY_BODY = (
    'Hello {username},\n\n"{title}" was due on {due} and is now overdue.\n'
    "Please return it as soon as you can. While a loan is overdue you cannot borrow\n"
    "or renew books.\n\nThe Library\n")


def send_overdue_notices(worker_app) -> list[str]:
    """The morning as beat runs it (fines first, then the overdue check), then delivery
    to the test SMTP server; the bodies it received."""
    with worker_app.app_context():
        accrue_fines(str(uuid.uuid4()))
        loan_notices("no-run", kind="overdue")
        claim_ts, rows = claim_batch(10)
        assert deliver(rows, claim_ts)["sent"] == len(rows)


def expected_body(worker_app, loan_id: int, username: str) -> str:
    with worker_app.app_context():
        loan = db.session.get(Loan, loan_id)
        title = db.session.get(Book, loan.book_id).title
        return TODAY_BODY.format(username=username, title=title,
                                 due=loan.due_at.strftime("%Y-%m-%d %H:%M UTC"))


def body_of(message) -> str:
    return message.get_payload(decode=True).decode().replace("\r\n", "\n")  # SMTP line ends


def test_the_email_states_the_fine_to_date(worker_app, inbox, fines, member, add_loan):
    fines(per_day=25, grace=0, cap=1000, apps=[worker_app])
    loan_id = add_loan(member.id, due_days_ago=3)
    send_overdue_notices(worker_app)
    assert overdue_amounts(worker_app) == {loan_id: 75}
    [message] = inbox.messages
    today = expected_body(worker_app, loan_id, member.username)
    first, rest = today.split("Please return", 1)
    assert body_of(message) == first + "The fine on it so far is 0.75 USD.\nPlease return" + rest


def test_without_fines_the_email_is_unchanged(worker_app, inbox, fines, member, add_loan):
    # FINE_PER_DAY=0 (the default), and a fine within the grace: no line, or a line of 0.
    fines(per_day=0, apps=[worker_app])
    unfined = add_loan(member.id, due_days_ago=3)
    send_overdue_notices(worker_app)
    fines(per_day=10, grace=5, apps=[worker_app])
    in_grace = add_loan(member.id, due_days_ago=2)
    send_overdue_notices(worker_app)
    assert len(inbox.messages) == 2
    assert [body_of(m) for m in inbox.messages] == [expected_body(worker_app, loan_id, member.username)
                                                    for loan_id in (unfined, in_grace)]
