"""A month's report data built by hand, with literal Decimals: hostile, non-Latin and `$` names,
two currencies (EUR with ten months of history, USD with this month only), a mismatched invoice
and a rejected line. Importable on its own (tests/test_report.py renders it in a second process)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipelines.periods import BillingPeriod
from pipelines.quality.report_html import CustomerMargin, InvoiceBreakdown, MonthFigures, ReportData, UsageBudget

PERIOD = BillingPeriod.parse("2026-10")
HOSTILE = "<script>alert('x')</script> & Sons"
NON_LATIN = "Łódź Nguyễn Sp. z o.o."
DOLLARS = "Cost $5 and $6 Ltd"  # mathtext would typeset `$5 and $` as a formula
MONTH = date(2026, 10, 1)
HUGE = Decimal("12345678901234567.89")  # a float prints this as 12,345,678,901,234,568.00


def _invoice(number: str, status: str) -> dict:
    return {
        "invoice_number": number, "currency": "EUR", "invoice_pretax": Decimal("100.00"), "found_pretax": Decimal("99.99"),
        "pretax_difference": Decimal("-0.01"), "invoice_tax": Decimal("0.00"), "recon_tax": Decimal("0.00"),
        "tax_difference": Decimal("0.00"), "status": status, "invoice_charges": Decimal("100.00"),
        "recon_charges": Decimal("99.99"), "invoice_credits": Decimal("0.00"), "recon_credits": Decimal("0.00"),
        "invoice_total_difference": Decimal("0.00"),
    }  # fmt: skip


def sample(period: BillingPeriod = PERIOD) -> ReportData:
    """Two currencies: EUR with 10 months of history, USD with this month only."""
    history = [
        MonthFigures(
            date(2026, m, 1), "EUR", Decimal("1000.000000") * m, Decimal("1150.00") * m, Decimal("150.000000") * m
        )
        for m in range(1, 11)
    ] + [MonthFigures(MONTH, "USD", Decimal("40.000000"), Decimal("46.00"), Decimal("6.000000"))]
    mismatch = InvoiceBreakdown(
        _invoice("G000000002", "mismatch"),
        by_customer=[{"customer_id": "c-1", "customer_name": HOSTILE, "license": Decimal("99.99"), "usage": Decimal("0"),
                      "charges": Decimal("99.99"), "credits": Decimal("0"), "lines": 3}],
        by_charge_type=[{"source": "seat", "charge_type": "new", "lines": 3, "cost_pretax": Decimal("99.99")}],
        by_product=[{"source": "seat", "product_id": "CFQ7TTC0LF8Q", "sku_id": "0001", "product_name": "Microsoft 365 E3",
                     "charges": Decimal("99.99"), "credits": Decimal("0"), "lines": 3}],
    )  # fmt: skip
    return ReportData(
        period=period,
        invoices=[InvoiceBreakdown(_invoice("G000000001", "matched")), mismatch],
        files=[{"file_name": "G000000001.csv", "file_kind": "nce_recon", "status": "loaded", "rows_read": 1204,
                "rows_loaded": 1203, "rows_rejected": 1, "note": None}],
        rejected=[{"file_name": "G000000001.csv", "line_number": 17, "column_name": "Subtotal",
                   "reason": "Subtotal is '12,50', which is not a number", "amounts_as_written": "Subtotal 12,50, TaxTotal 0, Total 12,50",
                   "raw_line": f"x,{HOSTILE},12,50"}],
        rejected_total=1,
        history=history,
        margins=[
            CustomerMargin("c-1", HOSTILE, "EUR", Decimal("100.000000"), Decimal("130.00"), Decimal("30.000000")),
            CustomerMargin("c-2", NON_LATIN, "EUR", Decimal("80.000000"), Decimal("70.00"), Decimal("-10.000000")),
            CustomerMargin("c-3", DOLLARS, "EUR", Decimal("1.000000"), HUGE + 1, HUGE),
            CustomerMargin("c-4", "Contoso Inc.", "USD", Decimal("40.000000"), Decimal("46.00"), Decimal("6.000000")),
        ],
        budgets=[
            UsageBudget("c-1", HOSTILE, "EUR", Decimal("26000.500000"), Decimal("25000.00")),
            UsageBudget("c-2", NON_LATIN, "EUR", Decimal("0"), Decimal("5000.00")),
        ],
    )  # fmt: skip
