"""The reconciliation report: written for every month, passing or not, and the gate that
customer invoices and the analysts' copy wait behind (its blocking checks)."""

import dagster as dg

from pipelines.defs.config.assets import CONFIG_KEYS
from pipelines.defs.ingest.assets import REJECTED_KEY
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.runs.names import MANIFEST_KEY
from pipelines.files import write_whole
from pipelines.periods import BillingPeriod
from pipelines.quality.azure_warnings import configured_spike_rule
from pipelines.quality.reconciliation_status import ReconciliationStatus

RECONCILIATION_REPORT = dg.AssetKey(["quality", "reconciliation_report"])
REPORT_FILE = "reconciliation_report.html"


@dg.asset(
    key=RECONCILIATION_REPORT,
    deps=[
        dg.AssetKey(["marts", "invoice_reconciliation"]),
        dg.AssetKey(["marts", "customer_monthly"]),
        dg.AssetKey(["marts", "fct_charges"]),
        dg.AssetKey(["marts", "azure_daily_usage"]),
        MANIFEST_KEY,
        REJECTED_KEY,
        CONFIG_KEYS["customers"],
    ],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="quality",
    kinds={"html"},
)
def reconciliation_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """`<data>/exports/<YYYY-MM>/reconciliation_report.html`: each invoice expected vs found,
    and for a mismatch the breakdown by charge type and customer; charts of the last 12 months,
    margin per customer and Azure usage against budget; files and rejected lines."""
    # Here, not at the top: the report draws with matplotlib (0.6 s to import), which every other
    # process loading these definitions (CLI, code server, sensors, UI) would pay for nothing.
    from pipelines.quality.report_data import load_report
    from pipelines.quality.report_html import render_report

    period = BillingPeriod.parse(context.partition_key)
    spike_rule = configured_spike_rule(warehouse.paths)
    with warehouse.connect(read_only=True) as con:
        data = load_report(con, period, warehouse.paths.landing(period), spike_rule)
    target = warehouse.paths.exports(period) / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    write_whole(target, render_report(data))
    statuses = {b.invoice["invoice_number"]: b.invoice["status"] for b in data.invoices}
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "invoices": len(statuses),
            "invoices_not_matched": sum(status != ReconciliationStatus.MATCHED for status in statuses.values()),
            "rejected_lines": data.rejected_total,
            "statuses": dg.MetadataValue.json(statuses),
        }
    )
