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
    "subscription_id",
    "service_start",
    "service_end",
    "quantity",
    "unit_price",
    "amount",
)

# The billing team's index: beside the customers' folder, never inside it (it has cost and margin).
INDEX_HEADER = (
    "billing_period",
    "status",
    "invoice_number",
    "customer_id",
    "customer_name",
    "country",
    "currency",
    "tax_treatment",
    "vat_rate",
    "issue_date",
    "due_date",
    "line_count",
    "invoice_lines",
    *MONEY_COLUMNS,
    "csv_file",
    "html_file",
    "pdf_file",
    "blocked_reason",
)


class PlainNumber(str):
    """A number this module formatted itself: written as it is, not neutralised."""


def _cell(value: object) -> str:
    if isinstance(value, PlainNumber):
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


def customer_csv(customer: CustomerInvoice) -> bytes:
    """One row per invoice line, every currency of the customer; each row names its invoice."""
    rows = []
    for invoice in customer.invoices:
        for position, line in enumerate(invoice.lines, start=1):
            rows.append(
                (
                    invoice.number or "DRAFT",
                    customer.period.start.isoformat(),
                    customer.customer_id,
                    customer.billing_name,
                    invoice.currency,
                    PlainNumber(position),
                    line.description,
                    line.subscription_id or "",
                    line.period_start.isoformat() if line.period_start else "",
                    line.period_end.isoformat() if line.period_end else "",
                    PlainNumber(plain_number(line.quantity)),
                    PlainNumber(plain_number(line.unit_price, min_places=2)),
                    PlainNumber(plain_amount(line.amount)),
                )
            )
    return render_csv(LINE_HEADER, rows)


def index_csv(month: MonthInvoices, files_of: dict[str, dict[str, str]]) -> bytes:
    """One row per invoice (customer and currency) with its totals, dates and files; one row per
    customer that could not be invoiced, with the reason."""
    rows = []
    status = "draft" if month.issue is None else "issued"
    for customer in month.customers:
        files = files_of[customer.customer_id]
        for invoice in customer.invoices:
            rows.append(
                (
                    month.period.start.isoformat(),
                    status,
                    invoice.number or "",
                    customer.customer_id,
                    customer.billing_name,
                    customer.buyer.country,
                    invoice.currency,
                    customer.buyer.tax_treatment,
                    PlainNumber(plain_number(customer.buyer.charged_rate)),
                    month.issue.issue_date.isoformat() if month.issue else "",
                    month.issue.due_date.isoformat() if month.issue else "",
                    PlainNumber(invoice.line_count),
                    PlainNumber(len(invoice.lines)),
                    *(PlainNumber(plain_amount(invoice.totals[name])) for name in MONEY_COLUMNS),
                    files["csv"],
                    files["html"],
                    files["pdf"],
                    "",
                )
            )
    empty = ("",) * len(MONEY_COLUMNS)
    for blocked in month.blocked:
        rows.append(
            (
                month.period.start.isoformat(),
                "blocked",
                "",
                blocked.customer_id,
                blocked.name,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                *empty,
                "",
                "",
                "",
                blocked.reason,
            )
        )
    return render_csv(INDEX_HEADER, rows)
