"""Registration, login, token rotation, logout and password reset."""

from flask import current_app, g, jsonify, url_for

from api import request_id, tokens
from api.after_response import after_response
from api.auth import bearer_token, login_required
from api.extensions import db
from api.parsing import json_body
from api.ratelimit import limiter, login_key, login_limit, password_reset_limit, register_limit
from api.users import bp, service
from api.users.schemas import (
    LoginIn,
    MessageOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RegisterIn,
    TokenPairOut,
    UserOut,
)

RESET_ACCEPTED = "If an account with that email exists, a reset token has been emailed to it."


@bp.post("/register")
@limiter.limit(register_limit)
def register():
    """Create a member account; a welcome email is queued.
    ---
    tags: [users]
    x-body: RegisterIn
    x-response:
      201: UserOut
      description: The new user (never the password or its hash).
      location: URL of the user.
    x-errors: [409]
    """
    data = json_body(RegisterIn())
    user = service.register_user(db.session, data["username"], data["email"], data["password"])
    return UserOut().dump(user), 201, {"Location": url_for("users.get_user", user_id=user.id)}


@bp.post("/login")
@limiter.limit(login_limit, key_func=login_key)
def login():
    """Exchange email and password for an access and a refresh token.
    ---
    tags: [users]
    description: >
      Wrong email, wrong password and deactivated account all give the same 401.
      Limited per address and email (RATELIMIT_LOGIN, default 5 per 10 minutes).
    x-body: LoginIn
    x-response: {200: TokenPairOut, description: A new token pair (a new token family).}
    x-errors: [401]
    """
    data = json_body(LoginIn())
    user = service.authenticate_credentials(db.session, data["email"], data["password"])
    return TokenPairOut().dump(tokens.issue_pair(user))


@bp.post("/refresh")
def refresh():
    """Rotate a refresh token (sent as the Bearer token) into a new pair.
    ---
    tags: [users]
    description: >
      Each refresh token works once. Presenting a used one again revokes the whole
      session (every token descended from the same login) and answers 401.
      Access tokens are refused here.
    x-response: {200: TokenPairOut, description: A new token pair in the same session.}
    security: [{bearerAuth: []}]
    """
    claims = tokens.decode(bearer_token(), "refresh")
    return TokenPairOut().dump(service.rotate_refresh(db.session, claims))


@bp.post("/logout")
@login_required
def logout():
    """Revoke the caller's session: this access token and its refresh token.
    ---
    tags: [users]
    responses:
      204: {description: Logged out.}
    security: [{bearerAuth: []}]
    """
    tokens.revoke_family(g.token_claims)
    return "", 204


@bp.post("/password-reset")
@limiter.limit(password_reset_limit)
def password_reset():
    """Ask for a password reset token by email.
    ---
    tags: [users]
    description: >
      Always 202 with the same body, whether or not the email belongs to an account,
      so the endpoint cannot be used to find accounts. The token expires after
      PASSWORD_RESET_MINUTES and works once.
    x-body: PasswordResetIn
    x-response: {202: MessageOut, description: Accepted.}
    """
    data = json_body(PasswordResetIn())
    response = jsonify(MessageOut().dump({"detail": RESET_ACCEPTED}))
    # Looked up and written once the answer is on the wire: an email with an account
    # (a token row, an outbox row, a commit) would otherwise take longer to answer
    # than one without, and the timing would tell which addresses have accounts.
    after_response(response, _request_reset, current_app._get_current_object(), data["email"],
                   request_id.current())
    return response, 202


def _request_reset(app, email: str, request_id_value: str | None) -> None:
    with app.app_context():
        token = request_id.bind(request_id_value)  # the email carries the request's id
        try:
            service.request_password_reset(db.session, email)
        finally:
            request_id.reset(token)


@bp.post("/password-reset/confirm")
@limiter.limit(password_reset_limit)
def password_reset_confirm():
    """Set a new password with a reset token; every existing token of the user dies.
    ---
    tags: [users]
    x-body: PasswordResetConfirmIn
    responses:
      204: {description: Password changed; log in again.}
    """
    data = json_body(PasswordResetConfirmIn())
    service.confirm_password_reset(db.session, data["token"], data["password"])
    return "", 204
