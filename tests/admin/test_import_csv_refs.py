"""A CSV import names each row by its record number (the header is row 1), as a
spreadsheet does, however many lines a quoted field spans."""

import io

from worker.import_formats import csv_records

CSV = (b'title,author,isbn,published_year,description\n'
       b'Dune,Frank Herbert,9780306406157,1965,"A desert planet.\nSpice.\nWorms."\n'
       b'Emma,Jane Austen,,1815,\n'
       b'Kim,Rudyard Kipling,9780140449136,1901,"x",extra\n')


def test_refs_are_record_numbers_not_line_numbers():
    records = list(csv_records(io.BytesIO(CSV)))
    assert [ref for ref, _ in records] == [2, 3, 4]
    assert records[0][1]["description"] == "A desert planet.\nSpice.\nWorms."
    assert records[2][1] == "The row has more fields than the header."
