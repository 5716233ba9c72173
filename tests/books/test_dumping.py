"""api/dumping.py: a list page's items are exactly what marshmallow would dump."""

from datetime import timedelta

from marshmallow import Schema, fields, post_dump
from sqlalchemy import select

from api.books.schemas import BookOut
from api.clock import utcnow
from api.dumping import columns_only, dump_rows
from api.extensions import db
from api.loans.schemas import LoanOut
from api.models import Book, Loan
from tests.helpers import create_user


def test_books_and_loans_dump_as_marshmallow_does(app, make_book):
    make_book(copies=2, description=None)
    book_id = make_book(copies=1, title="Ünïcode title", description="A description.")
    user = create_user(app, "dumper")
    with app.app_context():
        now = utcnow()
        db.session.add_all([Loan(user_id=user.id, book_id=book_id, borrowed_at=now - timedelta(days=20),
                                 due_at=now - timedelta(days=6)),
                            Loan(user_id=user.id, book_id=book_id, borrowed_at=now - timedelta(days=9),
                                 due_at=now - timedelta(days=2), returned_at=now - timedelta(days=3))])
        db.session.commit()
        books = db.session.scalars(select(Book)).all()
        loans = db.session.scalars(select(Loan)).all()
        assert dump_rows(BookOut(), books) == BookOut().dump(books, many=True)
        assert dump_rows(LoanOut(), loans) == LoanOut().dump(loans, many=True)
        assert {row["status"] for row in dump_rows(LoanOut(), loans)} == {"overdue", "returned"}


class Hooked(Schema):
    id = fields.Integer()

    @post_dump
    def _tag(self, data, **kwargs):
        return {**data, "tagged": True}


def test_a_schema_with_hooks_or_only_goes_to_marshmallow(app, make_book):
    make_book()
    with app.app_context():
        books = db.session.scalars(select(Book)).all()
        assert dump_rows(Hooked(), books) == [{"id": books[0].id, "tagged": True}]
        assert dump_rows(BookOut(only=("id",)), books) == [{"id": books[0].id}]


class Formats(Schema):
    """Each field's own formatting, on values of other types than it returns."""

    id = fields.Integer(as_string=True)
    copies_total = fields.Float()
    published_year = fields.String()  # an int attribute, dumped as text
    author = fields.String(attribute="description")  # None stays None
    created_at = fields.DateTime(format="rfc")
    updated_at = fields.DateTime(format="%Y-%m")
    copies_available = fields.Boolean()


def test_fields_that_change_a_value_still_format_it_as_marshmallow_does(app, make_book):
    make_book(copies=2, published_year=1999)
    with app.app_context():
        books = db.session.scalars(select(Book)).all()
        dumped = dump_rows(Formats(), books)
        assert dumped == Formats().dump(books, many=True)
        assert dumped[0]["id"] == str(books[0].id) and dumped[0]["published_year"] == "1999"
        assert dumped[0]["copies_total"] == 2.0 and type(dumped[0]["copies_total"]) is float


def test_an_unloaded_column_is_loaded_not_skipped(app, make_book):
    make_book(title="Expired then read")
    with app.app_context():
        book = db.session.scalars(select(Book)).one()
        db.session.expire(book, ["title", "updated_at"])
        assert "title" not in book.__dict__
        dumped = dump_rows(BookOut(), [book])
        assert dumped[0]["title"] == "Expired then read"
        assert dumped == BookOut().dump([book], many=True)


def test_plain_rows_dump_as_the_entities_do(app, make_book):
    make_book(copies=2, description=None)
    make_book(copies=1, title="Ünïcode title", description="A description.")
    with app.app_context():
        stmt = select(Book).order_by(Book.id)
        books = db.session.scalars(stmt).all()
        rows = db.session.connection().execute(stmt).all()
        assert columns_only(BookOut(), Book)
        assert dump_rows(BookOut(), rows) == BookOut().dump(books, many=True)


def test_only_a_schema_of_table_columns_is_read_as_rows():
    assert not columns_only(LoanOut(), Loan)  # status is a property, barcode a subquery
    assert not columns_only(Hooked(), Book)  # marshmallow's own dump
    assert not columns_only(BookOut(only=("id",)), Book)
