"""Row conservation: every line read is either loaded or rejected, per file."""

import dagster as dg
import duckdb

from pipelines.defs.metadata import inert_check
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.runs.names import MANIFEST_KEY
from pipelines.ingest.schema import FILE_MANIFEST, RAW_TABLES, REJECTED_ROWS
from pipelines.periods import BillingPeriod

_LOADED_BY_FILE = " UNION ALL ".join(
    f"SELECT source_file, count(*) AS rows FROM {table} WHERE billing_period = $period GROUP BY source_file"
    for kind, table in RAW_TABLES.items()
    if kind.value != "invoice_summary"
)


def conservation_breaks(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
    """Per file: rows read against rows found in its raw table and in raw.rejected_rows."""
    rows = con.execute(
        f"""
        WITH loaded AS ({_LOADED_BY_FILE}),
             rejected AS (SELECT file_name, count(*) AS rows FROM {REJECTED_ROWS}
                          WHERE billing_period = $period GROUP BY file_name)
        SELECT m.file_name, m.rows_read, coalesce(l.rows, 0), coalesce(r.rows, 0)
        FROM {FILE_MANIFEST} m
        LEFT JOIN loaded l ON l.source_file = m.file_name
        LEFT JOIN rejected r ON r.file_name = m.file_name
        WHERE m.billing_period = $period AND m.status = 'loaded' AND m.file_kind <> 'invoice_summary'
        ORDER BY 1
        """,
        {"period": period.start},
    ).fetchall()
    return [
        f"{name}: {read} lines read but {loaded} loaded and {rejected} rejected"
        for name, read, loaded, rejected in rows
        if read != loaded + rejected
    ]


@dg.asset_check(asset=MANIFEST_KEY, blocking=True, partitions_def=monthly_partitions, pool=WAREHOUSE_POOL)
def row_conservation(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    """Per file: rows read = rows loaded + rows rejected, nothing lost."""
    with warehouse.connect(read_only=True) as con:
        broken = conservation_breaks(con, BillingPeriod.parse(context.partition_key))
    return inert_check(
        dg.AssetCheckResult(
            passed=not broken,
            description="; ".join(broken) or "every line read was loaded or rejected",
            metadata={"files_not_conserved": len(broken)},
        )
    )
