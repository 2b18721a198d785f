"""Rejected lines hold the month: a line set aside at ingest that carries money is missing from
every invoice, so the month's invoices wait until the file is fixed or the line acknowledged.

Lines are judged one by one, never by their sum: a +250.00 charge and a -250.00 credit, both
rejected, leave Microsoft's total unchanged but are two lines missing from two customers' bills.
A line carries money when one of its money fields (MONEY columns of its file kind, found by the
file's own header) holds anything but zero or nothing; a line too damaged to tell (cut off
before its amounts, unparseable) is taken to carry money.

Acknowledgements: `<data>/acknowledgements/<YYYY-MM>.yml`, one entry per line let through,
each saying who decided and why (the month-close approval builds on this file)::

    acknowledged:
      - file: D020001IVK_Usage.csv
        line: 12
        by: Jane Doe (billing)
        reason: Microsoft credits this line next month, case 1234
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import yaml

from pipelines.formats import COLUMNS_BY_KIND, MONEY, FileKind, header_key
from pipelines.ingest.schema import REJECTED_ROWS
from pipelines.periods import BillingPeriod

ACKNOWLEDGEMENTS_DIR = "acknowledgements"
SHOWN_IN_SENTENCE = 5


class AcknowledgementError(Exception):
    """The acknowledgement file cannot be read as documented: nothing in it is taken."""


@dataclass(frozen=True)
class RejectedLine:
    file_name: str
    line_number: int | None
    file_kind: str | None
    column_name: str | None
    reason: str
    raw_line: str | None


@dataclass(frozen=True)
class MoneyField:
    column: str
    text: str  # exactly as the file has it


@dataclass(frozen=True)
class HeldLine:
    line: RejectedLine
    money: tuple[MoneyField, ...]  # empty: the amounts cannot be read from the line

    @property
    def amounts(self) -> str:
        """The money fields as written, for the report and the check's sentence."""
        if not self.money:
            return "amounts unreadable (the line is damaged)"
        return ", ".join(f"{field.column} {field.text}" for field in self.money)


@dataclass(frozen=True)
class Acknowledgement:
    file: str
    line: int
    by: str
    reason: str


def acknowledgements_path(data_dir: Path, period: BillingPeriod) -> Path:
    return data_dir / ACKNOWLEDGEMENTS_DIR / f"{period.key}.yml"


def money_columns(kind: str | None, header: list[str] | None) -> dict[int, str]:
    """Position -> canonical name of each money field, by the file's header when it is known,
    else by the kind's documented column order."""
    try:
        columns = COLUMNS_BY_KIND[FileKind(kind)]
    except ValueError:
        return {}
    money = {
        header_key(alias): column.name
        for column in columns
        if column.type == MONEY
        for alias in (column.name, *column.aliases)
    }
    names = header or [column.name for column in columns]
    return {position: money[header_key(name)] for position, name in enumerate(names) if header_key(name) in money}


def money_of(line: RejectedLine, header: list[str] | None) -> tuple[bool, tuple[MoneyField, ...]]:
    """(carries money, its money fields as written). A line that cannot be split into the
    header's fields, or misses one of its money fields, carries money of unknown amount."""
    positions = money_columns(line.file_kind, header)
    if not positions:
        return False, ()
    if line.raw_line is None:
        return True, ()
    try:
        values = next(csv.reader([line.raw_line]))
    except (csv.Error, StopIteration):
        return True, ()
    if max(positions) >= len(values):
        return True, ()
    fields = tuple(MoneyField(name, values[position].strip()) for position, name in sorted(positions.items()))
    return any(not _is_zero(field.text) for field in fields), fields


def amounts_as_written(line: RejectedLine, header: list[str] | None) -> str:
    """The line's money fields exactly as its file writes them (the report's column); empty when
    the line's kind has no money fields."""
    carries, money = money_of(line, header)
    if not carries and not money:
        return ""
    return HeldLine(line, money).amounts


def _is_zero(text: str) -> bool:
    if not text:
        return True
    try:
        return Decimal(text) == 0
    except InvalidOperation:
        return False  # `12,50`: an amount the ingest could not read is still an amount


