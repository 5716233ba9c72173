"""Account rules, callable without HTTP. Functions take the session first and commit
their own transaction; refusals are raised (a Conflict always with a `code`)."""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from api import tokens
from api.accounts.currency import format_amount
from api.accounts.service import balance, currency
from api.audit.service import record
from api.auth import user_for_claims
from api.circulation.holds import cancel_open_holds_for_user
from api.clock import utcnow
from api.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from api.fields import id_in_range
from api.models import Loan, PasswordResetToken, User
from api.notify import notify
from api.passwords import hash_password, needs_rehash, verify_password
from api.transaction import integrity_error_as, rollback_and_raise

BAD_CREDENTIALS = "Invalid email or password."
DUPLICATE = "A user with that username or email already exists."


def _duplicate(errors: dict | None = None) -> Conflict:
    return Conflict(DUPLICATE, errors=errors, code="duplicate")


def _taken(session: Session, username: str | None, email: str | None, *,
           exclude: int | None = None) -> dict:
    """Field errors for a username/email another account already has."""
    errors = {}
    for field, column, value in (("username", User.username, username), ("email", User.email, email)):
        if value is None:
            continue
        stmt = select(User.id).where(column == value)
        if exclude is not None:
            stmt = stmt.where(User.id != exclude)
        if session.scalar(stmt) is not None:
            errors[field] = [f"This {field} is already taken."]
    return errors


def register_user(session: Session, username: str, email: str, password: str, *,
                  role: str = "user", welcome: bool = True) -> User:
    """Create an account from validated input (see RegisterIn); 409 on duplicates."""
    errors = _taken(session, username, email)
    if errors:
        raise _duplicate(errors)
    user = User(username=username, email=email, password_hash=hash_password(password), role=role)
    session.add(user)
    # The pre-check answers nearly always; the unique indexes catch two requests racing past it.
    with integrity_error_as(session, _duplicate()):
        session.flush()
    if welcome:
        # The limit a new member starts with: their category's limit on all open loans.
        from api.circulation.common import patron_category
        from api.models.rule import ANY
        from api.rules.resolve import loan_limits

        max_loans = loan_limits(session, patron_category=patron_category(user), item_type=ANY).overall
        notify(session, "welcome", recipient=user.email, dedupe_key=f"welcome:{user.id}",
               user_id=user.id, user=user, max_loans=max_loans)
    with integrity_error_as(session, _duplicate()):
        session.commit()
    return user


def authenticate_credentials(session: Session, email: str, password: str) -> User:
    """The active user with these credentials; one identical 401 for every failure."""
    user = session.scalar(select(User).where(User.email == email))
    # Always run the KDF so unknown emails cost as much time as wrong passwords.
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        # Raised ARGON2_* costs reach existing accounts as their owners log in.
        user.password_hash = hash_password(password)
        session.commit()
    return user


def rotate_refresh(session: Session, claims: dict) -> dict:
    """A new pair in the same family for a decoded refresh token, which works once.

    Presenting a used refresh token means two parties hold it (one of them a thief),
    so the whole family is revoked and the legitimate client must log in again.
    """
    user = user_for_claims(claims)
    if tokens.family_revoked(claims):
        raise Unauthorized("This token has been revoked.")
    if not tokens.consume_refresh(claims):
        tokens.revoke_family(claims)
        raise Unauthorized("This refresh token was already used; the session has been revoked.")
    return tokens.issue_pair(user, family=claims["fam"])


def change_me(session: Session, user: User, changes: dict[str, Any]) -> User:
    """PATCH /users/me: email and password changes need the current password."""
    sensitive = [f for f in ("email", "password") if f in changes]
    if sensitive:
        current = changes.get("current_password")
        if current is None:
            raise BadRequest("The current password is required to change email or password.",
                             errors={"current_password": ["Required to change " + " and ".join(sensitive)
                                                          + "."]})
        if not verify_password(user.password_hash, current):
            raise Forbidden("The current password is incorrect.")
    return _apply(session, user, changes)


def _apply(session: Session, user: User, changes: dict[str, Any]) -> User:
    errors = _taken(session, changes.get("username"), changes.get("email"), exclude=user.id)
    if errors:
        raise _duplicate(errors)
    for field in ("username", "email", "role", "category"):
        if field in changes:
            setattr(user, field, changes[field])
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
        # Every token issued before the change (including the caller's) stops working.
        user.token_version += 1
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.is_active = changes["is_active"]
        if not user.is_active:
            user.token_version += 1
            # A deactivated member cannot borrow, so a copy kept for them would sit
            # idle: their holds end and kept copies pass to the next in line.
            cancel_open_holds_for_user(session, user.id)
    if {"email", "password"} & changes.keys() or not user.is_active:
        # A reset link mailed before is void: it went to an address the account may no
        # longer have (a member leaving a compromised mailbox), or for a password
        # already replaced, or to an account that is closed.
        _void_reset_tokens(session, user.id)
    with integrity_error_as(session, _duplicate()):
        session.commit()
    return user


