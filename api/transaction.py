"""Ending a transaction with a refusal.

A domain function that refuses after taking row locks rolls back first, so the locks
are released at once rather than when the request's session is torn down; the error
itself is a plain exception (`Conflict(..., code=...)`, `NotFound`), built where it is
raised. A unique index that loses a race past a pre-check is a refusal too.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


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
