"""Reading catalog records from an upload, one at a time: CSV, MARC 21, MARCXML.

Each reader takes a binary stream and yields `(ref, fields)` where `ref` is the row
(CSV, counting the header as row 1) or record number and `fields` is a dict of raw
strings, or `(ref, error)` with a string when the record itself cannot be read.
`clean` turns raw fields into book values or a list of (code, detail) problems.
Nothing here holds more than one record (MARCXML: one chunk's worth of records).
"""

import csv
import io
import re
import xml.sax
from collections.abc import Iterator

from marshmallow import ValidationError
from pymarc import MARCReader
from pymarc.exceptions import FatalReaderError
from pymarc.marcxml import XmlHandler

from api.admin.files import JobFailed
from api.books.isbn import normalise_isbn
from api.books.schemas import DESCRIPTION_MAX, MAX_COPIES, YEAR_MIN
from api.clock import utcnow
from api.items.schemas import ItemIn

# A field may be as long as the upload (IMPORT_MAX_BYTES): the csv module's default
# limit (128 KiB) failed the whole import on one long field; clean() refuses it instead.
csv.field_size_limit(64 * 1024 * 1024)

REQUIRED = ("title", "author", "isbn", "published_year")
OPTIONAL = ("description", "barcode", "item_type", "copies")
_YEAR = re.compile(r"\d{4}")
_ITEM = ItemIn()
QUOTED_CHARS = 60


def csv_records(raw) -> Iterator[tuple[int, dict | str]]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise JobFailed(f"The CSV header lacks {', '.join(missing)} (it has: {', '.join(header)}).")
        reader.fieldnames = header
        # The record's number (the header is 1), not reader.line_num: a quoted field
        # may span lines, and a spreadsheet numbers records. Blank lines are skipped.
        for ref, row in enumerate(reader, start=2):
            if None in row:
                yield ref, "The row has more fields than the header."
                continue
            yield ref, {k: v for k, v in row.items() if k in REQUIRED or k in OPTIONAL}
    except UnicodeDecodeError as e:
        raise JobFailed(f"The file is not UTF-8 (near byte {e.start} of a chunk).") from None
    except csv.Error as e:
        raise JobFailed(f"Unreadable CSV at line {reader.line_num}: {e}") from None


def _first(record, tag: str, *codes: str) -> str | None:
    for field in record.get_fields(tag):
        values = [v for code in codes for v in field.get_subfields(code)]
        if values:
            return " ".join(v.strip() for v in values if v.strip())
    return None


def _marc_fields(record) -> dict:
    isbn = _first(record, "020", "a")
    year = _first(record, "264", "c") or _first(record, "260", "c")
    title = _first(record, "245", "a", "b")
    author = _first(record, "100", "a")
    items = [(f.get("p"), f.get("y")) for f in record.get_fields("952") if f.get("p")]
    return {
        "isbn": isbn.split()[0] if isbn else "",
        "title": (title or "").rstrip(" /:;,.=").strip(),
        "author": (author or "").rstrip(" ,.").strip(),
        "published_year": (m.group() if (m := _YEAR.search(year or "")) else year or ""),
        "items": items,
    }


class _BetweenRecords:
    """The upload as pymarc reads it, without the line breaks, blanks and ^Z (0x1A, a
    DOS end of file) some systems put between records or at the end: pymarc takes such
    a byte for the start of a record length and gives up on the rest of the file.
    pymarc reads 5 bytes (the length) at the start of each record and never otherwise
    (a record is at least 25 bytes), so only those reads skip them."""

    _SKIPPED = b"\r\n\x1a \t"

    def __init__(self, raw):
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        if size != 5:
            return self.raw.read(size)
        head = self.raw.read(5)
        while head[:1] and head[0] in self._SKIPPED:
            head = head.lstrip(self._SKIPPED)
            head += self.raw.read(5 - len(head))
        return head


def marc_records(raw) -> Iterator[tuple[int, dict | str]]:
    reader = MARCReader(_BetweenRecords(raw), to_unicode=True, force_utf8=True, utf8_handling="replace",
                        permissive=True)
    for number, record in enumerate(reader, start=1):
        if record is None and isinstance(reader.current_exception, FatalReaderError):
            # A bad length or a cut-off record: where the next record starts is lost, and
            # pymarc stops here. Said so, rather than a success that never read the rest.
            error = type(reader.current_exception).__name__
            raise JobFailed(f"MARC record {number} cannot be read ({error}): the file is cut off or"
                            " corrupt from there. The records counted in the result were imported;"
                            " import the mended file again (what is there is matched).")
        if record is None:
            yield number, f"Unreadable MARC record: {reader.current_exception}"
        else:
            yield number, _marc_fields(record)


