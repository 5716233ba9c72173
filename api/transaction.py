"""Ending a transaction with a refusal.

A domain function that refuses after taking row locks rolls back first, so the locks
are released at once rather than when the request's session is torn down; the error
itself is a plain exception (`Conflict(..., code=...)`, `NotFound`), built where it is
raised. A unique index that loses a race past a pre-check is a refusal too.

And not beginning one: a request that only reads (a list page) runs its statements
in autocommit on PostgreSQL (read_only, reads_only).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from api.extensions import db


def rollback_and_raise(session: Session, error: Exception) -> NoReturn:
    """Roll back (releasing row locks now) and raise `error`."""
    session.rollback()
    raise error


@contextmanager
def integrity_error_as(session: Session, error: Exception) -> Iterator[None]:
    """`with integrity_error_as(session, Conflict(...)): session.commit()`: a unique or
    foreign key violation inside rolls back and becomes `error`."""
    try:
        yield
    except IntegrityError:
        session.rollback()
        raise error from None


def read_only(session: Session | scoped_session) -> None:
    """Run the rest of this request's statements outside a transaction (PostgreSQL
    autocommit), if none has begun: a read needs no BEGIN and ROLLBACK round trips.
    Each statement then sees what was committed when it started, so a page and its
    total may straddle a concurrent commit (a total above EXACT_UP_TO is an estimate
    anyway). Only for requests that write nothing."""
    session = session() if isinstance(session, scoped_session) else session
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def reads_only(view: Callable) -> Callable:
    """A view decorator (outermost, so the user load of its auth is included):
    read_only() for the whole request."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        read_only(db.session)
        return view(*args, **kwargs)

    return wrapper