def request_password_reset(session: Session, email: str) -> None:
    """Record a reset email if an active account has this email; silent otherwise."""
    user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if user is None:
        return
    raw = secrets.token_urlsafe(32)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    row = PasswordResetToken(user_id=user.id, token_hash=_digest(raw),
                             expires_at=utcnow() + timedelta(minutes=minutes))
    session.add(row)
    session.flush()
    notify(session, "password_reset", recipient=user.email,
           dedupe_key=f"password_reset:{row.id}", user_id=user.id,
           token=raw, minutes=minutes, user=user)
    session.commit()


def confirm_password_reset(session: Session, token: str, password: str) -> User:
    """Set a new password with a reset token; the token works once, before it expires."""
    digest, now = _digest(token), utcnow()
    # One conditional UPDATE: of two concurrent confirmations only one sees rowcount 1.
    result = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == digest, PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        rollback_and_raise(session, BadRequest("The reset token is invalid, used or expired.",
                                               errors={"token": ["Invalid, used or expired."]}))
    user_id = session.scalar(select(PasswordResetToken.user_id)
                                .where(PasswordResetToken.token_hash == digest))
    _void_reset_tokens(session, user_id)  # the user's other outstanding ones die with it
    user = session.get(User, user_id)
    user.password_hash = hash_password(password)
    user.token_version += 1
    session.commit()
    return user


def _void_reset_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False))


def _digest(token: str) -> str:
    # Only the hash is stored: a leaked table does not let anyone reset a password.
    return hashlib.sha256(token.encode()).hexdigest()


# Admin ----------------------------------------------------------------------------


def users_stmt(args: dict[str, Any]) -> Select:
    """The query for GET /users: filters, ordered by id."""
    stmt = select(User).order_by(User.id)
    if "q" in args:
        q = args["q"].lower()
        stmt = stmt.where(func.lower(User.username).contains(q, autoescape=True)
                          | func.lower(User.email).contains(q, autoescape=True))
    if "role" in args:
        stmt = stmt.where(User.role == args["role"])
    if "is_active" in args:
        stmt = stmt.where(User.is_active == args["is_active"])
    return stmt


user_list_query = users_stmt  # the old name, for code written before the rename


def get_user(session: Session, user_id: int, *, lock: bool = False) -> User:
    if not id_in_range(user_id):
        raise NotFound("No such user.")
    stmt = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    if lock:
        # Serialises against loans being created for this user (their foreign key
        # check takes a share lock on the row) and against other admin changes.
        stmt = stmt.with_for_update(key_share=True)
    user = session.scalar(stmt)
    if user is None:
        raise NotFound("No such user.")
    return user


def _lock_active_admins(session: Session) -> list[int]:
    # Locked in id order and before any single user row, so two admins demoting
    # each other queue (the second then sees one admin left) instead of deadlocking.
    return list(session.scalars(select(User.id).where(
        User.role == "admin", User.is_active.is_(True)).order_by(User.id).with_for_update(key_share=True)))


def _refuse_last_admin(user: User, admins: list[int]) -> None:
    if admins == [user.id]:
        raise Conflict("This is the last active admin; promote another admin first.",
                       code="last_admin")


# Every field an admin can change on an account (SPEC: every staff action is recorded):
# an email changed by staff is where the next password reset goes.
AUDITED_FIELDS = ("role", "is_active", "category", "username", "email")


def update_user(session: Session, user_id: int, changes: dict[str, Any], *,
                actor_id: int | None = None) -> User:
    admins = _lock_active_admins(session) if {"role", "is_active"} & changes.keys() else []
    user = get_user(session, user_id, lock=True)
    if changes.get("role", "admin") != "admin" or changes.get("is_active") is False:
        _refuse_last_admin(user, admins)
    diff = {f: [getattr(user, f), changes[f]] for f in AUDITED_FIELDS
            if f in changes and getattr(user, f) != changes[f]}
    if diff:
        # Committed by _apply with the change itself.
        record(session, actor_id=actor_id, action="user.updated", object_type="user",
               object_id=user.id, data=diff)
    return _apply(session, user, changes)


def delete_user(session: Session, user_id: int, *, actor_id: int | None = None) -> None:
    """Delete a user without active loans; their history cascades in the database. The
    audit entry (`user.deleted`, by `actor_id`) names who they were, as it outlives them."""
    admins = _lock_active_admins(session)
    user = get_user(session, user_id, lock=True)
    active = session.scalar(select(func.count()).select_from(Loan).where(
        Loan.user_id == user.id, Loan.returned_at.is_(None)))
    if active:
        raise Conflict(f"The user has {active} active loan(s); they must be returned first.",
                       code="has_active_loans")
    # Their account lines go with them: a debt would vanish without a trace.
    owed = balance(session, user.id)
    if owed > 0:
        raise Conflict(f"The user owes {format_amount(owed, currency())}; collect or waive it first.",
                       code="balance_outstanding")
    _refuse_last_admin(user, admins)
    # Ready holds keep a copy each: release them to the next in line before the
    # holds vanish with the user.
    cancel_open_holds_for_user(session, user.id)
    record(session, actor_id=actor_id, action="user.deleted", object_type="user", object_id=user.id,
           data={"username": user.username, "role": user.role, "balance": owed})
    session.delete(user)
    session.commit()
