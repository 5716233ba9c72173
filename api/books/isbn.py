"""ISBN-10 / ISBN-13 validation and normalisation to ISBN-13."""

import re

_SEPARATORS = re.compile(r"[\s-]")


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_valid(isbn: str) -> bool:
    if not re.fullmatch(r"\d{9}[\dX]", isbn):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(isbn))
    return total % 11 == 0


def normalise_isbn(raw: str) -> str:
    """Return the ISBN-13 for an ISBN-10 or ISBN-13; ValueError if it is not valid."""
    isbn = _SEPARATORS.sub("", raw).upper()
    if len(isbn) == 10:
        if not _isbn10_valid(isbn):
            raise ValueError("Not a valid ISBN-10 (check digit mismatch or bad characters).")
        first12 = "978" + isbn[:9]
        return first12 + _isbn13_check_digit(first12)
    if len(isbn) == 13 and isbn.isascii() and isbn.isdigit() and isbn[:3] in ("978", "979"):
        if _isbn13_check_digit(isbn[:12]) != isbn[12]:
            raise ValueError("Not a valid ISBN-13 (check digit mismatch).")
        return isbn
    raise ValueError("An ISBN has 10 or 13 digits (ISBN-13 starting 978 or 979).")


def isbn13_from_number(n: int) -> str:
    """A valid ISBN-13 derived from n (for tests, benchmarks and demo data)."""
    first12 = f"978{n:09d}"
    return first12 + _isbn13_check_digit(first12)