class _Collect(XmlHandler):
    def __init__(self):
        super().__init__(strict=False)
        self.records: list = []

    def process_record(self, record):
        self.records.append(record)


def marcxml_records(raw) -> Iterator[tuple[int, dict | str]]:
    handler = _Collect()
    # Untrusted XML: external entities are off (no file or network reads), and the
    # bundled expat (>= 2.4) refuses entity-expansion bombs on its own.
    parser = xml.sax.make_parser()  # noqa: S317
    parser.setFeature(xml.sax.handler.feature_namespaces, 1)
    parser.setFeature(xml.sax.handler.feature_external_ges, 0)
    parser.setFeature(xml.sax.handler.feature_external_pes, 0)
    parser.setContentHandler(handler)
    number = 0
    try:
        while chunk := raw.read(64 * 1024):
            parser.feed(chunk)
            for record in handler.records:
                number += 1
                yield number, _marc_fields(record)
            handler.records = []
        parser.close()
    except xml.sax.SAXParseException as e:
        raise JobFailed(f"Malformed MARCXML after record {number}: {e.getMessage()} "
                        f"(line {e.getLineNumber()})") from None
    for record in handler.records:
        number += 1
        yield number, _marc_fields(record)


READERS = {"csv": csv_records, "marc": marc_records, "marcxml": marcxml_records}


def _int(value: str | None, default: int | None = None) -> int | None:
    value = (value or "").strip()
    if not value:
        return default
    return int(value) if re.fullmatch(r"\d{1,9}", value) else -1


def _quoted(value, *, raw: bool = False) -> str:
    """A field's value as a message quotes it: its first QUOTED_CHARS characters, so one
    huge bad field (a CSV field may be 64 MB) cannot make the report line, and with it
    the run's output, huge. repr() unless `raw`."""
    cut = value[:QUOTED_CHARS] if isinstance(value, str) else value
    shown = cut if raw else repr(cut)
    return shown + "…" if isinstance(value, str) and len(value) > QUOTED_CHARS else shown


def clean(fields: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """Book values and items from raw fields, or None and the problems found."""
    problems = []
    values = {name: (fields.get(name) or "").strip() for name in ("title", "author", "isbn")}
    for name, limit in (("title", 300), ("author", 200)):
        if not values[name]:
            problems.append(("missing_field", f"{name} is empty."))
        elif len(values[name]) > limit:
            problems.append(("too_long", f"{name} is longer than {limit} characters."))
        elif "\x00" in values[name]:  # as api.fields.Text: PostgreSQL stores no NUL
            problems.append(("bad_chars", f"{name} contains a NUL character."))
    try:
        values["isbn"] = normalise_isbn(values["isbn"])
    except ValueError as e:
        problems.append(("invalid_isbn", f"{_quoted(values['isbn'], raw=True) or '(empty)'}: {e}"))
    year = _int(fields.get("published_year"))
    if year is None or not YEAR_MIN <= year <= utcnow().year + 1:
        problems.append(("invalid_year", f"published_year {_quoted(fields.get('published_year'))} is not a "
                                         f"year between {YEAR_MIN} and next year."))
    values["published_year"] = year
    description = (fields.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        problems.append(("too_long", f"description is longer than {DESCRIPTION_MAX} characters."))
    elif "\x00" in description:
        problems.append(("bad_chars", "description contains a NUL character."))
    values["description"] = description or None
    item_type = (fields.get("item_type") or "").strip().lower() or "book"
    items = fields.get("items")
    if items is None:
        barcode = (fields.get("barcode") or "").strip()
        items = [(barcode, item_type)] if barcode else []
    values["items"] = []
    for barcode, kind in items:
        try:  # the rules of POST /books/<id>/items; item types as codes (Koha's "BK" is "bk")
            item = _ITEM.load({"barcode": barcode, "item_type": (kind or "book").strip().lower()})
        except ValidationError as e:
            problems.append(("invalid_item", f"item {_quoted(barcode)}: " + "; ".join(
                f"{name}: {' '.join(msgs)}" for name, msgs in e.messages.items())))
        else:
            values["items"].append((item["barcode"], item["item_type"]))
    values["item_type"] = values["items"][0][1] if values["items"] else item_type
    copies = _int(fields.get("copies"), default=max(len(items), 1))
    if not 1 <= copies <= MAX_COPIES:
        problems.append(("invalid_copies", f"copies {_quoted(fields.get('copies'))} is not 1-{MAX_COPIES}."))
    values["copies"] = copies
    return (None, problems) if problems else (values, [])
