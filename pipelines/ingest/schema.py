"""The `raw` schema: tables created from the file layouts, plus lineage and bookkeeping."""

from __future__ import annotations

import re

import duckdb

from pipelines.formats import COLUMNS_BY_KIND, FileKind

RAW_SCHEMA = "raw"

RAW_TABLES: dict[FileKind, str] = {
    FileKind.LICENSE_RECON: "raw.license_recon",
    FileKind.USAGE_RECON: "raw.usage_recon",
    FileKind.NCE_RECON: "raw.nce_recon",
    FileKind.DAILY_USAGE: "raw.daily_usage",
    FileKind.INVOICE_SUMMARY: "raw.invoice_summary",
}
FILE_MANIFEST = "raw.file_manifest"
REJECTED_ROWS = "raw.rejected_rows"

# Every raw row says where it came from: the file, its line, and the exact bytes (sha256).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("billing_period", "DATE NOT NULL"),
    ("source_file", "VARCHAR NOT NULL"),
    ("source_line", "BIGINT NOT NULL"),
    ("file_sha256", "VARCHAR NOT NULL"),
    ("extra_columns", "JSON"),
)
# A license file carries no invoice number: the ingest attributes one (product.md).
ATTRIBUTED_COLUMNS: dict[FileKind, tuple[tuple[str, str], ...]] = {
    FileKind.LICENSE_RECON: (("invoice_number", "VARCHAR NOT NULL"),),
}


def _table_ddl(kind: FileKind) -> str:
    columns = [(c.sql_name, c.storage_type) for c in COLUMNS_BY_KIND[kind]]
    columns += ATTRIBUTED_COLUMNS.get(kind, ())
    columns += LINEAGE_COLUMNS
    body = ",\n  ".join(f"{name} {sql_type}" for name, sql_type in columns)
    return f"CREATE TABLE IF NOT EXISTS {RAW_TABLES[kind]} (\n  {body}\n)"


RAW_DDL: tuple[str, ...] = (
    f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}",
    *(_table_ddl(kind) for kind in FileKind),
    f"""CREATE TABLE IF NOT EXISTS {FILE_MANIFEST} (
  billing_period DATE NOT NULL,
  file_name VARCHAR NOT NULL,
  file_kind VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  invoice_number VARCHAR,
  currency VARCHAR,
  sha256 VARCHAR NOT NULL,
  size_bytes BIGINT NOT NULL,
  encoding VARCHAR NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_loaded BIGINT NOT NULL,
  rows_rejected BIGINT NOT NULL,
  extra_columns VARCHAR[],
  note VARCHAR,
  loaded_at TIMESTAMP NOT NULL
)""",
    f"""CREATE TABLE IF NOT EXISTS {REJECTED_ROWS} (
  billing_period DATE NOT NULL,
  file_name VARCHAR NOT NULL,
  file_kind VARCHAR,
  line_number BIGINT,
  column_name VARCHAR,
  reason VARCHAR NOT NULL,
  raw_line VARCHAR,
  file_sha256 VARCHAR,
  file_header VARCHAR[]
)""",
    # The file's header, as written, beside each rejected line: which of the line's fields holds
    # which amount. Warehouses made before it gain the column (NULL: the file is read again).
    f"ALTER TABLE {REJECTED_ROWS} ADD COLUMN IF NOT EXISTS file_header VARCHAR[]",
)
REJECTED_ROWS_COLUMNS = (
    "billing_period, file_name, file_kind, line_number, column_name, reason, raw_line, file_sha256, file_header"
)


def _decimal(sql_type: str) -> tuple[int, int] | None:
    found = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", sql_type.replace(" ", ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def widening_statements(existing: dict[tuple[str, str], str]) -> list[str]:
    """ALTERs that bring raw tables made by an earlier version to today's decimal types, where
    the new type holds every value of the old one (more places, as many integer digits).

    `existing` maps (table, column) to the warehouse's current type."""
    statements = []
    for kind in RAW_TABLES:
        table = RAW_TABLES[kind]
        for column in COLUMNS_BY_KIND[kind]:
            old, new = _decimal(existing.get((table, column.sql_name), "")), _decimal(column.storage_type)
            if old and new and old != new and new[1] >= old[1] and new[0] - new[1] >= old[0] - old[1]:
                statements.append(f"ALTER TABLE {table} ALTER COLUMN {column.sql_name} TYPE {column.storage_type}")
    return statements


def added_column_statements(existing: dict[tuple[str, str], str]) -> list[str]:
    """ADD COLUMNs that give raw tables made by an earlier version today's columns (the NCE
    figures of raw.invoice_summary, for one). They go at the end: rows are inserted by name."""
    statements = []
    for kind, table in RAW_TABLES.items():
        if not any(known_table == table for known_table, _ in existing):
            continue
        for column in COLUMNS_BY_KIND[kind]:
            if (table, column.sql_name) not in existing:
                statements.append(
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column.sql_name} {column.storage_type}"
                )
    return statements


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, or bring those of an earlier version up to today's columns and types."""
    for statement in RAW_DDL:
        con.execute(statement)
    existing = {
        (table, column): sql_type
        for table, column, sql_type in con.execute(
            f"SELECT schema_name || '.' || table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = '{RAW_SCHEMA}'"
        ).fetchall()
    }
    for statement in added_column_statements(existing) + widening_statements(existing):
        con.execute(statement)
