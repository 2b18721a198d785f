"""The analysts' copy of the warehouse: only months that passed their blocking checks.

The copy is rebuilt into a temporary file next to the published one and swapped in with
`os.replace`, so a reader never sees a half-written file, and a reader holding the old file open
keeps a consistent view of it. The pipeline opens the published file read-only (to carry over
the months published before), which readers do not conflict with.

Each published month keeps the version that passed: re-running a month that then fails leaves
its last good rows in the copy. Configuration tables (no `billing_period`) are the current ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

# Readable by DuckDB 1.0 and later as well as 2.x (analysts' DBeaver drivers and CLIs lag behind).
PUBLISHED_STORAGE_VERSION = "v1.0.0"
PUBLISHED_SCHEMAS = ("raw", "config", "marts")
PARQUET_SCHEMA = "marts"
PERIOD_COLUMN = "billing_period"
LEDGER = "meta.published_months"


class PublishError(Exception):
    """The published copy could not be rebuilt; the one analysts have is untouched."""


@dataclass(frozen=True)
class Publication:
    warehouse: Path
    parquet_dir: Path
    months: list[date]
    tables: dict[str, int]


def publish_month(source: Path, target: Path, period: date, run_id: str) -> Publication:
    """Replace `target` with a copy holding the previously published months plus `period`
    as it is now in `source`, and write one Parquet file per mart beside it."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        months, tables = _build_copy(source, partial, target, period, run_id)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    parquet_dir = _write_parquet(target)
    return Publication(target, parquet_dir, months, tables)


def _build_copy(source: Path, partial: Path, target: Path, period: date, run_id: str) -> tuple[list[date], dict[str, int]]:
    with duckdb.connect() as con:
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        con.execute(f"ATTACH ? AS pub (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')", [str(partial)])
        previous = _attach_previous(con, target)
        months = _write_ledger(con, previous, period, run_id)
        tables = {name: _copy_table(con, name, previous, period) for name in _base_tables(con)}
        _copy_views(con)
        con.execute("DETACH pub")
    return months, tables


def _attach_previous(con: duckdb.DuckDBPyConnection, target: Path) -> bool:
    if not target.exists():
        return False
    try:
        con.execute("ATTACH ? AS old (READ_ONLY)", [str(target)])
    except duckdb.IOException as error:
        raise PublishError(
            f"{target} is open for writing in another program, so its published months cannot be carried over: "
            "analysts must open it read-only (DBeaver: tick 'read-only connection'). Close it there and run the month again."
        ) from error
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'old' AND schema_name || '.' || table_name = ?", [LEDGER]).fetchone()[0])


def _write_ledger(con: duckdb.DuckDBPyConnection, previous: bool, period: date, run_id: str) -> list[date]:
    schema, _ = LEDGER.split(".")
    con.execute(f"CREATE SCHEMA pub.{schema}")
    con.execute(f"CREATE TABLE pub.{LEDGER} ({PERIOD_COLUMN} DATE PRIMARY KEY, published_at TIMESTAMPTZ NOT NULL, run_id VARCHAR NOT NULL)")
    if previous:
        con.execute(f"INSERT INTO pub.{LEDGER} SELECT * FROM old.{LEDGER} WHERE {PERIOD_COLUMN} <> ?", [period])
    con.execute(f"INSERT INTO pub.{LEDGER} VALUES (?, ?, ?)", [period, datetime.now(timezone.utc), run_id])
    return [row[0] for row in con.execute(f"SELECT {PERIOD_COLUMN} FROM pub.{LEDGER} ORDER BY 1").fetchall()]


def _base_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name IN ? ORDER BY 1",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    return [row[0] for row in rows]


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, name],
    ).fetchall()


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, previous: bool, period: date) -> int:
    schema, _ = table.split(".")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{schema}")
    columns = _columns(con, "src", table)
    if PERIOD_COLUMN not in {name for name, _ in columns}:
        con.execute(f"CREATE TABLE pub.{table} AS SELECT * FROM src.{table}")
    else:
        con.execute(f"CREATE TABLE pub.{table} AS SELECT * FROM src.{table} WHERE {PERIOD_COLUMN} = ?", [period])
        # Earlier months come from the previous copy, as they were when they passed; a table whose
        # columns changed since starts afresh from the months the warehouse holds for it now.
        if previous and _columns(con, "old", table) == columns:
            con.execute(
                f"INSERT INTO pub.{table} SELECT * FROM old.{table} "
                f"WHERE {PERIOD_COLUMN} <> ? AND {PERIOD_COLUMN} IN (SELECT {PERIOD_COLUMN} FROM pub.{LEDGER})",
                [period],
            )
    return con.execute(f"SELECT count(*) FROM pub.{table}").fetchone()[0]


def _copy_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views are re-created over the published tables (their SQL names tables by schema only)."""
    views = con.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = 'src' AND NOT internal AND schema_name IN ? ORDER BY schema_name, view_name",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    con.execute("USE pub")
    for (sql,) in views:
        con.execute(sql)
    con.execute("USE memory")


def _write_parquet(published: Path) -> Path:
    """One Parquet file per mart, each replaced atomically."""
    folder = published.parent / "parquet"
    folder.mkdir(exist_ok=True)
    with duckdb.connect(str(published), read_only=True) as con:
        relations = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? UNION SELECT view_name FROM duckdb_views() WHERE schema_name = ? AND NOT internal",
            [PARQUET_SCHEMA, PARQUET_SCHEMA],
        ).fetchall()
        for (name,) in relations:
            partial = folder / f".{name}.parquet.partial"
            quoted = str(partial).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {PARQUET_SCHEMA}.{name}) TO '{quoted}' (FORMAT parquet)")
            os.replace(partial, folder / f"{name}.parquet")
    return folder
