"""Schemas for /users/<id>/blocks."""

from marshmallow import Schema, fields, pre_dump

from api.accounts.schemas import Note
from api.clock import utcnow
from api.docs import doc_schema
from api.fields import Time
from api.pagination import PageArgs, page_schema


@doc_schema
class BlockIn(Schema):
    reason = Note(required=True, metadata={"description": "Shown to the member.",
                                           "example": "Library card reported stolen"})
    expires_at = Time(allow_none=True, metadata={"description": "When it ends by itself (future); "
                                                           "null or left out: until deleted."})


@doc_schema
class BlockOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    reason = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    active = fields.Boolean(metadata={"description": "Not yet expired."})
    created_at = fields.DateTime()
    created_by = fields.Integer(allow_none=True)

    @pre_dump
    def _active(self, block, **_kwargs) -> dict:
        names = ("id", "user_id", "reason", "expires_at", "created_at", "created_by")
        return {**{name: getattr(block, name) for name in names}, "active": block.is_active(utcnow())}


BlocksPage = page_schema(BlockOut)


@doc_schema
class BlocksQuery(PageArgs):
    pass
