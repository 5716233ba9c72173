"""The state machine's hold suspension steps (tests/invariants/test_circulation_machine.py):
suspend, resume, a whole queue away while a copy comes back, and the check that a
suspended hold is never served before it resumes. A mixin of `Circulation`, which
runs its own steps (returns, the hourly job) and sets the attributes used here."""

from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, rule
from sqlalchemy import and_, func, select, tuple_

from api import clock
from api.circulation import holds, loans, suspension
from api.days.service import library_date
from api.errors import Conflict
from api.extensions import db
from api.models import Book, Hold, Loan
from tests.invariants import expect

PICK = st.integers(0, 3)
books = Bundle("books")  # Circulation's bundle: bundles are one per name


class SuspensionSteps:
    # Set by Circulation: holds suspended at the last check ({id: suspended_until}),
    # holds resumed by a step since, the (waiting, served) pairs served while the
    # first was suspended; and _pick(model, pick).
    suspended: dict
    resumed: set
    passed_over: set

    def _pick_hold(self, *where, pick: int, rather=None) -> int | None:
        """A hold matching `where` (and `rather`, if any does), else any hold (so the
        refusals are tried too)."""
        for conditions in ([*where, rather], where) if rather is not None else (where,):
            ids = db.session.scalars(select(Hold.id).where(*conditions).order_by(Hold.id)).all()
            db.session.rollback()
            if ids:
                return ids[pick % len(ids)]
        return self._pick(Hold, pick)

    @rule(pick=PICK, days=st.sampled_from([1, 3, 20]))
    def suspend_hold(self, pick, days):
        """A member away until a date: the hold keeps its place, is passed over."""
        waiting = (Hold.status == "waiting", Hold.suspended_until.is_(None))
        if (hold_id := self._pick_hold(*waiting, pick=pick)) is None:
            return
        must_succeed = expect.is_waiting(hold_id)
        until = library_date(clock.utcnow()) + timedelta(days=days)
        try:
            hold = suspension.suspend_hold(db.session, holds.get_hold(db.session, hold_id), until)
        except Conflict as e:
            assert not must_succeed, f"suspension refused although waiting: {e.detail}"
            return
        assert must_succeed, "a hold that was not waiting was suspended"
        assert (hold.status, hold.suspended_until) == ("waiting", until)

    @rule(book_id=books, back_early=st.booleans())
    def whole_queue_away(self, book_id, back_early):
        """Every waiting hold of the book suspended, then a copy comes back: it passes
        the whole queue over to the shelf. Random steps alone rarely get here. Then
        perhaps the youngest comes back early: resumed, it takes that copy, passing
        over the older holds still suspended."""
        until = library_date(clock.utcnow()) + timedelta(days=3)
        queue = db.session.scalars(select(Hold.id).where(Hold.book_id == book_id, Hold.status == "waiting")
                                   .order_by(Hold.created_at, Hold.id)).all()
        loan_id = db.session.scalar(select(Loan.id).where(Loan.book_id == book_id, Loan.returned_at.is_(None))
                                    .order_by(Loan.id).limit(1))
        db.session.rollback()
        if not queue or loan_id is None:
            return
        for hold_id in queue:
            suspension.suspend_hold(db.session, holds.get_hold(db.session, hold_id), until)
        loans.return_loan(db.session, loans.get_loan(db.session, loan_id))
        ready = db.session.scalar(select(func.count()).select_from(Hold).where(Hold.id.in_(queue),
                                                                               Hold.status != "waiting"))
        shelf = db.session.get(Book, book_id).copies_available
        db.session.rollback()
        assert ready == 0 and shelf > 0, "a returned copy went to a suspended hold"
        if back_early:
            assert self.resume_hold_id(queue[-1]) == "ready", "the one hold back did not get the copy"

    @rule(pick=PICK)
    def resume_hold(self, pick):
        """PATCH with null: the hold waits again, and takes a shelf copy if it is next.
        Rather one of a book with a copy on the shelf: the rare case to reach."""
        on_shelf = Hold.book_id.in_(select(Book.id).where(Book.copies_available > 0))
        if (hold_id := self._pick_hold(Hold.suspended_until.is_not(None), pick=pick,
                                       rather=on_shelf)) is not None:
            self.resume_hold_id(hold_id)

    def resume_hold_id(self, hold_id: int) -> str | None:
        """Resume the hold; its status after, None if refused."""
        must_succeed = expect.is_waiting(hold_id)
        served = expect.resume_serves(hold_id, library_date(clock.utcnow()))
        try:
            hold = suspension.suspend_hold(db.session, holds.get_hold(db.session, hold_id), None)
        except Conflict as e:
            assert not must_succeed, f"resume refused although waiting: {e.detail}"
            return None
        assert must_succeed, "a hold that was not waiting was resumed"
        self.resumed.add(hold_id)
        assert hold.suspended_until is None
        assert hold.status == ("ready" if served else "waiting"), "resumed hold not served in its turn"
        return hold.status

    def check_suspensions(self) -> None:
        """A hold suspended at the last check, not resumed by a step since nor by its
        date, was passed over: never served. Records the pairs passed over."""
        today = library_date(clock.utcnow())
        served_early = [h.id for h in db.session.scalars(select(Hold).where(
            Hold.id.in_(self.suspended), Hold.ready_at.is_not(None)))
            if h.id not in self.resumed and self.suspended[h.id] > today]
        w, r = Hold.__table__.alias("w"), Hold.__table__.alias("r")
        younger_served = and_(r.c.book_id == w.c.book_id, r.c.ready_at.is_not(None),
                              tuple_(w.c.created_at, w.c.id) < tuple_(r.c.created_at, r.c.id))
        self.passed_over |= {tuple(p) for p in db.session.execute(
            select(w.c.id, r.c.id).join(r, younger_served)
            .where(w.c.status == "waiting", w.c.suspended_until > today))}
        self.suspended = dict(db.session.execute(select(Hold.id, Hold.suspended_until).where(
            Hold.status == "waiting", Hold.suspended_until > today)).all())
        self.resumed = set()
        db.session.rollback()
        assert not served_early, f"suspended holds served before resuming: {served_early}"
