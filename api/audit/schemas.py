from marshmallow import Schema, fields

from api.docs import doc_schema
from api.fields import Id, Text
from api.pagination import PageArgs, page_schema


@doc_schema
class AuditOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True, metadata={"description": "The admin; null once deleted."})
    action = fields.String(metadata={"example": "loan.due_date_changed"})
    object_type = fields.String(metadata={"example": "loan"})
    object_id = fields.String()
    data = fields.Raw(allow_none=True, metadata={"type": "object", "nullable": True})


AuditsPage = page_schema(AuditOut)


@doc_schema
class AuditQuery(PageArgs):
    object_type = Text(allow_blank=False, max_length=32)
    object_id = Text(allow_blank=False, max_length=64)
    actor_id = Id(strict=False)
