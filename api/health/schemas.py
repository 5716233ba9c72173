"""Schemas for /health."""

from marshmallow import Schema, fields

from api.docs import doc_schema


@doc_schema
class CheckOut(Schema):
    ok = fields.Boolean()
    latency_ms = fields.Float(metadata={"description": "How long the check took."})
    error = fields.String(allow_none=True)


@doc_schema
class ReadinessOut(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckOut),
                         metadata={"description": "database, redis and worker."})
