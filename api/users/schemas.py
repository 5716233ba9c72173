"""Schemas for /users, one per direction (what comes in is never what goes out).

Usernames: 3-32 ASCII characters from `a-z 0-9 . _ -`, starting and ending with a
letter or digit. They are case-insensitive: input is lower-cased before it is stored,
so the database's unique constraint covers "Alice" vs "alice". Emails are checked
with email-validator (syntax only, no DNS) and stored lower-cased in full.
"""

import re

from email_validator import EmailNotValidError, validate_email
from marshmallow import Schema, fields, pre_dump, validate

from api.docs import doc_schema
from api.fields import Code, StrictBoolean, Text
from api.models import ROLES
from api.pagination import PageArgs, page_schema

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,30}[a-z0-9]")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
EMAIL_MAX = 254


class Username(Text):
    default_error_messages = {
        "username": "3-32 characters: letters, digits, '.', '_' or '-', "
                    "starting and ending with a letter or digit.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        # isascii first: str.lower() maps some non-ASCII letters (the Kelvin sign) to ASCII.
        if not value.isascii() or not USERNAME_RE.fullmatch(value.lower()):
            raise self.make_error("username")
        return value.lower()


def normalized_email(value: str) -> str:
    """The address as it is stored: email-validator's normal form (NFC, an IDN domain
    in Unicode), lower-cased. EmailNotValidError when it is not an address."""
    return validate_email(value, check_deliverability=False).normalized.lower()


class EmailAddress(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            email = normalized_email(value)
        except EmailNotValidError as e:
            raise self.make_error("invalid_email", message=str(e)) from None
        if len(email) > EMAIL_MAX:
            raise self.make_error("invalid_email", message="The email address is too long.")
        return email

    default_error_messages = {"invalid_email": "{message}"}


class LookupEmail(Text):
    """An email used only to look an account up, in the form it was stored in (so an
    address typed as at registration is found however the validator rewrote it); no
    syntax error: a malformed one is simply not found (login 401, reset 202) rather
    than a different answer."""

    def _deserialize(self, value, attr, data, **kwargs):
        return lookup_form(super()._deserialize(value, attr, data, **kwargs))


def lookup_form(value: str) -> str:
    """The form an email is looked up in (LookupEmail; the login limit's key too)."""
    value = value.strip()
    try:
        return normalized_email(value)
    except EmailNotValidError:
        return value.lower()


def password_field(**kw) -> fields.Field:
    # The maximum keeps argon2 from hashing megabytes per request.
    return Text(validate=validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
                metadata={"description": f"{PASSWORD_MIN}-{PASSWORD_MAX} characters.",
                          "format": "password"}, **kw)


# USERNAME_RE for the spec, before lower-casing, so clients can validate before sending.
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,30}[A-Za-z0-9]$"


def username_field(**kw) -> fields.Field:
    return Username(metadata={"description": "3-32 of a-z 0-9 . _ - (case-insensitive, stored "
                                             "lower-cased).", "example": "alice",
                              "pattern": USERNAME_PATTERN, "minLength": 3, "maxLength": 32}, **kw)


def email_field(**kw) -> fields.Field:
    return EmailAddress(metadata={"description": "Stored lower-cased; unique case-insensitively.",
                                  "format": "email", "example": "alice@example.com"}, **kw)


@doc_schema
class RegisterIn(Schema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = password_field(required=True)


@doc_schema
class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    email = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    is_active = fields.Boolean()
    category = fields.String(metadata={"description": "Patron category: selects the circulation rules.",
                                       "example": "adult"})
    created_at = fields.DateTime()


@doc_schema
class MeOut(UserOut):
    """GET /users/me: the caller, with their active blocks."""

    blocks = fields.List(fields.Nested("BlockOut"), metadata={
        "description": "Active blocks: while any is listed, borrowing, renewing and holds are refused."})

    @pre_dump
    def _with_blocks(self, user, **_kwargs) -> dict:
        from api.blocks.service import active_blocks
        from api.extensions import db

        data = {name: getattr(user, name) for name in UserOut().fields}
        return {**data, "blocks": active_blocks(db.session, user.id)}


@doc_schema
class LoginIn(Schema):
    # No `format: email`: the address is only looked up, never syntax-checked (see LookupEmail).
    email = LookupEmail(required=True, validate=validate.Length(min=1, max=EMAIL_MAX),
                        metadata={"example": "alice@example.com"})
    password = Text(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX),
                    metadata={"format": "password"})


@doc_schema
class TokenPairOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds until the access token expires."})


@doc_schema
class MeUpdateIn(Schema):
    username = username_field()
    email = email_field()
    password = password_field()
    current_password = Text(validate=validate.Length(min=1, max=PASSWORD_MAX),
                            metadata={"description": "Required to change email or password.",
                                      "format": "password"})


@doc_schema
class AdminUserUpdateIn(Schema):
    username = username_field()
    email = email_field()
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = StrictBoolean(metadata={"description": "false revokes every token of the user."})
    category = Code(metadata={"description": "Patron category code (circulation rules).", "example": "child"})


@doc_schema
class UserListQuery(PageArgs):
    q = Text(validate=validate.Length(min=1, max=100),
             metadata={"description": "Case-insensitive substring of username or email."})
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


@doc_schema
class PasswordResetIn(Schema):
    email = LookupEmail(required=True, validate=validate.Length(min=1, max=EMAIL_MAX),
                        metadata={"example": "alice@example.com"})


@doc_schema
class PasswordResetConfirmIn(Schema):
    token = Text(required=True, validate=validate.Length(min=1, max=128))
    password = password_field(required=True)


@doc_schema
class MessageOut(Schema):
    detail = fields.String()


UsersPage = page_schema(UserOut)
