"""Blocks, callable without HTTP. Create and delete commit with their audit entry."""

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.accounts.service import get_account_user
from api.audit.service import record
from api.clock import utcnow
from api.errors import BadRequest, NotFound
from api.models import Block

MAX_ID = 2**31 - 1


def blocks_stmt(user_id: int) -> Select:
    """Every block of the member, active or ended, newest first (ix_blocks_user)."""
    return select(Block).where(Block.user_id == user_id).order_by(Block.id.desc())


def active_blocks(session: Session, user_id: int, *, now: datetime | None = None) -> list[Block]:
    now = now or utcnow()
    return list(session.scalars(blocks_stmt(user_id).where(Block.active_at(now))))


def add_block(session: Session, *, user_id: int, reason: str, expires_at: datetime | None,
              actor_id: int | None) -> Block:
    get_account_user(session, user_id)
    if expires_at is not None and expires_at <= utcnow():
        # A block that has already ended would be recorded and do nothing.
        raise BadRequest("The block would already have ended.",
                         errors={"expires_at": ["Must be in the future (or left out)."]})
    block = Block(user_id=user_id, reason=reason, expires_at=expires_at, created_by=actor_id)
    session.add(block)
    session.flush()
    record(session, actor_id=actor_id, action="user.blocked", object_type="user", object_id=user_id,
           data={"block_id": block.id, "reason": reason,
                 "expires_at": expires_at.isoformat() if expires_at else None})
    session.commit()
    return block


def get_block(session: Session, user_id: int, block_id: int) -> Block:
    block = session.get(Block, block_id) if 0 < block_id <= MAX_ID else None
    if block is None or block.user_id != user_id:
        raise NotFound("No such block.")
    return block


def delete_block(session: Session, *, user_id: int, block_id: int, actor_id: int | None) -> None:
    block = get_block(session, user_id, block_id)
    record(session, actor_id=actor_id, action="user.unblocked", object_type="user", object_id=user_id,
           data={"block_id": block.id, "reason": block.reason})
    session.delete(block)
    session.commit()
