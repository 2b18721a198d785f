"""A FOCUS dataset as files: CSV for any tool and Parquet for the FinOps ones, money kept decimal.

Both are written by DuckDB (`COPY ... TO`), so no row of a month passes through Python: the
Parquet file from the query (sorted once), then the CSV from that Parquet file, whose scan keeps
the rows' order (DuckDB's `preserve_insertion_order`, on by default). CSV: UTF-8 (no byte-order mark: FOCUS readers take the first header as a column
name), comma, CRLF, header row, decimals written as they are (`12.340000`, never an exponent),
datetimes ISO 8601 in UTC with a `Z` (`2026-10-01T00:00:00Z`), booleans `true`/`false`, NULL as an
empty cell. Text cells that a spreadsheet would read as a formula get a leading `'` (customer
names are untrusted), in SQL, by the pattern the invoices' CSV files use (`CSV_FORMULA_PATTERN`).
Parquet: the query's own types (DECIMAL(p,s), TIMESTAMP WITH TIME ZONE in UTC, VARCHAR), zstd.

Reading back (`read_rows`) gives both formats as the same text a CSV reader gets, for the checks.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.invoicing.safety import CSV_FORMULA_PATTERN, FORMULA_FIRST_CHARACTERS
from pipelines.sql import quote_identifier, string_literal

TIMESTAMP_UTC = "TIMESTAMP WITH TIME ZONE"
CSV_SUFFIX, PARQUET_SUFFIX = ".csv", ".parquet"
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CSV_OPTIONS = "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', NEW_LINE '\r\n'"
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd"
READ_BATCH = 10_000

Column = tuple[str, str]  # (name, DuckDB type)


def text_expression(name: str, sql_type: str, guard: bool = True) -> str:
    """SQL for one column as the CSV writes it: datetimes ISO 8601 UTC (a naive one taken as UTC),
    numbers and booleans as DuckDB prints them (decimals keep their scale), text with the formula
    guard (`guard`; the checks read text unguarded)."""
    column = quote_identifier(name)
    kind = sql_type.upper()
    if kind in (TIMESTAMP_UTC, "TIMESTAMPTZ"):
        return f"strftime(timezone('UTC', {column}), '{ISO_UTC_FORMAT}')"
    if kind.startswith("TIMESTAMP"):
        return f"strftime({column}::timestamp, '{ISO_UTC_FORMAT}')"
    if kind in ("VARCHAR", "JSON") and guard:
        text = f"{column}::varchar"
        # Every character the pattern can start with (tab to `@`) is at most 64: testing that first
        # spares the regular expression on most cells (a daily month has hundreds of millions).
        # Not an IN list: DuckDB plans a long one as a join, which does not keep the rows' order.
        could_start_a_formula = f"ascii({text}) <= {max(map(ord, FORMULA_FIRST_CHARACTERS))}"
        return (
            f"CASE WHEN {could_start_a_formula} AND regexp_matches({text}, {string_literal(CSV_FORMULA_PATTERN)}) "
            f"THEN '''' || {text} ELSE {text} END"
        )
    return f"{column}::varchar"


def csv_query(columns: Sequence[Column], query: str, guard: bool = True) -> str:
    """`query`'s rows as the CSV's text cells, under the columns' own names."""
    cells = ", ".join(
        f"{text_expression(name, sql_type, guard)} AS {quote_identifier(name)}" for name, sql_type in columns
    )
    return f"SELECT {cells} FROM ({query}) AS q"


def copy_csv(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[Column], query: str, params: Sequence[object]
) -> Path:
    """A query's result as a FOCUS CSV file, formatted and guarded in SQL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({csv_query(columns, query)}) TO {string_literal(path)} ({CSV_OPTIONS})", list(params))
    return path


def copy_parquet(con: duckdb.DuckDBPyConnection, path: Path, query: str, params: Sequence[object]) -> Path:
    """A query's result as Parquet, written by DuckDB with the query's own column types."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({query}) TO {string_literal(path)} ({PARQUET_OPTIONS})", list(params))
    return path


def copy_dataset(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    stem: str,
    columns: Sequence[Column],
    query: str,
    params: Sequence[object],
) -> list[Path]:
    """`<stem>.parquet` of one query, then `<stem>.csv` of that file's rows in their order: the
    query (a month's rows sorted) runs once."""
    parquet = copy_parquet(con, folder / f"{stem}{PARQUET_SUFFIX}", query, params)
    written = f"SELECT * FROM read_parquet({string_literal(parquet)})"
    return [copy_csv(con, folder / f"{stem}{CSV_SUFFIX}", columns, written, []), parquet]


def write_dataset(folder: Path, stem: str, columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> list[Path]:
    """`<stem>.csv` and `<stem>.parquet` of rows made in Python (the small datasets), typed by an
    in-memory table of the dataset's column types and written as the warehouse's are."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        definition = ", ".join(f"{quote_identifier(name)} {sql_type}" for name, sql_type in columns)
        con.execute(f"CREATE TABLE dataset ({definition})")
        if rows:
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(
                f"INSERT INTO dataset VALUES ({placeholders})", [[_as_utc(value) for value in row] for row in rows]
            )
        return copy_dataset(con, folder, stem, columns, "SELECT * FROM dataset", [])


def _as_utc(value: object) -> object:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[Column]:
    return [
        (name, sql_type)
        for name, sql_type, *_ in con.execute(f"DESCRIBE SELECT * FROM read_parquet({string_literal(path)})").fetchall()
    ]


@contextmanager
def read_rows(
    path: Path, wanted: Collection[str] | None = None
) -> Iterator[tuple[list[str], Iterator[dict[str, str]]]]:
    """The header and the rows (streamed) of a FOCUS CSV or Parquet file, as text: a CSV as any
    reader gets it, a Parquet rendered as the CSV writes it (without the formula guard), NULL as
    '', and only its `wanted` columns (all when None) in the rows."""
    if path.suffix == PARQUET_SUFFIX:
        with duckdb.connect() as con:
            header = parquet_columns(con, path)
            columns = [(name, sql_type) for name, sql_type in header if wanted is None or name in wanted]
            cells = (
                ", ".join(f"coalesce({text_expression(name, sql_type, guard=False)}, '')" for name, sql_type in columns)
                or "NULL"
            )
            cursor = con.execute(f"SELECT {cells} FROM read_parquet({string_literal(path)})")
            names = [name for name, _ in columns]
            rows = (dict(zip(names, row)) for batch in iter(lambda: cursor.fetchmany(READ_BATCH), []) for row in batch)
            yield [name for name, _ in header], rows
        return
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        yield list(reader.fieldnames or []), iter(reader)
