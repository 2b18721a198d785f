"""Blocking checks: the files add up to Microsoft's invoices and the marts tie to each other.

They are attached to the reconciliation report, which customer invoices and the analysts'
copy depend on: when one fails, neither is produced for the month.
"""

from collections.abc import Callable

import dagster as dg
import duckdb

from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.quality.report import RECONCILIATION_REPORT
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.ingest.daily_usage import is_open_month, open_month_sentence
from pipelines.periods import BillingPeriod
from pipelines.quality.reconciliation_status import ReconciliationStatus
from pipelines.sql import one_row, records, scalar

MonthQuery = Callable[[duckdb.DuckDBPyConnection, BillingPeriod], dg.AssetCheckResult]


def month_check(name: str, description: str, query: MonthQuery, blocking: bool = True) -> dg.AssetChecksDefinition:
    """A check on the report asset that runs `query` for the partition's month. Warnings are
    non-blocking and return results of severity WARN."""

    @dg.asset_check(
        asset=RECONCILIATION_REPORT,
        name=name,
        description=description,
        blocking=blocking,
        partitions_def=monthly_partitions,
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            return inert_check(query(con, BillingPeriod.parse(context.partition_key)))

    return _check


def _amount(value) -> str:
    """An amount as the clerk reads it; an invoice document without the figure says so."""
    return "not on the invoice" if value is None else f"{value:,.2f}"


def _mismatch_sentence(invoice: dict) -> str:
    """What disagrees on one invoice, with the figures and the difference of each."""
    number, currency = invoice["invoice_number"], invoice["currency"]
    if invoice["invoice_kind"] == "api":
        return (
            f"Invoice {number} ({currency}) does not reconcile: files total with tax "
            f"{_amount(invoice['found_pretax'] + invoice['recon_tax'])} vs invoice total {_amount(invoice['invoice_total'])}, "
            f"difference {_amount(invoice['total_difference'])}"
        )
    label = "subtotal" if invoice["invoice_kind"] == "nce" else "pre-tax"
    parts = [
        f"files {label} {_amount(invoice['found_pretax'])} vs invoice {_amount(invoice['invoice_pretax'])}, "
        f"difference {_amount(invoice['pretax_difference'])}, tax difference {_amount(invoice['tax_difference'])}"
    ]
    if invoice["invoice_kind"] == "nce":
        for kind in ("charges", "credits"):
            if invoice[f"{kind}_difference"] != 0:
                parts.append(
                    f"{kind} in the files {_amount(invoice[f'recon_{kind}'])} vs invoice {_amount(invoice[f'invoice_{kind}'])}, "
                    f"difference {_amount(invoice[f'{kind}_difference'])}"
                )
    if invoice["invoice_total_difference"]:
        parts.append(
            f"the invoice's own Total {_amount(invoice['invoice_total'])} is not its {label} plus tax "
            f"(off by {_amount(invoice['invoice_total_difference'])})"
        )
    return f"Invoice {number} ({currency}) does not reconcile: " + "; ".join(parts)


def invoices_match(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
    invoices = records(
        con,
        """SELECT invoice_number, currency, status, invoice_kind, recon_pretax + other_charges AS found_pretax,
                  invoice_pretax, pretax_difference, recon_tax, tax_difference, invoice_total, total_difference,
                  recon_charges, invoice_charges, charges_difference, recon_credits, invoice_credits,
                  credits_difference, invoice_total_difference
           FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
        [period.start],
    )
    if not invoices and is_open_month(con, period):
        # Only unbilled daily usage landed: there is no invoice to reconcile yet, and none to issue.
        return dg.AssetCheckResult(
            passed=True, description=open_month_sentence(period), metadata={"invoices": 0, "open_month": True}
        )
    failing = [invoice for invoice in invoices if invoice["status"] != ReconciliationStatus.MATCHED]
    sentences = []
    for invoice in failing:
        number, currency = invoice["invoice_number"], invoice["currency"]
        if invoice["status"] == ReconciliationStatus.MISSING_RECON:
            sentences.append(f"Invoice {number} ({currency}) has no line in the reconciliation files")
        elif invoice["status"] == ReconciliationStatus.MISSING_INVOICE:
            sentences.append(
                f"Lines of invoice {number} ({currency}) are in the files but the invoice is not in the summary"
            )
        else:
            sentences.append(_mismatch_sentence(invoice))
    if not invoices:
        sentences.append("No invoice was found for the month")
    if sentences:
        sentences += _rejected_lines_sentence(con, period)
    return dg.AssetCheckResult(
        passed=not sentences,
        description="; ".join(sentences) or f"{len(invoices)} invoice(s) matched to the cent",
        metadata={
            "invoices": len(invoices),
            "failing_invoices": len(failing),
            "invoices_table": markdown_table(
                [
                    (
                        invoice["invoice_number"],
                        invoice["currency"],
                        invoice["status"],
                        _amount(invoice["pretax_difference"]),
                        _amount(invoice["tax_difference"]),
                        _amount(invoice["total_difference"]),
                    )
                    for invoice in invoices
                ],
                ("invoice", "currency", "status", "pretax difference", "tax difference", "total difference"),
            ),
        },
    )


def _rejected_lines_sentence(con: duckdb.DuckDBPyConnection, period: BillingPeriod, examples: int = 3) -> list[str]:
    """Lines set aside at ingest are missing from the files' totals: often the whole difference."""
    count = scalar(con, "SELECT count(*) FROM raw.rejected_rows WHERE billing_period = ?", [period.start])
    if not count:
        return []
    shown = con.execute(
        "SELECT file_name, line_number, reason FROM raw.rejected_rows WHERE billing_period = ? ORDER BY file_name, line_number LIMIT ?",
        [period.start, examples],
    ).fetchall()
    listed = "; ".join(f"{name} line {line}: {reason}" for name, line, reason in shown)
    return [
        f"{count} line(s) of the files were rejected and are not counted ({listed}); see raw.rejected_rows and the reconciliation report"
    ]


def marts_tie_out(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
    """fct_charges -> customer_monthly -> invoice_reconciliation, and invoice lines -> billed."""
    breaks = con.execute(
        """
        WITH lines AS (
            SELECT customer_id, currency, sum(cost_pretax) AS cost, sum(billed_pretax) AS billed
            FROM marts.fct_charges WHERE billing_period = $month GROUP BY ALL
        ), invoice_lines AS (
            SELECT customer_id, currency, sum(amount) AS amount
            FROM marts.customer_invoice_lines WHERE billing_period = $month GROUP BY ALL
        ), customers AS (
            SELECT * FROM marts.customer_monthly WHERE billing_period = $month
        ), per_customer AS (
            SELECT 'customer ' || coalesce(c.customer_id, l.customer_id) || ' (' || coalesce(c.currency, l.currency) || ')' AS what,
                   coalesce(l.cost, 0) AS expected_cost, coalesce(c.cost_pretax, 0) AS found_cost,
                   coalesce(l.billed, 0) + coalesce(c.service_charges, 0) AS expected_billed,
                   coalesce(c.billed_pretax, 0) AS found_billed, coalesce(i.amount, 0) AS invoice_lines
            FROM customers c
            FULL JOIN lines l ON l.customer_id = c.customer_id AND l.currency = c.currency
            LEFT JOIN invoice_lines i ON i.customer_id = coalesce(c.customer_id, l.customer_id)
                                      AND i.currency = coalesce(c.currency, l.currency)
        ), per_currency AS (
            SELECT 'currency ' || coalesce(c.currency, r.currency) AS what,
                   coalesce(r.recon, 0) AS expected_cost, coalesce(c.cost, 0) AS found_cost,
                   0 AS expected_billed, 0 AS found_billed, 0 AS invoice_lines
            FROM (SELECT currency, sum(cost_pretax) AS cost FROM customers GROUP BY ALL) c
            FULL JOIN (SELECT currency, sum(recon_pretax) AS recon FROM marts.invoice_reconciliation
                       WHERE billing_period = $month GROUP BY ALL) r ON r.currency = c.currency
        )
        SELECT what, expected_cost, found_cost, expected_billed, found_billed, invoice_lines
        FROM per_customer
        WHERE expected_cost <> found_cost OR expected_billed <> found_billed OR invoice_lines <> found_billed
        UNION ALL
        SELECT what, expected_cost, found_cost, expected_billed, found_billed, invoice_lines
        FROM per_currency WHERE expected_cost <> found_cost
        ORDER BY 1
        """,
        {"month": period.start},
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not breaks,
        description=(
            f"{len(breaks)} total(s) do not tie across marts, first: {breaks[0][0]}"
            if breaks
            else "fct_charges, customer_monthly, customer_invoice_lines and invoice_reconciliation tie"
        ),
        metadata={
            "breaks": len(breaks),
            "examples": markdown_table(
                breaks, ("what", "expected cost", "found cost", "expected billed", "found billed", "invoice lines")
            ),
        },
    )


def every_line_priced(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
    total, unpriced, positive_credits = one_row(
        con,
        """SELECT count(*), count(*) FILTER (pricing_rule_id IS NULL OR billed_pretax IS NULL),
                  count(*) FILTER (cost_pretax < 0 AND billed_pretax > 0)
           FROM marts.fct_charges WHERE billing_period = ?""",
        [period.start],
    )
    problems = []
    if unpriced:
        problems.append(
            f"{unpriced} charge line(s) have no pricing rule or price: check dbt_project/seeds/pricing_rules.csv"
        )
    if positive_credits:
        problems.append(f"{positive_credits} credit line(s) would be billed as a charge")
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or f"all {total:,} lines priced, no credit billed positive",
        metadata={"lines": total, "unpriced_lines": unpriced, "credits_billed_positive": positive_credits},
    )


invoices_reconcile = month_check(
    "invoices_reconcile",
    "Per invoice, the files' pre-tax equals the invoice exactly (legacy: license + usage + other charges; "
    "new commerce: Subtotal, and Charges and Credits each), the invoice's Total is its pre-tax plus Tax, tax "
    "within reconciliation_tax_tolerance (new-commerce lines may carry none), every invoice has lines and "
    "every line an invoice.",
    invoices_match,
)
marts_tie = month_check(
    "marts_tie", "Totals tie from fct_charges to customer_monthly to invoice_reconciliation.", marts_tie_out
)
charges_priced = month_check(
    "every_line_priced", "Every charge line carries a pricing rule and a price.", every_line_priced
)
