from api.audit import bp
from api.audit.schemas import AuditOut, AuditQuery
from api.audit.service import audit_stmt
from api.auth import admin_required
from api.pagination import paginate
from api.parsing import query_args


@bp.get("")
@admin_required
def list_audit():
    """The audit log of staff actions, newest first.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    parameters:
      - {in: query, name: object_type, schema: {type: string, minLength: 1, maxLength: 32}}
      - {in: query, name: object_id, schema: {type: string, minLength: 1, maxLength: 64}}
      - {in: query, name: actor_id, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
    responses:
      200:
        description: A page of audit entries, with an RFC 8288 Link header.
        headers:
          Link: {schema: {type: string}}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/AuditsPage'}
      400: {$ref: '#/components/responses/BadRequest'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    args = query_args(AuditQuery())
    filters = {k: args[k] for k in ("object_type", "object_id", "actor_id") if k in args}
    return paginate(audit_stmt(**filters), AuditOut(), args)
