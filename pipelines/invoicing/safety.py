"""Customer names and other data are untrusted: the one place that makes them inert.

- CSV: a text cell that a spreadsheet would read as a formula (`= + - @`, or a leading tab,
  carriage return or line feed) gets a leading `'`, so Excel and LibreOffice show it as text.
- HTML: every value goes through `html.escape` (quotes included, for attributes too).
- File names come from customer ids, never names, and keep only `[A-Za-z0-9-]`.
"""

from __future__ import annotations

import hashlib
import html
import re

# A text cell a spreadsheet reads as a formula: a leading tab, carriage return or line feed, or
# `= + - @` after any spaces. One pattern for Python (`re`) and SQL (DuckDB's RE2
# `regexp_matches`), so files written by DuckDB's COPY are guarded like the ones written here.
CSV_FORMULA_PATTERN = r"^(?:[\t\r\n]| *[=+\-@])"
# The characters such a cell can start with (the pattern's first step).
FORMULA_FIRST_CHARACTERS = "\t\r\n =+-@"
_FORMULA = re.compile(CSV_FORMULA_PATTERN)
# A number written by this package: what a cell starting with `-` may be without a quote.
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
MAX_STEM_LENGTH = 80


def csv_safe_cell(value: object) -> str:
    """A text cell that cannot start a spreadsheet formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if _FORMULA.match(text) else text


def is_inert_csv_cell(cell: str) -> bool:
    """True when a spreadsheet cannot read `cell` as a formula: a plain number or a neutral text."""
    if PLAIN_NUMBER.match(cell):
        return True
    return not _FORMULA.match(cell)


def html_text(value: object) -> str:
    """Text (or an attribute value) for HTML: `< > & " '` escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_file_stem(customer_id: str) -> str:
    """A file name stem from a customer id: only `[A-Za-z0-9-]`.

    Partner Center ids are GUIDs and come through unchanged. Any other id is cleaned, and a
    short hash of the original id is appended so two ids that clean alike stay apart.
    """
    if not customer_id or not customer_id.strip():
        raise ValueError("a customer id is empty: every invoice file is named after its customer id.")
    cleaned = _STEM_UNSAFE.sub("", customer_id).strip("-")[:MAX_STEM_LENGTH]
    if cleaned == customer_id:
        return cleaned
    digest = hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned}-{digest}" if cleaned else f"customer-{digest}"