def parse_acknowledgements(text: str, source: str) -> dict[tuple[str, int], Acknowledgement]:
    """Entries keyed by (file name, line); every entry must name the file, line, who and why."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise AcknowledgementError(f"{source} is not valid YAML{at}: fix it or remove it.") from None
    entries = document.get("acknowledged") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise AcknowledgementError(
            f"{source} must hold a list named 'acknowledged' (see its format in the documentation)."
        )
    found: dict[tuple[str, int], Acknowledgement] = {}
    for position, entry in enumerate(entries, start=1):
        missing = [
            key
            for key in ("file", "line", "by", "reason")
            if not isinstance(entry, dict) or not str(entry.get(key) or "").strip()
        ]
        if missing:
            raise AcknowledgementError(
                f"{source}, entry {position}: it must say {', '.join(missing)} (file, line, by and reason)."
            )
        try:
            line = int(entry["line"])
        except (TypeError, ValueError):
            raise AcknowledgementError(
                f"{source}, entry {position}: line '{entry['line']}' is not a line number."
            ) from None
        found[(str(entry["file"]).strip(), line)] = Acknowledgement(
            str(entry["file"]).strip(), line, str(entry["by"]).strip(), str(entry["reason"]).strip()
        )
    return found


def read_acknowledgements(data_dir: Path, period: BillingPeriod) -> dict[tuple[str, int], Acknowledgement]:
    path = acknowledgements_path(data_dir, period)
    if not path.is_file() or path.is_symlink():
        return {}
    return parse_acknowledgements(path.read_text(encoding="utf-8-sig"), f"The acknowledgement file {path.name}")


def read_header(landing: Path, file_name: str) -> list[str] | None:
    """The header of a landed file, when it is a plain CSV in the month's folder (never a link)."""
    path = landing / file_name
    if path.parent != landing or not path.is_file() or path.is_symlink():
        return None
    with path.open("rb") as source:
        first = source.readline(1 << 16)
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            text = first.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            header = next(csv.reader([text.rstrip("\r\n")]))
        except (csv.Error, StopIteration):
            return None
        return header if len(header) > 1 else None
    return None


def file_headers(stored: dict[str, list[str] | None], landing: Path | None) -> dict[str, list[str] | None]:
    """Each file's header: as raw.rejected_rows keeps it, else (lines kept before it did) read
    again from the landed file, else None (the layout's documented column order)."""
    return {name: header or (read_header(landing, name) if landing else None) for name, header in stored.items()}


def holding_lines(
    lines: list[RejectedLine],
    headers: dict[str, list[str] | None],
    acknowledged: dict[tuple[str, int], Acknowledgement],
) -> tuple[list[HeldLine], list[tuple[HeldLine, Acknowledgement]]]:
    """(lines that hold the month, money lines let through by an acknowledgement)."""
    held, let_through = [], []
    for line in lines:
        carries, money = money_of(line, headers.get(line.file_name))
        if not carries:
            continue
        entry = acknowledged.get((line.file_name, line.line_number)) if line.line_number is not None else None
        if entry:
            let_through.append((HeldLine(line, money), entry))
        else:
            held.append(HeldLine(line, money))
    return held, let_through


def month_rejections(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, landing: Path, data_dir: Path
) -> tuple[list[RejectedLine], list[HeldLine], list[tuple[HeldLine, Acknowledgement]]]:
    """(the month's rejected lines, those that hold it, those let through by an acknowledgement),
    read from the warehouse, the month's landing folder `landing` and `data_dir`'s acknowledgements.
    Raises AcknowledgementError when the acknowledgement file cannot be read."""
    rows = con.execute(
        f"""SELECT file_name, line_number, file_kind, column_name, reason, raw_line FROM {REJECTED_ROWS}
            WHERE billing_period = ? ORDER BY file_name, line_number""",
        [period.start],
    ).fetchall()
    lines = [RejectedLine(*row) for row in rows]
    headers = {name: read_header(landing, name) for name in {line.file_name for line in lines}}
    acknowledged = read_acknowledgements(data_dir, period)
    held, let_through = holding_lines(lines, headers, acknowledged)
    return lines, held, let_through


def holding_sentence(held: list[HeldLine], period: BillingPeriod) -> str:
    """What the clerk reads: which lines, where, with which amounts, and how to release them."""
    shown = "; ".join(
        f"file '{h.line.file_name}', line {h.line.line_number if h.line.line_number is not None else '(unknown)'}"
        f"{', column ' + h.line.column_name if h.line.column_name else ''}: {h.amounts} ({h.line.reason})"
        for h in held[:SHOWN_IN_SENTENCE]
    )
    more = f"; and {len(held) - SHOWN_IN_SENTENCE} more" if len(held) > SHOWN_IN_SENTENCE else ""
    return (
        f"{len(held)} rejected line(s) carrying money are missing from the invoices, so {period}'s invoices wait: "
        f"{shown}{more}. Correct the file(s) and run the month again, or acknowledge each line by file and line in "
        f"{ACKNOWLEDGEMENTS_DIR}/{period}.yml (with who and why)."
    )
