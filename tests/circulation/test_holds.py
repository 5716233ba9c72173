"""Domain rules for the hold queue (no HTTP)."""

from datetime import timedelta

import pytest

from api import clock
from api.circulation.holds import (
    cancel_hold,
    cancel_open_holds_for_user,
    expire_ready_holds,
    get_hold,
    place_hold,
    promote_holds,
)
from api.circulation.items import add_items
from api.circulation.loans import borrow, return_loan
from api.clock import utcnow
from api.errors import Conflict
from api.extensions import db
from tests.circulation.conftest import book_state, check_invariant, hold_status


@pytest.fixture
def lent(app_ctx, users, make_book):
    """A one-copy book on loan to a member, and three more members."""
    owner, *others = users(4)
    book_id = make_book(copies=1)
    return borrow(db.session, owner, book_id), others


def test_hold_only_when_no_copy_is_free(app_ctx, users, make_book):
    (alice,) = users(1)
    with pytest.raises(Conflict, match="borrow it"):
        place_hold(db.session, alice, make_book(copies=1))


def test_no_second_hold_and_no_hold_on_own_loan(app_ctx, lent):
    loan, (bob, _, _) = lent
    place_hold(db.session, bob, loan.book_id)
    with pytest.raises(Conflict, match="already have a hold"):
        place_hold(db.session, bob, loan.book_id)
    with pytest.raises(Conflict, match="on loan"):
        place_hold(db.session, db.session.get(type(bob), loan.user_id), loan.book_id)


def test_queue_positions_follow_arrival(app_ctx, lent):
    loan, members = lent
    holds = [place_hold(db.session, m, loan.book_id) for m in members]
    assert holds[-1].position == 3
    assert [get_hold(db.session, h.id).position for h in holds] == [1, 2, 3]
    cancel_hold(db.session, holds[0])
    assert [get_hold(db.session, h.id).position for h in holds] == [None, 1, 2]


def test_return_makes_the_first_hold_ready_and_keeps_the_copy(app_ctx, lent, outbox):
    loan, (bob, carol, _) = lent
    first, second = place_hold(db.session, bob, loan.book_id), place_hold(db.session, carol, loan.book_id)
    return_loan(db.session, loan)
    ready = get_hold(db.session, first.id)
    assert ready.status == "ready" and ready.position is None
    assert ready.expires_at - ready.ready_at == timedelta(days=app_ctx.config["HOLD_PICKUP_DAYS"])
    assert get_hold(db.session, second.id).position == 1
    assert book_state(loan.book_id) == 0
    check_invariant(loan.book_id)
    # The kept copy is not for anyone else...
    with pytest.raises(Conflict, match="No copy"):
        borrow(db.session, carol, loan.book_id)
    # ...but the holder can borrow it, which fulfils the hold.
    borrow(db.session, bob, loan.book_id)
    assert hold_status(first.id) == "fulfilled"
    check_invariant(loan.book_id)
    rows = outbox()
    assert [(r.hold_id, r.dedupe_key, r.recipient) for r in rows] == [
        (first.id, f"hold_ready:{first.id}", bob.email)]
    assert "Book" in rows[0].subject


def test_cancelling_a_ready_hold_passes_the_copy_on(app_ctx, lent, outbox):
    loan, (bob, carol, _) = lent
    first, second = place_hold(db.session, bob, loan.book_id), place_hold(db.session, carol, loan.book_id)
    return_loan(db.session, loan)
    cancel_hold(db.session, get_hold(db.session, first.id))
    assert (hold_status(first.id), hold_status(second.id)) == ("cancelled", "ready")
    cancel_hold(db.session, get_hold(db.session, second.id))
    assert book_state(loan.book_id) == 1
    check_invariant(loan.book_id)
    assert len(outbox()) == 2
    with pytest.raises(Conflict, match="already cancelled"):
        cancel_hold(db.session, get_hold(db.session, second.id))


@pytest.mark.parametrize("read_as,now", [("ready", "waiting"), ("waiting", "ready")])
def test_a_hold_is_cancelled_wherever_it_moved_since_it_was_read(app_ctx, lent, read_as, now):
    # An override can lend a ready hold's copy and put it back in the queue; a return
    # can make a waiting hold ready. A cancel that read it before the move still cancels.
    loan, (bob, _, _) = lent
    hold = place_hold(db.session, bob, loan.book_id)
    if now == "ready":
        return_loan(db.session, loan)
    stale = get_hold(db.session, hold.id)
    db.session.expunge(stale)
    stale.status = read_as
    assert hold_status(hold.id) == now
    cancel_hold(db.session, stale)
    assert hold_status(hold.id) == "cancelled"
    check_invariant(loan.book_id)


def test_expiry_passes_the_copy_on_and_is_idempotent(app_ctx, lent, outbox):
    loan, (bob, carol, _) = lent
    first, second = place_hold(db.session, bob, loan.book_id), place_hold(db.session, carol, loan.book_id)
    return_loan(db.session, loan)
    assert expire_ready_holds(db.session) == 0
    clock.advance(timedelta(days=app_ctx.config["HOLD_PICKUP_DAYS"], seconds=1))
    assert expire_ready_holds(db.session, batch_size=1) == 1
    assert (hold_status(first.id), hold_status(second.id)) == ("expired", "ready")
    assert expire_ready_holds(db.session) == 0
    check_invariant(loan.book_id)
    clock.advance(timedelta(days=app_ctx.config["HOLD_PICKUP_DAYS"], seconds=1))
    assert expire_ready_holds(db.session) == 1
    assert expire_ready_holds(db.session) == 0
    assert book_state(loan.book_id) == 1
    check_invariant(loan.book_id)
    assert [r.hold_id for r in outbox()] == [first.id, second.id]


def test_expiry_in_batches_over_many_books(app_ctx, users, make_book):
    members = users(6)
    book_ids = []
    for owner, waiter in zip(members[:3], members[3:], strict=True):
        loan = borrow(db.session, owner, make_book(copies=1))
        place_hold(db.session, waiter, loan.book_id)
        return_loan(db.session, loan)
        book_ids.append(loan.book_id)
    assert expire_ready_holds(db.session, now=utcnow() + timedelta(days=30), batch_size=2) == 3
    assert [book_state(b) for b in book_ids] == [1, 1, 1]


def test_cancel_open_holds_for_user_releases_ready_copies(app_ctx, lent):
    loan, (bob, carol, _) = lent
    first, second = place_hold(db.session, bob, loan.book_id), place_hold(db.session, carol, loan.book_id)
    return_loan(db.session, loan)
    assert cancel_open_holds_for_user(db.session, bob.id) == 1
    db.session.commit()
    assert (hold_status(first.id), hold_status(second.id)) == ("cancelled", "ready")
    check_invariant(loan.book_id)


def test_promote_holds_after_copies_are_added(app_ctx, lent):
    loan, members = lent
    holds = [place_hold(db.session, m, loan.book_id) for m in members]
    add_items(db.session, loan.book_id, 2)  # two new copies: 3 owned, 2 on the shelf
    assert promote_holds(db.session, loan.book_id) == 2
    db.session.commit()
    assert [hold_status(h.id) for h in holds] == ["ready", "ready", "waiting"]
    assert book_state(loan.book_id) == 0
    check_invariant(loan.book_id)
    assert promote_holds(db.session, loan.book_id) == 0
