from marshmallow import Schema, fields, validate

IMPORT_FORMATS = ("csv", "marc", "marcxml")


class ImportForm(Schema):
    """The non-file fields of POST /admin/imports."""

    format = fields.String(required=True, validate=validate.OneOf(IMPORT_FORMATS))
    dry_run = fields.Boolean(load_default=False)
