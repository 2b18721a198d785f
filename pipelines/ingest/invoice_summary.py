"""The month's Microsoft invoice figures: our `invoice_summary.csv` or Partner Center API
`Invoice` JSON documents. Small files, read whole; any bad value stops the month, because
without trustworthy invoice figures nothing can be reconciled."""

from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipelines.formats import INVOICE_SUMMARY_COLUMNS, MONEY
from pipelines.ingest.errors import IngestError
from pipelines.ingest.recognise import RecognisedHeader

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class InvoiceFigures:
    invoice_number: str
    invoice_date: date | None
    billing_period_start: date | None
    billing_period_end: date | None
    currency: str
    license_charges: Decimal | None
    usage_charges: Decimal | None
    other_charges: Decimal | None
    tax: Decimal | None
    total: Decimal
    source_line: int
    charges: Decimal | None = None
    credits: Decimal | None = None
    subtotal: Decimal | None = None

    def as_row(self) -> tuple:
        return (
            self.invoice_number,
            self.invoice_date,
            self.billing_period_start,
            self.billing_period_end,
            self.currency,
            self.license_charges,
            self.usage_charges,
            self.other_charges,
            self.charges,
            self.credits,
            self.subtotal,
            self.tax,
            self.total,
        )


def _parse_date(text: str, file_name: str, line: int, column: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise IngestError(file_name, f"'{text}' is not a date", "write dates as YYYY-MM-DD", line=line, column=column)


def _parse_money(text: str | float | int | None, file_name: str, line: int, column: str) -> Decimal | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        raise IngestError(
            file_name,
            f"'{text}' is not an amount",
            "write amounts with a point for decimals and no thousands separators",
            line=line,
            column=column,
        ) from None


def read_summary_csv(path: Path, recognised: RecognisedHeader, encoding: str, delimiter: str = ",") -> list[InvoiceFigures]:
    names = {column.name: index for index, column in enumerate(recognised.positions) if column}
    figures = []
    with path.open("r", encoding=encoding, newline="") as source:
        rows = csv.reader(source, delimiter=delimiter)
        next(rows)
        for line, values in enumerate(rows, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(recognised.header):
                raise IngestError(
                    path.name,
                    f"the line has {len(values)} values but the header has {len(recognised.header)} columns",
                    "fix the line or recreate the summary",
                    line=line,
                )
            value = {column.name: values[index] for column in INVOICE_SUMMARY_COLUMNS if (index := names.get(column.name)) is not None}
            figures.append(_figures_from(value, path.name, line))
    return figures


def _figures_from(value: dict[str, str], file_name: str, line: int) -> InvoiceFigures:
    money = {
        column.name: _parse_money(value.get(column.name), file_name, line, column.name)
        for column in INVOICE_SUMMARY_COLUMNS
        if column.type == MONEY
    }
    for required in ("InvoiceNumber", "Currency"):
        if not value.get(required, "").strip():
            raise IngestError(file_name, f"{required} is empty", "fill it in from the invoice", line=line, column=required)
    if money["Total"] is None:
        raise IngestError(file_name, "Total is empty", "fill it in from the invoice", line=line, column="Total")
    return InvoiceFigures(
        invoice_number=value["InvoiceNumber"].strip(),
        invoice_date=_parse_date(value.get("InvoiceDate", ""), file_name, line, "InvoiceDate"),
        billing_period_start=_parse_date(value.get("BillingPeriodStart", ""), file_name, line, "BillingPeriodStart"),
        billing_period_end=_parse_date(value.get("BillingPeriodEnd", ""), file_name, line, "BillingPeriodEnd"),
        currency=value["Currency"].strip().upper(),
        license_charges=money["LicenseCharges"],
        usage_charges=money["UsageCharges"],
        other_charges=money["OtherCharges"],
        tax=money["Tax"],
        total=money["Total"],
        source_line=line,
    )


def looks_like_invoice_json(path: Path) -> bool:
    """Named .json, or JSON by its content whatever its name."""
    if path.suffix.lower() == ".json":
        return True
    with path.open("rb") as source:
        start = source.read(64).removeprefix(codecs.BOM_UTF8).lstrip()
    return start[:1] in (b"{", b"[")


def read_invoice_json(path: Path) -> list[InvoiceFigures] | None:
    """Partner Center API `Invoice` documents: one, a list, or a collection with `items`;
    None when the JSON holds no Invoice document (another API resource), so it is left alone.

    The API gives only `totalCharges` (tax included), so the pre-tax split stays empty and
    the reconciliation compares totals for these invoices."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IngestError(path.name, f"the file is not valid JSON ({error})", "download it again from Partner Center") from None
    invoices = document.get("items", [document]) if isinstance(document, dict) else document
    if not isinstance(invoices, list) or not any(isinstance(item, dict) and "totalCharges" in item for item in invoices):
        return None
    figures = []
    for position, invoice in enumerate(invoices, start=1):
        if not isinstance(invoice, dict) or "totalCharges" not in invoice or "id" not in invoice:
            raise IngestError(
                path.name,
                f"invoice {position} has no 'id' or 'totalCharges'",
                "download the Invoice documents again from Partner Center",
            )
        figures.append(
            InvoiceFigures(
                invoice_number=str(invoice["id"]),
                invoice_date=_parse_date(str(invoice.get("invoiceDate", "")), path.name, position, "invoiceDate"),
                billing_period_start=_parse_date(str(invoice.get("billingPeriodStartDate", "")), path.name, position, "billingPeriodStartDate"),
                billing_period_end=_parse_date(str(invoice.get("billingPeriodEndDate", "")), path.name, position, "billingPeriodEndDate"),
                currency=str(invoice.get("currencyCode", "")).upper(),
                license_charges=None,
                usage_charges=None,
                other_charges=None,
                tax=None,
                total=_parse_money(invoice["totalCharges"], path.name, position, "totalCharges"),
                source_line=position,
            )
        )
    return figures

