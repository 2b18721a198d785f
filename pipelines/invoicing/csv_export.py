"""CSV files for accounting tools: UTF-8 with BOM (Excel), comma, header row, CRLF, amounts
with two decimals and a point. Every text cell goes through `csv_safe_cell`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from pipelines.invoicing.model import MONEY_COLUMNS, CustomerInvoice, MonthInvoices
from pipelines.invoicing.money import plain_amount, plain_number
from pipelines.invoicing.safety import csv_safe_cell, is_inert_csv_cell

ENCODING = "utf-8-sig"

LINE_HEADER = (
    "invoice_number",
    "billing_period",
    "customer_id",
    "billing_name",
    "currency",
    "line_number",
    "description",
    "quantity",
    "unit_price",
    "amount",
)

INDEX_HEADER = (
    "billing_period",
    "invoice_number",
    "customer_id",
    "customer_name",
    "billing_name",
    "country",
    "currency",
    "line_count",
    "invoice_lines",
    *MONEY_COLUMNS,
    "vat_rate",
    "tax_exempt",
    "csv_file",
    "html_file",
    "pdf_file",
)


class _Number(str):
    """A number this module formatted itself: written as it is, not neutralised."""


def _cell(value: object) -> str:
    if isinstance(value, _Number):
        if not is_inert_csv_cell(value):
            raise ValueError(f"{value!r} is not a plain number")
        return str(value)
    return csv_safe_cell(value)


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode(ENCODING)


def customer_csv(customer: CustomerInvoice, period_start: str) -> bytes:
    """One row per invoice line, every currency of the customer; each row names its invoice."""
    rows = []
    for invoice in customer.invoices:
        for position, line in enumerate(invoice.lines, start=1):
            rows.append(
                (
                    invoice.invoice_number,
                    period_start,
                    customer.customer_id,
                    customer.billing_name,
                    invoice.currency,
                    _Number(line.line_number if line.line_number is not None else position),
                    line.description,
                    _Number(plain_number(line.quantity)),
                    _Number(plain_number(line.unit_price, min_places=2)),
                    _Number(plain_amount(line.amount)),
                )
            )
    return render_csv(LINE_HEADER, rows)


def index_csv(month: MonthInvoices, files_of: dict[str, dict[str, str]]) -> bytes:
    """One row per customer and currency with the month's totals and the customer's files."""
    rows = []
    for customer in month.customers:
        files = files_of[customer.customer_id]
        for invoice in customer.invoices:
            rows.append(
                (
                    month.period_start.isoformat(),
                    invoice.invoice_number,
                    customer.customer_id,
                    customer.customer_name,
                    customer.billing_name,
                    customer.billing.country or "",
                    invoice.currency,
                    _Number(invoice.line_count),
                    _Number(len(invoice.lines)),
                    *(_Number(plain_amount(invoice.totals[name])) for name in MONEY_COLUMNS),
                    _Number(plain_number(customer.billing.vat_rate)),
                    "" if customer.billing.tax_exempt is None else str(customer.billing.tax_exempt).lower(),
                    files["csv"],
                    files["html"],
                    files["pdf"],
                )
            )
    return render_csv(INDEX_HEADER, rows)
