"""The analysts' copy of the warehouse: only months that passed their blocking checks.

Publishing a month copies the previous published file byte for byte to a temporary file, replaces
that month's rows in it from the pipeline's warehouse, and swaps it in with `os.replace`: a reader
never sees a half-written file, a reader holding the old file keeps a consistent view of it, and
the cost follows the month's size, not the history's. The published file itself is only read.

Each published month keeps the version that passed: re-running a month that then fails leaves
its last good rows in the copy. Configuration tables (no `billing_period`) are the current ones.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.settings import duckdb_memory_limit

# Readable by DuckDB 1.1 and later as well as 2.x: analysts' DBeaver drivers and CLIs lag behind.
PUBLISHED_STORAGE_VERSION = "v1.0.0"
PUBLISHED_SCHEMAS = ("raw", "config", "marts")
PARQUET_SCHEMA = "marts"
PERIOD_COLUMN = "billing_period"
LEDGER_SCHEMA, LEDGER_TABLE = "meta", "published_months"
LEDGER = f"{LEDGER_SCHEMA}.{LEDGER_TABLE}"


class PublishError(Exception):
    """The published copy could not be updated; the one analysts have is untouched."""


@dataclass(frozen=True)
class Publication:
    warehouse: Path
    parquet_dir: Path
    months: list[date]
    tables: dict[str, int]


def publish_month(source: Path, target: Path, period: date, run_id: str) -> Publication:
    """Replace `target` with a copy of itself in which `period` is as it is now in `source`,
    and write that month's Parquet files of the marts beside it."""
    partial = target.with_name(f".{target.name}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _start_from(target, partial)
        months, tables = _update_copy(source, partial, period, run_id)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return Publication(target, _write_parquet(target, period), months, tables)


def _start_from(target: Path, partial: Path) -> None:
    partial.unlink(missing_ok=True)
    if not target.exists():
        return
    try:
        shutil.copyfile(target, partial)
    except OSError as error:
        raise PublishError(f"Could not copy the published warehouse {target} to update it: {error.strerror}.") from error


def _update_copy(source: Path, partial: Path, period: date, run_id: str) -> tuple[list[date], dict[str, int]]:
    with duckdb.connect(config={"memory_limit": duckdb_memory_limit()}) as con:
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        # A new file gets the old storage version; an existing one keeps the version it has.
        con.execute(f"ATTACH ? AS pub (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(partial)])
        con.execute("BEGIN")
        months = _record_month(con, period, run_id)
        tables = _base_tables(con, "src")
        for stale in set(_base_tables(con, "pub")) - set(tables) - {LEDGER}:
            con.execute(f"DROP TABLE pub.{stale}")
        counts = {table: _replace_month(con, table, period) for table in tables}
        _copy_views(con)
        con.execute("COMMIT")
        con.execute("DETACH pub")
    return months, counts


def _record_month(con: duckdb.DuckDBPyConnection, period: date, run_id: str) -> list[date]:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{LEDGER_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS pub.{LEDGER} "
        f"({PERIOD_COLUMN} DATE PRIMARY KEY, published_at TIMESTAMPTZ NOT NULL, run_id VARCHAR NOT NULL)"
    )
    con.execute(f"DELETE FROM pub.{LEDGER} WHERE {PERIOD_COLUMN} = ?", [period])
    con.execute(f"INSERT INTO pub.{LEDGER} VALUES (?, ?, ?)", [period, datetime.now(timezone.utc), run_id])
    return [row[0] for row in con.execute(f"SELECT {PERIOD_COLUMN} FROM pub.{LEDGER} ORDER BY 1").fetchall()]


def _base_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN ? ORDER BY 1",
        [database, [*PUBLISHED_SCHEMAS, LEDGER_SCHEMA]],
    ).fetchall()
    return [row[0] for row in rows]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, name],
    ).fetchall()


def _replace_month(con: duckdb.DuckDBPyConnection, table: str, period: date) -> int:
    """The month's rows of a monthly table, or the whole of a configuration table."""
    schema, _ = table.split(".")
    columns = _columns(con, "src", table)
    monthly = PERIOD_COLUMN in {name for name, _ in columns}
    if monthly and _columns(con, "pub", table) == columns:
        con.execute(f"DELETE FROM pub.{table} WHERE {PERIOD_COLUMN} = ?", [period])
        con.execute(f"INSERT INTO pub.{table} SELECT * FROM src.{table} WHERE {PERIOD_COLUMN} = ?", [period])
    else:
        # New, reshaped or configuration table: start it afresh. A reshaped monthly table holds
        # the published months as the warehouse has them now.
        con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{schema}")
        con.execute(f"DROP TABLE IF EXISTS pub.{table}")
        where = f" WHERE {PERIOD_COLUMN} IN (SELECT {PERIOD_COLUMN} FROM pub.{LEDGER})" if monthly else ""
        con.execute(f"CREATE TABLE pub.{table} AS SELECT * FROM src.{table}{where}")
    return con.execute(f"SELECT count(*) FROM pub.{table}").fetchone()[0]


def _copy_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views are re-created over the published tables (their SQL names tables by schema only)."""
    views = con.execute(
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = 'src' AND NOT internal AND schema_name IN ?",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    con.execute("USE pub")
    for schema, name, sql in views:
        con.execute(f"DROP VIEW IF EXISTS {schema}.{name}")
        con.execute(sql)
    con.execute("USE memory")


def _write_parquet(published: Path, period: date) -> Path:
    """`parquet/<mart>/<YYYY-MM>.parquet` for the month of each monthly mart, and
    `parquet/<view>.parquet` for views over the history; each file replaced atomically."""
    folder = published.parent / "parquet"
    month = f"{period:%Y-%m}"
    with duckdb.connect(str(published), read_only=True) as con:
        relations = con.execute(
            """SELECT t.table_name, bool_or(c.column_name = ?) AS monthly
               FROM duckdb_tables() t JOIN duckdb_columns() c USING (database_name, schema_name, table_name)
               WHERE t.schema_name = ? GROUP BY ALL
               UNION ALL
               SELECT view_name, false FROM duckdb_views() WHERE schema_name = ? AND NOT internal""",
            [PERIOD_COLUMN, PARQUET_SCHEMA, PARQUET_SCHEMA],
        ).fetchall()
        for name, monthly in relations:
            target = folder / name / f"{month}.parquet" if monthly else folder / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            where = f" WHERE {PERIOD_COLUMN} = DATE '{period.isoformat()}'" if monthly else ""
            quoted = str(partial).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {PARQUET_SCHEMA}.{name}{where}) TO '{quoted}' (FORMAT parquet)")
            os.replace(partial, target)
    return folder
