"""Suspending a waiting hold, and resuming it (PATCH /holds/<id>, and the hourly job).

`suspended_until` is a library date (LIBRARY_TIMEZONE): the hold is suspended through
the end of the day before and waits again from the start of that day. While
suspended it keeps its place in the queue (and its `position`) but a copy that comes
back passes it over for the next hold that is not suspended, else goes to the shelf.

A hold whose date has been reached is no longer passed over at once; the column is
cleared (and a copy left on the shelf meanwhile handed to the queue) by PATCH with
null or a date already reached, or by `resume_due_holds` in the hourly expire-holds
job. So a waiting hold with suspended_until NULL never sits behind a free copy.
"""

from collections.abc import Callable
from datetime import date

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.circulation.common import lock_book, refuse
from api.circulation.holds import get_hold, promote_holds
from api.clock import utcnow
from api.days.service import library_date
from api.errors import BadRequest, NotFound
from api.models import Hold


def suspend_hold(session: Session, hold: Hold, suspended_until: date | None, *,
                 actor_id: int | None = None) -> Hold:
    """Suspend a waiting hold until `suspended_until`, or resume it with None; commits.

    A date before today (library time) is a 400; today resumes at once, like None.
    Only a waiting hold: 409 `hold_not_waiting` otherwise. On resuming, a copy on the
    shelf goes to the queue now. `actor_id` (an admin acting) is audited.
    """
    today = library_date(utcnow())
    if suspended_until is not None and suspended_until < today:
        raise BadRequest("suspended_until must not be in the past.",
                         errors={"suspended_until": [f"Must be {today.isoformat()} or later."]})
    value = suspended_until if suspended_until is not None and suspended_until > today else None
    # The book's lock first (users -> books -> holds): a return choosing a hold for this
    # book waits for this change, or this change waits for it and finds the hold ready.
    lock_book(session, hold.book_id)
    before = session.scalar(select(Hold.suspended_until).where(Hold.id == hold.id))
    done = session.execute(update(Hold).where(Hold.id == hold.id, Hold.status == "waiting")
                           .values(suspended_until=value).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        status = session.scalar(select(Hold.status).where(Hold.id == hold.id)) or "gone"
        refuse(session, "hold_not_waiting", f"This hold is {status}; only a waiting hold can be "
                                            "suspended or resumed.")
    if value is None:
        promote_holds(session, hold.book_id)
    if actor_id is not None:
        record(session, actor_id=actor_id, action="hold.suspended" if value else "hold.resumed",
               object_type="hold", object_id=hold.id,
               data={"user_id": hold.user_id, "book_id": hold.book_id,
                     "from": before.isoformat() if before else None,
                     "to": value.isoformat() if value else None})
    session.commit()
    return get_hold(session, hold.id)


def resume_due_holds(session: Session, *, batch_size: int | None = None,
                     before_batch: Callable[[int], None] | None = None) -> int:
    """Clear the suspension of every waiting hold whose date has been reached and give
    each book's shelf copies to its queue; returns how many holds resumed. Commits
    after each book, and calls `before_batch(resumed so far)` before each batch of
    books it has found to do (a job's progress and cancel point).

    Per book under its row lock, like a return: a copy goes to one hold, in queue
    order, and the hold_ready email's dedupe key keeps a second run from sending
    another. Books are walked in keyset batches of book ids.
    """
    today = library_date(utcnow())
    batch_size = batch_size or int(current_app.config.get("JOB_BATCH_SIZE", 500))
    resumed, last = 0, 0
    while True:
        book_ids = session.scalars(
            select(Hold.book_id).where(Hold.status == "waiting", Hold.suspended_until <= today,
                                       Hold.book_id > last)
            .group_by(Hold.book_id).order_by(Hold.book_id).limit(batch_size)).all()
        session.rollback()  # end the read snapshot; each book is re-read under its lock
        if not book_ids:
            return resumed
        if before_batch is not None:
            before_batch(resumed)
        resumed += sum(_resume_book(session, book_id, today) for book_id in book_ids)
        last = book_ids[-1]


def _resume_book(session: Session, book_id: int, today: date) -> int:
    try:
        lock_book(session, book_id)
    except NotFound:  # deleted meanwhile, its holds with it
        return 0
    done = session.execute(
        update(Hold).where(Hold.book_id == book_id, Hold.status == "waiting",
                           Hold.suspended_until <= today)
        .values(suspended_until=None).execution_options(synchronize_session=False))
    promote_holds(session, book_id)
    session.commit()
    return done.rowcount
