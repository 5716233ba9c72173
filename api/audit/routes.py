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
    x-query-schema: AuditQuery
    x-response:
      200: AuditsPage
      description: A page of audit entries, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 403]
    """
    args = query_args(AuditQuery())
    filters = {k: args[k] for k in ("object_type", "object_id", "actor_id") if k in args}
    return paginate(audit_stmt(**filters), AuditOut(), args)
