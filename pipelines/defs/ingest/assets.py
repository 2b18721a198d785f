"""Raw tables of one month, loaded from its landing folder in one transaction."""

import dagster as dg

from pipelines.defs.metadata import markdown_table
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.runs.names import MANIFEST_KEY
from pipelines.formats import FileKind
from pipelines.ingest.errors import IngestError
from pipelines.ingest.month import MonthLoad, load_month
from pipelines.ingest.schema import RAW_TABLES, REJECTED_ROWS
from pipelines.periods import BillingPeriod


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


RAW_KEYS = {kind: asset_key(table) for kind, table in RAW_TABLES.items()}
REJECTED_KEY = asset_key(REJECTED_ROWS)

_DESCRIPTIONS = {
    RAW_KEYS[FileKind.LICENSE_RECON]: "Legacy license-based reconciliation lines, typed, one row per file line.",
    RAW_KEYS[FileKind.USAGE_RECON]: "Legacy usage-based reconciliation lines, typed, one row per file line.",
    RAW_KEYS[
        FileKind.NCE_RECON
    ]: "New-commerce invoice reconciliation lines (G-invoices), typed, one row per file line.",
    RAW_KEYS[FileKind.DAILY_USAGE]: (
        "New-commerce daily rated usage lines (Azure plan per subscription, resource and day), billed (with an "
        "InvoiceNumber) or unbilled (the open month), typed, percentages on the 0..100 scale, one row per file line."
    ),
    RAW_KEYS[FileKind.INVOICE_SUMMARY]: "The month's Microsoft invoices: one row per invoice.",
    MANIFEST_KEY: "One row per landed file: kind, sha256, rows read / loaded / rejected.",
    REJECTED_KEY: "Every input line set aside, with file, line, column and reason.",
}


@dg.multi_asset(
    name="raw_partner_center_files",
    specs=[
        dg.AssetSpec(key, description=text, group_name="ingest", kinds={"duckdb"})
        for key, text in _DESCRIPTIONS.items()
    ],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
)
def raw_partner_center_files(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Reads every file in `<data>/landing/<YYYY-MM>/`, recognised by header, and replaces the
    month's rows of all raw tables at once."""
    period = BillingPeriod.parse(context.partition_key)
    with warehouse.connect() as con:
        try:
            month = load_month(con, warehouse.paths, period)
        except IngestError as error:
            raise dg.Failure(
                description=error.message,
                metadata={"file": error.file_name, "line": error.line, "column": error.column},
            ) from None
    for note in (f"{f.name}: {f.note}" for f in month.files if f.note):
        context.log.warning(note)
    if month.open_month:
        context.log.info(month.open_month_sentence)
    yield from _materializations(month)


def _materializations(month: MonthLoad):
    files_table = markdown_table(
        [(f.name, f.kind, f.status, f.rows_read, f.rows_loaded, f.rows_rejected) for f in month.files],
        ("file", "kind", "status", "read", "loaded", "rejected"),
        limit=len(month.files),
    )
    for kind, key in RAW_KEYS.items():
        loaded, rejected = month.rows(kind)
        yield dg.MaterializeResult(asset_key=key, metadata={"rows_loaded": loaded, "rows_rejected": rejected})
    manifest = {"files": len(month.files), "files_table": files_table}
    if month.open_month:
        manifest["open_month"] = month.open_month_sentence
    yield dg.MaterializeResult(asset_key=MANIFEST_KEY, metadata=manifest)
    yield dg.MaterializeResult(
        asset_key=REJECTED_KEY, metadata={"rows_rejected": sum(f.rows_rejected for f in month.files)}
    )
