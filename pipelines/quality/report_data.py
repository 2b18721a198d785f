"""Gather what the reconciliation report shows, from the warehouse, money kept as Decimal."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.closing.report_section import closing_section
from pipelines.invoicing.money import CENT
from pipelines.periods import BillingPeriod
from pipelines.quality.azure_warnings import SpikeRule, azure_warning_rows, budget_spend
from pipelines.quality.daily_crosscheck import cross_check
from pipelines.quality.rejections import RejectedLine, amounts_as_written, file_headers
from pipelines.quality.report_html import (
    CustomerMargin,
    InvoiceBreakdown,
    MonthFigures,
    ReportData,
    UsageBudget,
    history_window,
)
from pipelines.sql import records

REJECTED_SHOWN = 200


def load_report(
    con: duckdb.DuckDBPyConnection,
    period: BillingPeriod,
    landing: Path | None = None,
    spike_rule: SpikeRule | None = None,
) -> ReportData:
    """`landing` is the month's landing folder, where a rejected line kept without its file's
    header (before raw.rejected_rows kept it) has it read again, to tell its amounts apart."""
    invoices = records(
        con,
        """SELECT invoice_number, currency, invoice_pretax, recon_pretax + other_charges AS found_pretax,
                  pretax_difference, invoice_tax, recon_tax, tax_difference, status,
                  invoice_charges, recon_charges, invoice_credits, recon_credits, invoice_total_difference
           FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
        [period.start],
    )
    breakdowns = []
    for invoice in invoices:
        breakdown = InvoiceBreakdown(invoice)
        if not breakdown.reconciled:
            params = [period.start, invoice["invoice_number"]]
            breakdown.by_charge_type = records(
                con,
                """SELECT source, charge_type, count(*) AS lines, sum(cost_pretax) AS cost_pretax
                   FROM marts.fct_charges WHERE billing_period = ? AND invoice_number = ?
                   GROUP BY ALL ORDER BY source, charge_type""",
                params,
            )
            breakdown.by_customer = records(
                con,
                """SELECT customer_id, max(customer_name) AS customer_name,
                          sum(CASE WHEN source = 'license' THEN cost_pretax ELSE 0 END) AS license,
                          sum(CASE WHEN source = 'usage' THEN cost_pretax ELSE 0 END) AS usage,
                          sum(CASE WHEN cost_pretax > 0 THEN cost_pretax ELSE 0 END) AS charges,
                          sum(CASE WHEN cost_pretax < 0 THEN cost_pretax ELSE 0 END) AS credits,
                          count(*) AS lines
                   FROM marts.fct_charges WHERE billing_period = ? AND invoice_number = ?
                   GROUP BY customer_id ORDER BY customer_id""",
                params,
            )
            breakdown.by_product = records(
                con,
                """SELECT source, product_id, sku_id, product_name,
                          sum(CASE WHEN cost_pretax > 0 THEN cost_pretax ELSE 0 END) AS charges,
                          sum(CASE WHEN cost_pretax < 0 THEN cost_pretax ELSE 0 END) AS credits,
                          count(*) AS lines
                   FROM marts.fct_charges WHERE billing_period = ? AND invoice_number = ?
                   GROUP BY ALL ORDER BY source, product_name, product_id, sku_id""",
                params,
            )
        breakdowns.append(breakdown)
    files = records(
        con,
        """SELECT file_name, file_kind, status, rows_read, rows_loaded, rows_rejected, note
           FROM raw.file_manifest WHERE billing_period = ? ORDER BY file_name""",
        [period.start],
    )
    total = con.execute("SELECT count(*) FROM raw.rejected_rows WHERE billing_period = ?", [period.start]).fetchone()[0]
    return ReportData(
        period=period,
        invoices=breakdowns,
        files=files,
        rejected=_rejected(con, period, landing),
        rejected_total=total,
        history=_history(con, period),
        margins=_margins(con, period),
        budgets=_budgets(con, period),
        azure_warnings=azure_warning_rows(con, period, spike_rule),
        closing=closing_section(con, period),
        daily_crosscheck=cross_check(con, period),
    )


def _rejected(con: duckdb.DuckDBPyConnection, period: BillingPeriod, landing: Path | None) -> list[dict]:
    rows = records(
        con,
        """SELECT file_name, line_number, file_kind, column_name, reason, raw_line, file_header FROM raw.rejected_rows
           WHERE billing_period = ? ORDER BY file_name, line_number LIMIT ?""",
        [period.start, REJECTED_SHOWN],
    )
    headers = file_headers({row["file_name"]: row.pop("file_header") for row in rows}, landing)
    for row in rows:
        line = RejectedLine(
            row["file_name"], row["line_number"], row["file_kind"], row["column_name"], row["reason"], row["raw_line"]
        )
        row["amounts_as_written"] = amounts_as_written(line, headers[row["file_name"]])
    return rows


def _history(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[MonthFigures]:
    """Each currency's months in the window ending with this month; later months are never read."""
    window = history_window(period)
    rows = con.execute(
        """SELECT billing_period, currency, sum(cost_pretax), sum(billed_pretax), sum(margin)
           FROM marts.customer_monthly WHERE billing_period BETWEEN ? AND ?
           GROUP BY ALL ORDER BY billing_period, currency""",
        [window[0], window[-1]],
    ).fetchall()
    return [MonthFigures(*row) for row in rows]


def _margins(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[CustomerMargin]:
    rows = con.execute(
        """SELECT customer_id, customer_name, currency, cost_pretax, billed_pretax, margin
           FROM marts.customer_monthly WHERE billing_period = ? ORDER BY currency, customer_id""",
        [period.start],
    ).fetchall()
    return [CustomerMargin(*row) for row in rows]


def _budgets(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[UsageBudget]:
    """Every customer with a budget, in the budget's currency (the customer's), used or not this
    month: Azure spend at sell price, as the budget warnings measure it."""
    found = sorted(budget_spend(con, period), key=lambda b: (b.currency, b.customer_id))
    return [UsageBudget(b.customer_id, b.customer_name, b.currency, b.spend.quantize(CENT), b.budget) for b in found]
