"""Schemas for /books, one per direction.

Strings are stripped and must not be blank; NUL and lone surrogates are refused
(PostgreSQL and UTF-8 encoders reject them, which would otherwise be a 500).
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.books.isbn import normalise_isbn
from api.clock import utcnow
from api.docs import doc_schema
from api.fields import CleanString, Code
from api.pagination import PageArgs, page_schema

TITLE_MAX, AUTHOR_MAX, DESCRIPTION_MAX, QUERY_MAX = 300, 200, 5000, 200
YEAR_MIN = 1000  # older works are catalogued by their edition's year
MAX_COPIES = 10_000
SORTS = ("relevance", "title", "-title", "author", "-author", "published_year", "-published_year",
         "created_at", "-created_at")


class Isbn(CleanString):
    """ISBN-10 or ISBN-13 (hyphens and spaces allowed), loaded as the ISBN-13."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_isbn(value)
        except ValueError as e:
            raise ValidationError(str(e)) from None


def ItemType(**kwargs) -> fields.String:  # noqa: N802
    # A code as rules name it ("*", which there means any type, is not one).
    kwargs.setdefault("metadata", {}).setdefault("example", "book")
    return Code(**kwargs)


def _year_ok(year: int) -> None:
    # Next year's books are announced and catalogued before they ship.
    if not YEAR_MIN <= year <= utcnow().year + 1:
        raise ValidationError(f"Must be between {YEAR_MIN} and next year.")


@doc_schema
class BookIn(Schema):
    title = CleanString(max_length=TITLE_MAX, required=True)
    author = CleanString(max_length=AUTHOR_MAX, required=True)
    isbn = Isbn(required=True, metadata={"description": "ISBN-10 or ISBN-13; stored as ISBN-13.",
                                         "example": "0-306-40615-2"})
    published_year = fields.Integer(required=True, strict=True, validate=_year_ok,
                                    metadata={"minimum": YEAR_MIN})
    description = CleanString(max_length=DESCRIPTION_MAX, allow_blank=True, allow_none=True,
                              load_default=None)
    copies = fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_COPIES),
                            metadata={"description": "Copies the library owns: that many items are "
                                                     "created, with generated barcodes."})
    item_type = ItemType(load_default="book", metadata={"description": "Type of the items created."})


@doc_schema
class BookPatch(Schema):
    """Every field optional; `copies` adds or withdraws available items to reach it."""

    title = CleanString(max_length=TITLE_MAX)
    author = CleanString(max_length=AUTHOR_MAX)
    isbn = Isbn()
    published_year = fields.Integer(strict=True, validate=_year_ok, metadata={"minimum": YEAR_MIN})
    description = CleanString(max_length=DESCRIPTION_MAX, allow_blank=True, allow_none=True)
    copies = fields.Integer(strict=True, validate=validate.Range(0, MAX_COPIES))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one field to change.")


@doc_schema
class BookOut(Schema):
    id = fields.Integer()
    title = fields.String()
    author = fields.String()
    isbn = fields.String(metadata={"description": "ISBN-13."})
    published_year = fields.Integer()
    description = fields.String(allow_none=True)
    copies_total = fields.Integer(metadata={"description": "Items not lost or withdrawn."})
    copies_available = fields.Integer(metadata={"description": "Items free to borrow now (available)."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


BooksPage = page_schema(BookOut)


@doc_schema
class BookQuery(PageArgs):
    q = CleanString(max_length=QUERY_MAX, metadata={
        "description": "Words matching title, author or ISBN (README \"Search\")."})
    author = CleanString(max_length=AUTHOR_MAX, metadata={
        "description": "Case-insensitive substring of the author."})
    available = fields.Boolean(metadata={"description": "true: only books with a free copy; "
                                                        "false: only books without."})
    # No default: with q the order is relevance, without it title.
    sort = fields.String(validate=validate.OneOf(SORTS),
                         metadata={"description": "Order; ties are broken by id."})
