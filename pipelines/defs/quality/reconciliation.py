"""The check that gates customer invoices: the recon files add up to Microsoft's invoices."""

import dagster as dg

from pipelines.defs.ingest.assets import WAREHOUSE_POOL
from pipelines.defs.resources import Warehouse
from pipelines.partitions import billing_period, monthly_partitions

INVOICE_RECONCILIATION = dg.AssetKey(["marts", "invoice_reconciliation"])


@dg.asset_check(asset=INVOICE_RECONCILIATION, blocking=True, partitions_def=monthly_partitions, pool=WAREHOUSE_POOL)
def invoices_reconcile(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    """Every invoice of the month is `matched`: recon pretax equals the invoice's pretax total
    exactly, and tax is within the documented tolerance."""
    period = billing_period(context.partition_key)
    with warehouse.connect(read_only=True) as con:
        invoices = con.execute(
            """
            SELECT invoice_number, currency, status, pretax_difference, tax_difference
            FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number
            """,
            [period],
        ).fetchall()
    failing = [row for row in invoices if row[2] != "matched"]
    description = (
        "; ".join(f"{number} ({currency}) is {status}: pretax off by {pretax}, tax off by {tax}" for number, currency, status, pretax, tax in failing)
        if failing
        else f"{len(invoices)} invoice(s) matched" if invoices else "no invoice found for the month"
    )
    return dg.AssetCheckResult(
        passed=bool(invoices) and not failing,
        description=description,
        metadata={
            "invoices": len(invoices),
            "failing_invoices": len(failing),
            "details": dg.MetadataValue.md(
                "| invoice | currency | status | pretax difference | tax difference |\n|---|---|---|---|---|\n"
                + "\n".join(f"| {n} | {c} | {s} | {p} | {t} |" for n, c, s, p, t in invoices)
            ),
        },
    )
