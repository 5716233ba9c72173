"""A hypothesis state machine over circulation: random sequences of borrow, return,
renew, hold, suspend and resume, cancel, expiry, copies changes and deletions, and the
desk's barcode borrows, check-ins and item status changes, driven through the same
domain functions the views call, with every invariant in tests/invariants/checks.py
checked in SQL after every step, and a suspended hold never served before it resumes.

Besides "nothing drifts", each rule checks that the domain says yes whenever the
spec's rules (restated in expect.py) say it must: a function that always answered
409 would keep every invariant.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from api import clock
from api.books import service as books
from api.books.isbn import isbn13_from_number
from api.circulation import desk, holds, loans, suspension
from api.days.service import library_date
from api.errors import Conflict, NotFound
from api.extensions import db
from api.items import service as items
from api.models import Hold, Item, Loan, User
from api.users import service as users
from tests.invariants import expect
from tests.invariants.checks import clean_database, violations
from tests.invariants.suspension_steps import PICK, SuspensionSteps

MEMBERS = 3
MEMBER = st.integers(0, MEMBERS - 1)
# Small limits so sequences of ~30 steps reach them.
LIMITS = {"MAX_ACTIVE_LOANS": 2, "MAX_RENEWALS": 1, "HOLD_PICKUP_DAYS": 3, "LOAN_PERIOD_DAYS": 14}


class Circulation(SuspensionSteps, RuleBasedStateMachine):
    app = None  # set by the test; hypothesis builds the machine itself

    books = Bundle("books")

    def __init__(self):
        super().__init__()
        clock.reset()
        self.ctx = self.app.app_context()
        self.ctx.push()
        clean_database()
        self.isbn = self.joined = 0
        self.suspended, self.resumed, self.passed_over = {}, set(), set()  # see SuspensionSteps
        self.members = [self._join() for _ in range(MEMBERS)]

    def _join(self) -> int:
        self.joined += 1
        user = User(username=f"m{self.joined}", email=f"m{self.joined}@example.com", password_hash="x")
        db.session.add(user)
        db.session.commit()
        return user.id

    def teardown(self):
        db.session.remove()
        self.ctx.pop()
        clock.reset()

    def _user(self, index: int) -> User:
        return db.session.get(User, self.members[index])

    @initialize(target=books)
    def a_queue_and_a_shelf(self):
        """Start with a queue (one copy lent, two members waiting) and a shelf with
        a copy left: random steps alone rarely build a queue before the example ends."""
        queued, shelved = self.add_book(1), self.add_book(2)
        loans.borrow(db.session, self._user(0), queued)
        holds.place_hold(db.session, self._user(1), queued)
        holds.place_hold(db.session, self._user(2), queued)
        loans.borrow(db.session, self._user(1), shelved)
        return multiple(queued, shelved)

    @rule(target=books, copies=st.integers(0, 2))
    def add_book(self, copies):
        self.isbn += 1
        book = books.create_book(db.session, {
            "title": f"T{self.isbn}", "author": "A", "isbn": isbn13_from_number(self.isbn),
            "published_year": 2000, "copies": copies})
        return book.id

    @rule(who=MEMBER, book_id=books)
    def borrow(self, who, book_id):
        must_succeed = expect.borrow_allowed(self.members[who], book_id)
        try:
            loan = loans.borrow(db.session, self._user(who), book_id)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"borrow refused although allowed: {e.detail}"
            return
        assert loan.user_id == self.members[who]

    def _pick(self, model, pick: int):
        """A loan or hold, open ones first (closed ones test the 409 paths); None if
        there is none. Chosen from the database: a bundle would mostly hold stale ids."""
        closed = Loan.returned_at.is_not(None) if model is Loan else Hold.status.not_in(("waiting", "ready"))
        ids = db.session.scalars(select(model.id).order_by(closed, model.id)).all()
        db.session.rollback()
        return ids[pick % len(ids)] if ids else None

    @rule(pick=PICK)
    def return_loan(self, pick):
        if (loan_id := self._pick(Loan, pick)) is None:
            return
        must_succeed = expect.is_open(Loan, loan_id)
        try:
            loans.return_loan(db.session, loans.get_loan(db.session, loan_id))
        except Conflict as e:
            assert not must_succeed, f"return refused although open: {e.detail}"

    def _item(self, book_id: int, pick: int) -> Item | None:
        items = db.session.scalars(select(Item).where(Item.book_id == book_id).order_by(Item.id)).all()
        db.session.rollback()
        return items[pick % len(items)] if items else None

    @rule(who=MEMBER, book_id=books, pick=PICK)
    def borrow_by_barcode(self, who, book_id, pick):
        if (item := self._item(book_id, pick)) is None:
            return
        must_succeed = expect.barcode_borrow_allowed(self.members[who], item.id)
        try:
            loan = loans.borrow(db.session, self._user(who), barcode=item.barcode)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"barcode borrow refused although allowed: {e.detail}"
            return
        assert loan.item_id == item.id

    @rule(pick=PICK)
    def check_in_at_the_desk(self, pick):
        if (loan_id := self._pick(Loan, pick)) is None:
            return
        must_succeed = expect.is_open(Loan, loan_id)
        barcode = loans.get_loan(db.session, loan_id).barcode
        try:
            done = desk.checkin(db.session, barcode)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"check-in refused although on loan: {e.detail}"
            return
        assert done.item.status == ("on_hold_shelf" if done.hold else "available")

    @rule(book_id=books, pick=PICK, status=st.sampled_from(["damaged", "lost", "available"]))
    def staff_mark_item(self, book_id, pick, status):
        if (item := self._item(book_id, pick)) is None:
            return
        must_succeed = expect.item_status_change_allowed(item.id)
        try:
            items.update_item(db.session, item.id, {"status": status}, actor_id=None)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"status change refused although allowed: {e.detail}"

    @rule(pick=PICK)
    def renew(self, pick):
        if (loan_id := self._pick(Loan, pick)) is None:
            return
        before = loans.get_loan(db.session, loan_id).due_at
        must_succeed = expect.renew_allowed(loan_id)
        try:
            loan = loans.renew(db.session, loans.get_loan(db.session, loan_id))
        except Conflict as e:
            assert not must_succeed, f"renewal refused although allowed: {e.detail}"
            return
        assert loan.due_at == before + timedelta(days=LIMITS["LOAN_PERIOD_DAYS"])

    @rule(who=MEMBER, book_id=books)
    def want(self, who, book_id):
        """What a member does at the desk: borrow if a copy is free, else join the queue."""
        try:
            loans.borrow(db.session, self._user(who), book_id)
        except (Conflict, NotFound):
            self.place_hold(who, book_id)

    @rule(who=MEMBER, book_id=books)
    def place_hold(self, who, book_id):
        must_succeed = expect.hold_allowed(self.members[who], book_id)
        try:
            hold = holds.place_hold(db.session, self._user(who), book_id)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"hold refused although allowed: {e.detail}"
            return
        assert hold.status == "waiting" and hold.position >= 1

    @rule(pick=PICK)
    def collect_ready_hold(self, pick):
        """The member whose copy is kept comes to borrow it."""
        ready = db.session.execute(select(Hold.user_id, Hold.book_id).where(Hold.status == "ready")
                                   .order_by(Hold.id)).all()
        db.session.rollback()
        if not ready:
            return
        user_id, book_id = ready[pick % len(ready)]
        self.borrow(self.members.index(user_id), book_id)

    @rule(pick=PICK)
    def cancel_hold(self, pick):
        if (hold_id := self._pick(Hold, pick)) is None:
            return
        must_succeed = expect.is_open(Hold, hold_id)
        try:
            holds.cancel_hold(db.session, holds.get_hold(db.session, hold_id))
        except Conflict as e:
            assert not must_succeed, f"cancel refused although open: {e.detail}"

    @rule(days=st.sampled_from([0, 1, 2, 4, 15]))
    def time_passes_and_holds_expire(self, days):
        """The hourly expire-holds job: suspensions whose date came resume, then ready
        holds past their pickup time expire."""
        clock.advance(timedelta(days=days, hours=1))
        suspension.resume_due_holds(db.session)
        holds.expire_ready_holds(db.session)
        today = library_date(clock.utcnow())
        stale = db.session.scalar(select(func.count()).select_from(Hold).where(
            Hold.status == "ready", Hold.expires_at <= clock.utcnow()))
        due = db.session.scalar(select(func.count()).select_from(Hold).where(
            Hold.status == "waiting", Hold.suspended_until <= today))
        db.session.rollback()
        assert stale == 0, "expire_ready_holds left a ready hold past its pickup time"
        assert due == 0, "resume_due_holds left a hold suspended past its date"

    @rule(book_id=books, copies=st.integers(0, 3))
    def change_copies(self, book_id, copies):
        must_succeed = expect.copies_allowed(book_id, copies)
        try:
            book = books.update_book(db.session, book_id, {"copies": copies})
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"copies change refused although allowed: {e.detail}"
            return
        assert book.copies_total == copies

    # `chance` thins the rule out: a deletion ends a book's story, and hypothesis
    # gives every enabled rule the same weight.
    @rule(book_id=books, chance=st.integers(0, 3))
    def delete_book(self, book_id, chance):
        if chance:
            return
        must_succeed = expect.delete_allowed(book_id)
        try:
            books.delete_book(db.session, book_id)
        except (Conflict, NotFound) as e:
            assert not must_succeed, f"deletion refused although allowed: {e.detail}"

    @rule(who=MEMBER, chance=st.integers(0, 3))
    def delete_member(self, who, chance):
        """Account deletion: refused while they have books; their ready copies pass on."""
        if chance:
            return
        try:
            users.delete_user(db.session, self.members[who])
        except Conflict:
            return
        self.members[who] = self._join()  # someone new takes their place in the story

    @invariant()
    def nothing_drifts(self):
        """Every SQL invariant; and no suspended hold served before it resumed."""
        self.check_suspensions()
        problems = violations(frozenset(self.passed_over))
        assert not problems, "\n".join(problems)


# A pass takes well under a minute; shrinking a failure to its shortest program can
# take several, and pytest-timeout would otherwise cut it off before the report.
@pytest.mark.timeout(900)
def test_circulation_state_machine(app, monkeypatch):
    for key, value in LIMITS.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setattr(Circulation, "app", app)
    run_state_machine_as_test(Circulation, settings=settings(
        max_examples=100, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None))
