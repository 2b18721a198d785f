"""The month's FOCUS files: the partner's costs (Microsoft to partner) and what it re-bills each
customer, with the FOCUS 1.4 Invoice Detail and Billing Period datasets (docs/focus.md).

Runs behind the reconciliation gate like the customer invoices: a month that does not reconcile
produces no FOCUS files, and the previous ones stay as they were.
"""

import dagster as dg

from pipelines.config import ConfigError, config_dir_in_use, load_config
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.quality.gate import require_month_passed
from pipelines.defs.quality.report import RECONCILIATION_REPORT
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.focus.checks import FocusCheckError
from pipelines.focus.datasets import FOCUS_DATASETS_VERSION, FOCUS_VERSION
from pipelines.focus.export import export_month
from pipelines.periods import BillingPeriod

FOCUS_FILES = dg.AssetKey(["exports", "focus"])
COST_FROM_MICROSOFT = dg.AssetKey(["focus", "cost_and_usage_from_microsoft"])
COST_TO_CUSTOMERS = dg.AssetKey(["focus", "cost_and_usage_to_customers"])


@dg.asset(
    key=FOCUS_FILES,
    deps=[COST_FROM_MICROSOFT, COST_TO_CUSTOMERS, RECONCILIATION_REPORT],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="exports",
    kinds={"csv", "parquet"},
)
def focus_files(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """`<data>/exports/<YYYY-MM>/focus/`: FOCUS 1.2 Cost and Usage of Microsoft's invoices and of
    the customers' invoices, FOCUS 1.4 Invoice Detail and Billing Period, and one folder per
    invoiced customer to hand over (without Microsoft's cost, the markup or the pricing rule).
    Replaced as a whole on each run, after the files pass the FOCUS checks."""
    period = BillingPeriod.parse(context.partition_key)
    require_month_passed(warehouse, period, "The FOCUS files")  # the gate holds across runs
    try:
        partner = load_config(config_dir_in_use(warehouse.paths)).partner
        with warehouse.connect(read_only=True) as con:
            month = export_month(con, warehouse.paths, period, partner)
    except (ConfigError, FocusCheckError, LookupError) as error:
        raise dg.Failure(description=str(error)) from None
    if month.billing_period_rows is None:
        context.log.warning(
            f"marts.billing_periods does not exist yet: no Billing Period dataset was written for {period}."
        )
    if not month.issued_invoices:
        context.log.info(
            f"No invoice of {period} is issued yet: InvoiceId is empty and Invoice Detail has no row until `csp-recon issue`."
        )
    return dg.MaterializeResult(
        metadata={
            "focus_version": FOCUS_VERSION,
            "invoice_detail_and_billing_period_version": FOCUS_DATASETS_VERSION,
            "folder": dg.MetadataValue.path(str(month.folder)),
            "files": len(month.files),
            "microsoft_cost_rows": month.cost_rows,
            "customer_rows": month.customer_rows,
            "customers_with_files": len(month.customers),
            "issued_invoices": month.issued_invoices,
            "billing_period_rows": month.billing_period_rows
            if month.billing_period_rows is not None
            else "not built yet",
        }
    )
