"""A FOCUS dataset as files: CSV for any tool and Parquet for the FinOps ones, money kept decimal.

CSV: UTF-8 (no byte-order mark: FOCUS readers take the first header as a column name), comma,
header row, decimals written as they are (`12.340000`, never an exponent), datetimes ISO 8601
in UTC with a `Z` (`2026-10-01T00:00:00Z`), booleans `true`/`false`, NULL as an empty cell.
Text cells that a spreadsheet would read as a formula get a leading `'` (customer names are
untrusted). Parquet: the warehouse's types (DECIMAL(p,s), TIMESTAMP WITH TIME ZONE in UTC,
VARCHAR, DATE), written by DuckDB from the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.invoicing.safety import csv_safe_cell

TIMESTAMP_UTC = "TIMESTAMP WITH TIME ZONE"
CSV_SUFFIX, PARQUET_SUFFIX = ".csv", ".parquet"

Column = tuple[str, str]  # (name, DuckDB type)


def csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return csv_safe_cell(value)


def iso_utc(value: datetime) -> str:
    """A naive datetime is taken as UTC (FOCUS datetimes are UTC)."""
    moment = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_csv(columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    writer.writerows([csv_value(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def copy_parquet(con: duckdb.DuckDBPyConnection, path: Path, query: str, params: Sequence[object]) -> None:
    """A query's result as Parquet, written by DuckDB with the query's own column types."""
    # The path is ours (inside the data directory), quoted as a SQL literal: COPY's target takes no parameter.
    literal = str(path).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{literal}' (FORMAT parquet, COMPRESSION zstd)", list(params))


def write_parquet(path: Path, columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> None:
    """Rows made in Python (small datasets), typed by an in-memory table of the dataset's column types."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        definition = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"CREATE TABLE dataset ({definition})")
        if rows:
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(
                f"INSERT INTO dataset VALUES ({placeholders})", [list(_parquet_value(v) for v in row) for row in rows]
            )
        copy_parquet(con, path, "SELECT * FROM dataset", [])


def _parquet_value(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def write_csv(path: Path, columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> Path:
    """Written once, exclusively (into a staging folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as target:
        target.write(render_csv(columns, rows))
    return path


def write_dataset(folder: Path, stem: str, columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> list[Path]:
    """`<stem>.csv` and `<stem>.parquet` of rows made in Python."""
    csv_path = write_csv(folder / f"{stem}{CSV_SUFFIX}", columns, rows)
    parquet_path = folder / f"{stem}{PARQUET_SUFFIX}"
    write_parquet(parquet_path, columns, rows)
    return [csv_path, parquet_path]


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a FOCUS CSV, as text (what a tool reading it gets)."""
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
        return list(reader.fieldnames or []), rows
