"""POST /admin/imports: upload a catalog file; a catalog-import run does the work."""

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from api.admin import service
from api.admin.files import store_upload
from api.admin.routes import accepted
from api.auth import admin_required, current_user
from api.errors import BadRequest
from api.extensions import db
from api.imports import bp
from api.imports.schemas import ImportForm
from api.ratelimit import admin_tasks_limit, limiter

CONTENT_TYPES = {"csv": "text/csv", "marc": "application/marc", "marcxml": "application/marcxml+xml"}
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields


@bp.post("")
@limiter.limit(admin_tasks_limit)
@admin_required
def start_import():
    """Import a catalog file (CSV, MARC 21 or MARCXML), or dry-run it.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      The upload is stored in the database (any worker can read it) and a
      `catalog-import` run is queued; poll `status_url`, then read
      GET /admin/tasks/{task}/messages for the rows that were refused. Books are
      matched by ISBN, never duplicated; importing the same file twice changes nothing
      the second time; `dry_run=true` writes nothing and reports the same counts.
      Uploads larger than IMPORT_MAX_BYTES are 413.
    requestBody:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [file, format]
            properties:
              file: {type: string, format: binary}
              format: {type: string, enum: [csv, marc, marcxml]}
              dry_run: {type: string, enum: ['true', 'false'], default: 'false'}
    x-response: {202: TaskAccepted, description: Queued., location: The status URL.}
    x-errors: [403]
    """
    limit = current_app.config["IMPORT_MAX_BYTES"]
    request.max_content_length = limit + FORM_OVERHEAD
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the file as multipart/form-data (fields file, format, dry_run).")
    upload = request.files.get("file")
    # Every uploaded part, not every field name: two parts named `file` are two files.
    if upload is None or len(list(request.files.items(multi=True))) != 1:
        raise BadRequest("Send exactly one file, in the field `file`.", errors={"file": ["Required."]})
    form = ImportForm().load(_single(request.form))
    params = {"format": form["format"], "dry_run": form["dry_run"], "file_id": 0,
              "filename": _filename(upload.filename)}
    run = service.new_run(db.session, "catalog-import", params, requested_by=current_user().id)
    db.session.flush()
    file = store_upload(db.session, run.id, upload.stream, filename=params["filename"],
                        content_type=CONTENT_TYPES[form["format"]])
    if file.size > limit:
        db.session.rollback()
        raise RequestEntityTooLarge(f"The upload is larger than IMPORT_MAX_BYTES ({limit} bytes).")
    run.params = {**params, "file_id": file.id}
    return accepted(service.enqueue(db.session, run))


def _filename(name: str | None) -> str:
    # Only printable characters: the name is stored and sent back in a header, and a
    # NUL or a lone surrogate in it would make PostgreSQL or the encoder fail (a 500).
    return "".join(ch for ch in name or "" if ch.isprintable())[:255] or "upload"


def _single(form) -> dict:
    out = {}
    for key, values in form.lists():
        if len(values) > 1:
            raise BadRequest(f"Form field {key!r} is given more than once.", errors={key: ["Give it once."]})
        out[key] = values[0]
    return out


