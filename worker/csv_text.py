"""CSV text for files people open in spreadsheets (exports, import reports).

Written by defusedcsv: a text cell that a spreadsheet would run as a formula (it
starts with = + - @ | or %) gets a leading ', since titles, notes and email
addresses come from outside; numbers (amounts) are left as they are. OWASP ("CSV
Injection") also names a leading tab or carriage return, which defusedcsv leaves
alone (a spreadsheet may drop the blank and run what follows), so those cells get
the same ' here.
"""

import io
from collections.abc import Iterable
from typing import Any

from defusedcsv import csv

_ALSO_DEFUSED = ("\t", "\r")


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """`rows` as CSV lines, each cell defused."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(map(_blank_led, rows))
    return buffer.getvalue()


def _blank_led(row: Iterable[Any]) -> list:
    return ["'" + cell if type(cell) is str and cell.startswith(_ALSO_DEFUSED) else cell
            for cell in row]
