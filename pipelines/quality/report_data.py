"""Gather what the reconciliation report shows, from the warehouse, money kept as Decimal."""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.closing.report_section import closing_section
from pipelines.quality.report_html import InvoiceBreakdown, ReportData

REJECTED_SHOWN = 200


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def load_report(con: duckdb.DuckDBPyConnection, period: str, month: date) -> ReportData:
    invoices = _dicts(
        con,
        """SELECT invoice_number, currency, invoice_pretax, recon_pretax + other_charges AS found_pretax,
                  pretax_difference, invoice_tax, recon_tax, tax_difference, status,
                  invoice_charges, recon_charges, invoice_credits, recon_credits, invoice_total_difference
           FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
        [month],
    )
    breakdowns = []
    for invoice in invoices:
        breakdown = InvoiceBreakdown(invoice)
        if invoice["status"] != "matched":
            params = [month, invoice["invoice_number"]]
            breakdown.by_charge_type = _dicts(
                con,
                """SELECT source, charge_type, count(*) AS lines, sum(cost_pretax) AS cost_pretax
                   FROM marts.fct_charges WHERE billing_period = ? AND invoice_number = ?
                   GROUP BY ALL ORDER BY source, charge_type""",
                params,
            )
            breakdown.by_customer = _dicts(
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
            breakdown.by_product = _dicts(
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
    files = _dicts(
        con,
        """SELECT file_name, file_kind, status, rows_read, rows_loaded, rows_rejected, note
           FROM raw.file_manifest WHERE billing_period = ? ORDER BY file_name""",
        [month],
    )
    rejected = _dicts(
        con,
        f"""SELECT file_name, line_number, column_name, reason, raw_line FROM raw.rejected_rows
            WHERE billing_period = ? ORDER BY file_name, line_number LIMIT {REJECTED_SHOWN}""",
        [month],
    )
    total = con.execute("SELECT count(*) FROM raw.rejected_rows WHERE billing_period = ?", [month]).fetchone()[0]
    return ReportData(
        period=period, invoices=breakdowns, files=files, rejected=rejected, rejected_total=total, closing=closing_section(con, month)
    )
