"""Reading and checking one configuration CSV file against its table definition."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipelines.config.errors import ConfigProblem
from pipelines.config.tables import ConfigTable, Kind

COMMENT = "#"
_DECIMAL_PLACES = {
    Kind.DECIMAL_RATE: (9, 4),
    Kind.DECIMAL_FRACTION: (6, 4),
    Kind.DECIMAL_MONEY: (18, 2),
    Kind.DECIMAL_QUANTITY: (18, 4),
    Kind.DECIMAL_PRICE: (18, 6),
}
_CODE = re.compile(r"^[A-Z]{2,3}$")


def read_table(path: Path, table: ConfigTable) -> tuple[list[dict], list[ConfigProblem]]:
    """Rows as {column: typed value, "source_line": n}; blank cells are None; `#` lines are comments."""
    name = table.file_name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return [], [ConfigProblem(name, None, None, "is not UTF-8 text: save it as CSV UTF-8")]
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if not line.lstrip().startswith(COMMENT) and line.strip()
    ]
    if not lines:
        return [], [ConfigProblem(name, None, None, "has no header line")]
    records = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    if len(records) != len(lines):  # a quoted cell across lines: number the records one by one instead
        return [], [
            ConfigProblem(name, None, None, "has a cell with a line break inside quotes: keep every cell on one line")
        ]
    header = [cell.strip() for cell in records[0]]
    header_line = lines[0][0]
    known = {column.name for column in table.columns}
    problems = [
        ConfigProblem(
            name,
            header_line,
            cell or "(blank)",
            f"is not a column of this file (columns: {', '.join(c.name for c in table.columns)})",
        )
        for cell in header
        if cell not in known
    ]
    missing = [column.name for column in table.columns if column.required and column.name not in header]
    problems.extend(
        ConfigProblem(name, header_line, column, "is a required column and is missing from the header")
        for column in missing
    )
    if problems:
        return [], problems
    rows: list[dict[str, object]] = []
    seen: dict[object, int] = {}
    for (number, _), record in zip(lines[1:], records[1:]):
        if len(record) != len(header):
            problems.append(
                ConfigProblem(
                    name,
                    number,
                    None,
                    f"has {len(record)} cells where the header has {len(header)}: check the commas and quotes",
                )
            )
            continue
        cells = dict(zip(header, record))
        row: dict[str, object] = {"source_line": number}
        for column in table.columns:
            raw = cells.get(column.name, "").strip()
            value, problem = _typed(raw, column)
            if problem:
                problems.append(ConfigProblem(name, number, column.name, problem))
            row[column.name] = value
        key = row[table.key]
        if key is not None and key in seen:
            problems.append(
                ConfigProblem(
                    name, number, table.key, f"'{key}' is already on line {seen[key]}: each {table.key} appears once"
                )
            )
        elif key is not None:
            seen[key] = number
        rows.append(row)
    return rows, problems


def _typed(raw: str, column) -> tuple[object, str | None]:
    if not raw:
        return None, (f"is blank: write {column.help or 'a value'}" if column.required else None)
    if column.choices and raw not in column.choices:
        return None, f"is '{raw}': write one of {', '.join(column.choices)}"
    if column.pattern and not re.fullmatch(column.pattern, raw):
        return None, f"is '{raw}': write {column.help}"
    kind = column.kind
    if kind is Kind.GUID:
        return raw.lower(), None
    if kind is Kind.CODE:
        code = raw.upper()
        return (code, None) if _CODE.match(code) else (None, f"is '{raw}': write {column.help}")
    if kind is Kind.INTEGER:
        return (int(raw), None) if re.fullmatch(r"-?\d{1,9}", raw) else (None, f"is '{raw}': write {column.help}")
    if kind is Kind.DATE:
        try:
            return date.fromisoformat(raw), None
        except ValueError:
            return None, f"is '{raw}': write {column.help}"
    if kind in _DECIMAL_PLACES:
        return _decimal(raw, column, *_DECIMAL_PLACES[kind])
    return raw, None


def _decimal(raw: str, column, precision: int, scale: int) -> tuple[Decimal | None, str | None]:
    wrong = f"is '{raw}': write {column.help or 'a number'}, with a point for decimals and no currency sign"
    if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return None, wrong
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None, wrong
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        return None, f"is '{raw}': at most {scale} decimal places"
    if abs(value) >= Decimal(10) ** (precision - scale):
        return None, f"is '{raw}': too large"
    return value, None
