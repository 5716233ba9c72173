"""ISBN-10 / ISBN-13 validation and normalisation to ISBN-13, by python-stdnum."""

from stdnum import ean, isbn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

LENGTH = "An ISBN has 10 or 13 digits (ISBN-13 starting 978 or 979)."


def normalise_isbn(raw: str) -> str:
    """Return the ISBN-13 for an ISBN-10 or ISBN-13; ValueError if it is not valid."""
    try:
        number = isbn.validate(raw)
    except (InvalidLength, InvalidComponent):
        raise ValueError(LENGTH) from None
    except InvalidChecksum:
        raise ValueError("Not a valid ISBN (check digit mismatch).") from None
    except ValidationError:
        raise ValueError("Not a valid ISBN (only digits, hyphens, spaces and a final X).") from None
    if not number.isascii():  # stdnum takes other scripts' digits; the catalog stores ASCII
        raise ValueError("Not a valid ISBN (only digits, hyphens, spaces and a final X).")
    return isbn.to_isbn13(number)


def isbn13_from_number(n: int) -> str:
    """A valid ISBN-13 derived from n (for tests, benchmarks and demo data)."""
    first12 = f"978{n:09d}"
    return first12 + ean.calc_check_digit(first12)
