"""Suspended holds (no HTTP): they keep their place, are passed over when a copy comes
back, and resume by themselves (hourly job) or at once (suspend_hold with None)."""

from datetime import timedelta

import pytest

from api import clock
from api.circulation.holds import get_hold, place_hold
from api.circulation.loans import borrow, renew, return_loan
from api.circulation.suspension import resume_due_holds, suspend_hold
from api.clock import utcnow
from api.days.service import day_bounds, library_today
from api.errors import BadRequest, Conflict
from api.extensions import db
from tests.circulation.conftest import book_state, check_invariant, hold_status


@pytest.fixture
def queue(app_ctx, users, make_book):
    """A one-copy book on loan, and three members' holds on it in arrival order."""
    owner, *others = users(4)
    loan = borrow(db.session, owner, make_book(copies=1))
    return loan, [place_hold(db.session, m, loan.book_id) for m in others], others


def positions(holds):
    return [get_hold(db.session, h.id).position for h in holds]


def move_clock_to(when):
    clock.advance(when - utcnow())


def test_a_suspended_hold_keeps_its_place(queue):
    loan, holds, _ = queue
    later = library_today() + timedelta(days=3)
    assert suspend_hold(db.session, holds[0], later).suspended_until == later
    assert positions(holds) == [1, 2, 3]
    suspend_hold(db.session, holds[1], later)
    assert positions(holds) == [1, 2, 3]
    check_invariant(loan.book_id)


def test_a_returned_copy_passes_the_suspended_hold_over(queue, outbox):
    loan, (first, second, third), _ = queue
    suspend_hold(db.session, first, library_today() + timedelta(days=3))
    return_loan(db.session, loan)
    assert [hold_status(h.id) for h in (first, second, third)] == ["waiting", "ready", "waiting"]
    assert positions([first, second, third]) == [1, None, 2]
    assert get_hold(db.session, first.id).suspended_until is not None
    assert [r.hold_id for r in outbox()] == [second.id]
    check_invariant(loan.book_id)


def test_all_suspended_the_copy_goes_to_the_shelf_until_the_job_after_the_date(queue, outbox):
    loan, holds, (alice, _, _) = queue
    resume_on = library_today() + timedelta(days=2)
    for hold in holds:
        suspend_hold(db.session, hold, resume_on)
    return_loan(db.session, loan)
    assert book_state(loan.book_id) == 1 and outbox() == []
    check_invariant(loan.book_id)
    # The copy is free: a new hold is not needed (borrow it).
    with pytest.raises(Conflict) as refused:
        place_hold(db.session, db.session.get(type(alice), loan.user_id), loan.book_id)
    assert refused.value.code == "hold_not_needed"

    move_clock_to(day_bounds(resume_on)[0] - timedelta(seconds=1))
    assert resume_due_holds(db.session) == 0
    assert [hold_status(h.id) for h in holds] == ["waiting"] * 3
    move_clock_to(day_bounds(resume_on)[0])
    assert resume_due_holds(db.session, batch_size=1) == 3
    assert [hold_status(h.id) for h in holds] == ["ready", "waiting", "waiting"]
    assert positions(holds) == [None, 1, 2]
    assert [get_hold(db.session, h.id).suspended_until for h in holds] == [None] * 3
    assert resume_due_holds(db.session) == 0
    assert [(r.hold_id, r.recipient) for r in outbox()] == [(holds[0].id, alice.email)]
    check_invariant(loan.book_id)


def test_a_date_reached_is_not_passed_over_even_before_the_job(queue):
    loan, (first, second, _), _ = queue
    resume_on = library_today() + timedelta(days=1)
    suspend_hold(db.session, first, resume_on)
    move_clock_to(day_bounds(resume_on)[0])
    return_loan(db.session, loan)
    assert (hold_status(first.id), hold_status(second.id)) == ("ready", "waiting")
    assert get_hold(db.session, first.id).suspended_until is None


def test_the_date_is_a_library_date(app_ctx, monkeypatch, queue):
    monkeypatch.setitem(app_ctx.config, "LIBRARY_TIMEZONE", "Pacific/Auckland")
    loan, holds, _ = queue
    resume_on = library_today() + timedelta(days=1)
    for hold in holds:
        suspend_hold(db.session, hold, resume_on)
    return_loan(db.session, loan)
    start = day_bounds(resume_on)[0]  # midnight in Auckland, the day before in UTC
    assert start.date() < resume_on
    move_clock_to(start - timedelta(seconds=1))
    assert resume_due_holds(db.session) == 0 and book_state(loan.book_id) == 1
    move_clock_to(start)
    assert resume_due_holds(db.session) == 3
    assert hold_status(holds[0].id) == "ready"
    check_invariant(loan.book_id)


def test_resuming_with_a_free_copy_makes_the_hold_ready_at_once(queue, outbox):
    loan, (first, second, third), _ = queue
    for hold in (first, second, third):
        suspend_hold(db.session, hold, library_today() + timedelta(days=5))
    return_loan(db.session, loan)
    resumed = suspend_hold(db.session, second, None)
    assert (resumed.status, resumed.position, resumed.suspended_until) == ("ready", None, None)
    assert book_state(loan.book_id) == 0
    # Today is a date already reached: resumes too, with nothing to hand over now.
    assert suspend_hold(db.session, third, library_today()).suspended_until is None
    assert positions([first, second, third]) == [1, None, 2]
    assert [r.hold_id for r in outbox()] == [second.id]
    assert resume_due_holds(db.session) == 0
    check_invariant(loan.book_id)


def test_resuming_without_a_free_copy_only_clears_the_date(queue):
    loan, (first, *_), _ = queue
    suspend_hold(db.session, first, library_today() + timedelta(days=5))
    resumed = suspend_hold(db.session, first, None)
    assert (resumed.status, resumed.position, resumed.suspended_until) == ("waiting", 1, None)
    check_invariant(loan.book_id)


def test_past_dates_and_holds_not_waiting_are_refused(queue):
    loan, (first, second, _), (alice, _, _) = queue
    with pytest.raises(BadRequest) as bad:
        suspend_hold(db.session, first, library_today() - timedelta(days=1))
    assert "suspended_until" in bad.value.errors
    return_loan(db.session, loan)
    with pytest.raises(Conflict) as ready:
        suspend_hold(db.session, get_hold(db.session, first.id), library_today() + timedelta(days=1))
    assert ready.value.code == "hold_not_waiting" and "ready" in str(ready.value.detail)
    borrow(db.session, alice, loan.book_id)  # fulfils her ready hold
    with pytest.raises(Conflict) as closed:
        suspend_hold(db.session, get_hold(db.session, first.id), None)
    assert closed.value.code == "hold_not_waiting"
    assert hold_status(second.id) == "waiting"


def test_a_suspended_hold_still_blocks_renewals(queue):
    loan, holds, _ = queue
    for hold in holds:
        suspend_hold(db.session, hold, library_today() + timedelta(days=5))
    with pytest.raises(Conflict) as refused:
        renew(db.session, loan)
    assert refused.value.code == "reserved_for_other"
