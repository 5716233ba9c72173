"""The caller's own account (/users/me) and user management for admins."""

from api.auth import admin_required, current_user, login_required
from api.extensions import db
from api.pagination import paginate
from api.parsing import json_body, query_args
from api.users import bp, service
from api.users.schemas import AdminUserUpdateIn, MeOut, MeUpdateIn, UserListQuery, UserOut


@bp.get("/me")
@login_required
def get_me():
    """The caller's account.
    ---
    tags: [users]
    x-response: {200: MeOut, description: 'The caller, with their active blocks.'}
    security: [{bearerAuth: []}]
    """
    return MeOut().dump(current_user())


@bp.patch("/me")
@login_required
def update_me():
    """Change the caller's username, email or password.
    ---
    tags: [users]
    description: >
      Changing email or password needs `current_password` (missing → 400, wrong → 403).
      A password change ends every session of the user, this one included: log in again.
      Fields left out are unchanged.
    x-body: MeUpdateIn
    x-response: {200: UserOut, description: The updated account.}
    x-errors: [403, 409]
    security: [{bearerAuth: []}]
    """
    data = json_body(MeUpdateIn())
    return UserOut().dump(service.change_me(db.session, current_user(), data))


@bp.get("")
@admin_required
def list_users():
    """List users (admin), filtered by `q`, `role` and `is_active`.
    ---
    tags: [users]
    x-query-schema: UserListQuery
    x-response:
      200: UsersPage
      description: A page of users, ordered by id, with an RFC 8288 Link header.
      link: first, prev, next, last pages.
    x-errors: [400, 403]
    security: [{bearerAuth: []}]
    """
    args = query_args(UserListQuery())
    return paginate(service.users_stmt(args), UserOut(), args)


@bp.get("/<int:user_id>")
@admin_required
def get_user(user_id: int):
    """One user (admin).
    ---
    tags: [users]
    x-response: {200: UserOut, description: The user.}
    x-errors: [403, 404]
    security: [{bearerAuth: []}]
    """
    return UserOut().dump(service.get_user(db.session, user_id))


@bp.patch("/<int:user_id>")
@admin_required
def update_user(user_id: int):
    """Change a user's role, active flag, username or email (admin).
    ---
    tags: [users]
    description: >
      Deactivating a user ends all their sessions at once. Demoting or deactivating
      the last active admin is refused with 409.
    x-body: AdminUserUpdateIn
    x-response: {200: UserOut, description: The updated user.}
    x-errors: [403, 404, 409]
    security: [{bearerAuth: []}]
    """
    data = json_body(AdminUserUpdateIn())
    return UserOut().dump(service.update_user(db.session, user_id, data, actor_id=current_user().id))


@bp.delete("/<int:user_id>")
@admin_required
def delete_user(user_id: int):
    """Delete a user (admin); their loan history, holds and reset tokens go with them.
    ---
    tags: [users]
    description: >
      409 while the user has active loans (`has_active_loans`) or owes money
      (`balance_outstanding`), or when they are the last active admin.
      Their open holds are cancelled first, so kept copies pass to the next in line.
    responses:
      204: {description: Deleted.}
    x-errors: [403, 404, 409]
    security: [{bearerAuth: []}]
    """
    service.delete_user(db.session, user_id, actor_id=current_user().id)
    return "", 204
