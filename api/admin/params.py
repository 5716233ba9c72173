"""Each job's parameters: one schema per job name (unknown or invalid fields: 400).

A job without an entry takes no parameters. The validated values are stored on the
run as JSON (`params`), so a retry runs with exactly the same ones.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.docs import doc_schema

LOAN_EXPORT_STATUSES = ("open", "returned", "overdue")


class NoParams(Schema):
    """A job that takes no parameters: only `{}` (or no body) is accepted."""


@doc_schema
class ExportLoansParams(Schema):
    status = fields.String(validate=validate.OneOf(LOAN_EXPORT_STATUSES),
                           metadata={"description": "open, returned, or overdue (open and past due)"})
    borrowed_from = fields.Date(metadata={"description": "borrowed on or after this day (UTC)"})
    borrowed_to = fields.Date(metadata={"description": "borrowed on or before this day (UTC)"})

    @validates_schema
    def _order(self, data, **_kwargs):
        if "borrowed_from" in data and "borrowed_to" in data and data["borrowed_from"] > data["borrowed_to"]:
            raise ValidationError("Must not be before borrowed_from.", "borrowed_to")


@doc_schema
class CatalogImportParams(Schema):
    """Set by POST /admin/imports, never by a client of /admin/tasks."""

    format = fields.String(required=True, validate=validate.OneOf(("csv", "marc", "marcxml")))
    dry_run = fields.Boolean(required=True)
    file_id = fields.Integer(required=True)
    filename = fields.String(required=True)


PARAMS: dict[str, type[Schema]] = {
    "export-loans": ExportLoansParams,
    "catalog-import": CatalogImportParams,
}
# Jobs started only through their own endpoint (they need an upload).
NOT_STARTABLE = {"catalog-import": "POST /admin/imports"}


def params_schema(name: str) -> Schema:
    """The job's schema: `dump(load(body))` is what the run stores (dates as ISO strings)."""
    return PARAMS.get(name, NoParams)()
