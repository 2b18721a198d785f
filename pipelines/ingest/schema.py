"""The `raw` schema: tables created from the file layouts, plus lineage and bookkeeping."""

from __future__ import annotations

from pipelines.formats import COLUMNS_BY_KIND, FileKind

RAW_SCHEMA = "raw"

RAW_TABLES: dict[FileKind, str] = {
    FileKind.LICENSE_RECON: "raw.license_recon",
    FileKind.USAGE_RECON: "raw.usage_recon",
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
  file_sha256 VARCHAR
)""",
)
