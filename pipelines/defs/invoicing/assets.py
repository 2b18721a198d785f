"""Customer invoices of one month: CSV, HTML and PDF per customer, and an index of totals.

Runs after the reconciliation gate: a blocking check failing on
`quality/reconciliation_report` skips this step, so a month that does not reconcile produces
no customer invoices (and the previous export, if any, stays as it was).
"""

import re

import dagster as dg

from pipelines.closing.corrections import with_carried_corrections
from pipelines.closing.drafts import remove_drafts
from pipelines.closing.status import FINAL, month_state
from pipelines.config import ConfigError, config_dir_in_use, load_config
from pipelines.defs.metadata import inert_check
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.quality.gate import require_month_passed
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.invoicing import InvoiceDataError, load_month, write_month
from pipelines.invoicing.azure_detail import load_usage_details
from pipelines.invoicing.money import display_amount, plain_amount
from pipelines.periods import BillingPeriod

CUSTOMER_INVOICES = dg.AssetKey(["exports", "customer_invoices"])
CUSTOMER_INVOICE_LINES = dg.AssetKey(["marts", "customer_invoice_lines"])
CUSTOMER_MONTHLY = dg.AssetKey(["marts", "customer_monthly"])
AZURE_DAILY_USAGE = dg.AssetKey(["marts", "azure_daily_usage"])
SERVICE_CHARGES_MONTHLY = dg.AssetKey(["marts", "service_charges_monthly"])
RECONCILIATION_REPORT = dg.AssetKey(["quality", "reconciliation_report"])
BILLING_PROFILES_CHECK = "every_customer_has_a_billing_profile"
# Customers a check's sentence names; the month's index lists every one.
SHOWN_NOT_INVOICED = 10


@dg.asset(
    key=CUSTOMER_INVOICES,
    deps=[CUSTOMER_INVOICE_LINES, CUSTOMER_MONTHLY, SERVICE_CHARGES_MONTHLY, AZURE_DAILY_USAGE, RECONCILIATION_REPORT],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="exports",
    kinds={"csv", "html", "pdf"},
    check_specs=[
        dg.AssetCheckSpec(
            BILLING_PROFILES_CHECK,
            asset=CUSTOMER_INVOICES,
            description="Every customer billed this month has complete billing details in customers.csv; one who has not is not invoiced.",
        )
    ],
)
def customer_invoices(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """One draft invoice per customer in `<data>/exports/<YYYY-MM>/invoices/<customer_id>.csv|.html|.pdf`
    (and `<customer_id>-azure-usage.csv|.xlsx`, its Azure usage detail, when the daily usage
    file itemises it) and `invoice_index.csv` with every customer's totals, replaced as a whole on each run. Issued
    invoices (`csp-recon issue`) live apart, in `issued/`, and are never touched here."""
    period = BillingPeriod.parse(context.partition_key)
    if not warehouse.paths.warehouse.exists():
        raise dg.Failure(
            description=f"There is no warehouse at {warehouse.paths.warehouse}: load and transform {period} first."
        )
    require_month_passed(warehouse, period, "Customer invoices")  # the gate holds across runs
    try:
        seller = load_config(config_dir_in_use(warehouse.paths)).partner
        with warehouse.connect() as con:
            status = month_state(con, period).status
            month = with_carried_corrections(
                con, load_month(con, period, seller)
            )  # issue 14: corrections of issued months
            usage_details = load_usage_details(con, month.period, [c.customer_id for c in month.customers])
    except (ConfigError, InvoiceDataError) as error:
        raise dg.Failure(description=str(error)) from None
    if status in FINAL:  # issue 14: an issued month's documents are final, its changes corrections
        remove_drafts(warehouse.paths, period)
        return dg.MaterializeResult(
            check_results=[
                inert_check(
                    dg.AssetCheckResult(
                        check_name=BILLING_PROFILES_CHECK,
                        passed=True,
                        severity=dg.AssetCheckSeverity.WARN,
                        description=f"{period} is {status.value}: no drafts, its issued invoices stand",
                    )
                )
            ],  # fmt: skip
            metadata={
                "drafts": f"none: {period} is {status.value} (issued documents in issued/); see closing/month_status"
            },
        )
    result = write_month(month, warehouse.paths, usage_details)  # the warehouse is closed while files are written
    if not month.customers:
        context.log.warning(f"marts.customer_monthly has no customer for {period}: the index is empty.")
    totals = result.totals
    blocked = [str(customer) for customer in month.blocked]
    return dg.MaterializeResult(
        check_results=[
            inert_check(
                dg.AssetCheckResult(
                    check_name=BILLING_PROFILES_CHECK,
                    passed=not blocked,
                    severity=dg.AssetCheckSeverity.WARN,  # issue 14: acknowledged by name at approval
                    description=not_invoiced_sentence(blocked, str(result.index_file))
                    if blocked
                    else "every customer has a complete billing profile",
                    metadata={"customers_not_invoiced": len(blocked)},
                )
            )
        ],
        metadata={
            "customers_exported": result.customers,
            "invoices": result.invoices,
            "files": len(result.files),
            "folder": dg.MetadataValue.path(str(result.folder)),
            "index_file": dg.MetadataValue.path(str(result.index_file)),
            "currencies": ", ".join(map(_code, totals)) or "none",
            "totals_per_currency": dg.MetadataValue.md(
                "| currency | billed pretax | customer tax | billed total | margin |\n|---|---:|---:|---:|---:|\n"
                + "\n".join(
                    f"| {_code(currency)} | {display_amount(t['billed_pretax'])} | {display_amount(t['customer_tax'])} | "
                    f"{display_amount(t['billed_total'])} | {display_amount(t['margin'])} |"
                    for currency, t in totals.items()
                )
            ),
            **{
                f"billed_total_{_code(currency)}": dg.MetadataValue.text(plain_amount(t["billed_total"]))
                for currency, t in totals.items()
            },
        },
    )


def _code(currency: str) -> str:
    """A currency code fit for metadata keys and markdown."""
    return re.sub(r"[^A-Za-z0-9]", "", str(currency)) or "unknown"


def not_invoiced_sentence(blocked: list[str], index_file: str) -> str:
    """The first customers not invoiced and why, and how many more: a partner with hundreds
    gets a sentence that fits the run's summary (the index lists each)."""
    shown = "; ".join(blocked[:SHOWN_NOT_INVOICED])
    if len(blocked) <= SHOWN_NOT_INVOICED:
        return f"Not invoiced: {shown}"
    return f"Not invoiced: {len(blocked)} customers, {shown}; and {len(blocked) - SHOWN_NOT_INVOICED} more, each listed in {index_file}"
