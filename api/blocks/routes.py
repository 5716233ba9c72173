from flask import url_for

from api.accounts.service import get_account_user
from api.auth import admin_required, current_user
from api.blocks import bp, service
from api.blocks.schemas import BlockIn, BlockOut, BlocksQuery
from api.extensions import db
from api.pagination import paginate
from api.parsing import json_body, query_args


@bp.post("/<int:user_id>/blocks")
@admin_required
def add_block(user_id: int):
    """Block a member from borrowing, renewing and placing holds (admin).
    ---
    tags: [blocks]
    security: [{bearerAuth: []}]
    description: >
      Until it expires or is deleted, borrowing, renewing and holds are refused with
      `code: patron_blocked`; returns and payments still work. The member sees their
      active blocks in GET /users/me. Recorded in the audit log (`user.blocked`).
    x-body: BlockIn
    x-response: {201: BlockOut, description: The block., location: URL of the block.}
    x-errors: [403, 404]
    """
    get_account_user(db.session, user_id)  # an unknown member is 404 whatever the body
    data = json_body(BlockIn())
    block = service.add_block(db.session, user_id=user_id, reason=data["reason"],
                              expires_at=data.get("expires_at"), actor_id=current_user().id)
    location = url_for("blocks.get_block", user_id=user_id, block_id=block.id)
    return BlockOut().dump(block), 201, {"Location": location}


@bp.get("/<int:user_id>/blocks")
@admin_required
def list_blocks(user_id: int):
    """A member's blocks, active and ended, newest first (admin).
    ---
    tags: [blocks]
    security: [{bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response: {200: BlocksPage, description: 'A page of blocks, with an RFC 8288 Link header.', link: true}
    x-errors: [400, 403, 404]
    """
    args = query_args(BlocksQuery())
    get_account_user(db.session, user_id)
    return paginate(service.blocks_stmt(user_id), BlockOut(), args)


@bp.get("/<int:user_id>/blocks/<int:block_id>")
@admin_required
def get_block(user_id: int, block_id: int):
    """One block (admin).
    ---
    tags: [blocks]
    security: [{bearerAuth: []}]
    x-response: {200: BlockOut, description: The block.}
    x-errors: [403, 404]
    """
    return BlockOut().dump(service.get_block(db.session, user_id, block_id))


@bp.delete("/<int:user_id>/blocks/<int:block_id>")
@admin_required
def delete_block(user_id: int, block_id: int):
    """Lift a block (admin).
    ---
    tags: [blocks]
    security: [{bearerAuth: []}]
    description: Recorded in the audit log (`user.unblocked`).
    responses:
      204: {description: Lifted.}
    x-errors: [403, 404]
    """
    service.delete_block(db.session, user_id=user_id, block_id=block_id, actor_id=current_user().id)
    return "", 204
