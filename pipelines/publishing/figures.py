"""What a publication is checked against before analysts see it: per table and month, the row
count and the exact sum of every DECIMAL column (money, quantities, rates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from pipelines.sql import one_row

PERIOD_COLUMN = "billing_period"
# Figures of a table without months (configuration) are filed under this key.
WHOLE_TABLE = None

Figures = dict[str, object]  # "rows" -> int, column name -> Decimal sum


def table_figures(
    con: duckdb.DuckDBPyConnection, database: str, table: str, months: list[date] | None = None
) -> dict[date | None, Figures]:
    """{month: figures} of a monthly table (only `months` when given), {None: figures} otherwise."""
    schema, name = table.split(".")
    columns = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, name],
    ).fetchall()
    decimals = [column for column, data_type in columns if data_type.startswith("DECIMAL")]
    monthly = PERIOD_COLUMN in {column for column, _ in columns}
    sums = "".join(f', sum("{column}")' for column in decimals)
    relation = f'"{database}"."{schema}"."{name}"'
    if monthly:
        where = f" WHERE {PERIOD_COLUMN} IN (SELECT unnest(?::DATE[]))" if months is not None else ""
        rows = con.execute(
            f"SELECT {PERIOD_COLUMN}, count(*){sums} FROM {relation}{where} GROUP BY 1",
            [months] if months is not None else [],
        ).fetchall()
    else:
        rows = [(WHOLE_TABLE, *one_row(con, f"SELECT count(*){sums} FROM {relation}"))]
    return {row[0]: {"rows": row[1], **dict(zip(decimals, row[2:]))} for row in rows}


def differences(table: str, expected: dict, found: dict, where: str) -> list[str]:
    """Sentences naming each month and figure of `table` that differs from `where`'s."""
    sentences = []
    for month in sorted(set(expected) | set(found), key=lambda m: (m is not None, m)):
        wanted, got = expected.get(month, {"rows": 0}), found.get(month, {"rows": 0})
        for figure in wanted.keys() | got.keys():
            a, b = wanted.get(figure), got.get(figure)
            if a != b and not (
                figure != "rows" and {a, b} <= {None, Decimal(0)} and wanted["rows"] == got["rows"] == 0
            ):
                label = f"{month:%Y-%m}" if month else "all rows"
                what = "rows" if figure == "rows" else f"total of {figure}"
                sentences.append(f"{table} ({label}): {what} is {_shown(b)} in the new copy but {_shown(a)} in {where}")
    return sentences


def _shown(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:,}"
    return "none" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
