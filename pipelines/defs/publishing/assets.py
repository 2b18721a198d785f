"""The analysts' warehouse: `<data>/published/warehouse.duckdb` and Parquet files of the marts.

Waits behind the reconciliation gate like the customer invoices: a month whose blocking checks
fail never reaches the published copy, and the copy analysts hold stays as it was.
"""

import dagster as dg

from pipelines.defs.invoicing.assets import CUSTOMER_INVOICES
from pipelines.defs.metadata import markdown_table
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.quality.gate import require_month_passed
from pipelines.defs.quality.report import RECONCILIATION_REPORT
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.runs.names import MONTH_STATUS, PUBLISHED_WAREHOUSE
from pipelines.periods import BillingPeriod
from pipelines.publishing.warehouse_copy import PUBLISHED_STORAGE_VERSION, PublishError, publish_month


@dg.asset(
    key=PUBLISHED_WAREHOUSE,
    deps=[RECONCILIATION_REPORT, CUSTOMER_INVOICES, MONTH_STATUS],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="publish",
    kinds={"duckdb", "parquet"},
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """A copy of the raw, config and marts schemas holding every month that passed its blocking
    checks, readable by DuckDB 1.1+ and 2.x, verified against the warehouse (rows and totals per
    table and month), unwritable by any client, swapped in atomically; `meta.published_months`
    says which months it holds and when each was published."""
    period = BillingPeriod.parse(context.partition_key)
    paths = warehouse.paths
    require_month_passed(warehouse, period, "The analysts' copy")  # the gate holds across runs
    try:
        publication = publish_month(
            paths.warehouse, paths.published_warehouse, period, context.run_id, warehouse.memory_limit
        )
    except PublishError as error:
        raise dg.Failure(description=str(error)) from None
    if not publication.immutable:
        context.log.warning(
            "The analysts' copy is read-only (mode 0444) but could not be marked immutable here: "
            "a client running as root could still open it read-write."
        )
    with warehouse.connect(read_only=True) as con:
        customers = con.execute(
            """SELECT customer_id, customer_name, currency, cost_pretax, billed_pretax, margin
               FROM marts.customer_monthly WHERE billing_period = ? ORDER BY currency, billed_pretax DESC""",
            [period.start],
        ).fetchall()
        invoices = con.execute(
            """SELECT invoice_number, currency, status, recon_pretax, invoice_pretax, pretax_difference
               FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
            [period.start],
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.warehouse)),
            "version": dg.MetadataValue.path(str(publication.version)),
            "immutable": publication.immutable,
            "parquet_folder": dg.MetadataValue.path(str(publication.parquet_dir)),
            "storage_version": PUBLISHED_STORAGE_VERSION,
            "months_published": dg.MetadataValue.json([month.isoformat() for month in publication.months]),
            "table_rows": dg.MetadataValue.json(publication.tables),
            "preview_customer_monthly": markdown_table(
                customers, ("customer id", "name", "currency", "cost pretax", "billed pretax", "margin")
            ),
            "preview_invoice_reconciliation": markdown_table(
                invoices,
                ("invoice", "currency", "status", "recon pretax", "invoice pretax", "difference"),
                limit=len(invoices),
            ),
        }
    )
