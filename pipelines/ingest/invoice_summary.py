"""The month's Microsoft invoice figures: our `invoice_summary.csv` or Partner Center API
`Invoice` JSON documents. Small files, read whole; any bad value stops the month, because
without trustworthy invoice figures nothing can be reconciled.

`invoice_summary.csv` comes in two layouts (formats.py): the figures of a legacy D-invoice
(license, usage and other charges) and those of a new-commerce G-invoice (charges, credits,
subtotal). A G-invoice's figures must add up as printed: Subtotal = Charges + Credits and
Total = Subtotal + Tax, to the cent."""

from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipelines.formats import INVOICE_SUMMARY_COLUMNS, MONEY, parse_partner_datetime
from pipelines.ingest.errors import IngestError
from pipelines.ingest.recognise import RecognisedHeader

# The columns only a new-commerce summary has: with one of them, all three are needed.
NCE_FIGURES = ("Charges", "Credits", "Subtotal")
# An API document of this type corrects an earlier period's invoice: not this month's figures.
CREDIT_NOTE = "credit note"
# MONEY is DECIMAL(24,6): 18 digits before the point, beyond which the warehouse cannot hold it.
MONEY_INTEGER_DIGITS = 18


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
        """The figures in the order of INVOICE_SUMMARY_COLUMNS (each field is a column's sql_name)."""
        return tuple(getattr(self, column.sql_name) for column in INVOICE_SUMMARY_COLUMNS)


def _parse_date(text: str, file_name: str, line: int, column: str) -> date | None:
    try:
        parsed = parse_partner_datetime(text or "")
    except ValueError:
        raise IngestError(
            file_name, f"'{text}' is not a date", "write dates as YYYY-MM-DD", line=line, column=column
        ) from None
    return None if parsed is None else parsed.date()


def _parse_money(text: str | float | int | None, file_name: str, line: int, column: str) -> Decimal | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        amount = None
    # Decimal reads 'NaN' and 'Infinity' too: no invoice prints either.
    if amount is None or not amount.is_finite():
        raise IngestError(
            file_name,
            f"'{text}' is not an amount",
            "write amounts with a point for decimals and no thousands separators",
            line=line,
            column=column,
        ) from None
    if amount and amount.adjusted() >= MONEY_INTEGER_DIGITS:
        raise IngestError(
            file_name,
            f"'{text}' is too large to be an invoice amount (at most {MONEY_INTEGER_DIGITS} digits before the point)",
            "copy the figure again from the invoice",
            line=line,
            column=column,
        )
    return amount


def read_summary_csv(
    path: Path, recognised: RecognisedHeader, encoding: str, delimiter: str = ",", file_name: str | None = None
) -> list[InvoiceFigures]:
    """`file_name` is the landed file's name when `path` is a transcoded copy of it."""
    file_name = file_name or path.name
    names = {column.name: index for index, column in enumerate(recognised.positions) if column}
    nce = [name for name in NCE_FIGURES if name in names]
    if nce and len(nce) < len(NCE_FIGURES):
        missing = next(name for name in NCE_FIGURES if name not in names)
        raise IngestError(
            file_name,
            f"this new-commerce invoice summary has {', '.join(nce)} but no '{missing}' column",
            "add the column with the figure printed on the invoice",
            line=1,
            column=missing,
        )
    figures = []
    with path.open("r", encoding=encoding, newline="") as source:
        rows = csv.reader(source, delimiter=delimiter)
        line = 0  # the last line read whole
        try:
            next(rows)
            line = 1
            for line, values in enumerate(rows, start=2):
                if not any(value.strip() for value in values):
                    continue
                if len(values) != len(recognised.header):
                    raise IngestError(
                        file_name,
                        f"the line has {len(values)} values but the header has {len(recognised.header)} columns",
                        "fix the line or recreate the summary",
                        line=line,
                    )
                value = {
                    column.name: values[index]
                    for column in INVOICE_SUMMARY_COLUMNS
                    if (index := names.get(column.name)) is not None
                }
                figures.append(_figures_from(value, file_name, line, nce=bool(nce)))
        except csv.Error as error:
            # A value longer than the csv module's limit (131,072 characters) or a broken quote.
            raise IngestError(
                file_name, f"the line cannot be read ({error})", "recreate the summary from the invoice", line=line + 1
            ) from None
    return figures


def _figures_from(value: dict[str, str], file_name: str, line: int, nce: bool) -> InvoiceFigures:
    money = {
        column.name: _parse_money(value.get(column.name), file_name, line, column.name)
        for column in INVOICE_SUMMARY_COLUMNS
        if column.type == MONEY
    }
    for required in ("InvoiceNumber", "Currency"):
        if not value.get(required, "").strip():
            raise IngestError(
                file_name, f"{required} is empty", "fill it in from the invoice", line=line, column=required
            )
    for required in ("Total", *(NCE_FIGURES + ("Tax",) if nce else ())):
        if money[required] is None:
            raise IngestError(
                file_name, f"{required} is empty", "fill it in from the invoice", line=line, column=required
            )
    if nce:
        _check_nce_figures(money, file_name, line)
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
        total=_present(money, "Total"),
        source_line=line,
        charges=money["Charges"],
        credits=money["Credits"],
        subtotal=money["Subtotal"],
    )


def _present(money: dict[str, Decimal | None], name: str) -> Decimal:
    """A figure the layout requires: its presence was checked when the header was read."""
    figure = money[name]
    assert figure is not None, name
    return figure


def _check_nce_figures(money: dict[str, Decimal | None], file_name: str, line: int) -> None:
    """A G-invoice's figures add up as printed, or the summary was copied wrong."""
    charges, credits, subtotal, tax, total = (
        _present(money, name) for name in ("Charges", "Credits", "Subtotal", "Tax", "Total")
    )
    if subtotal != charges + credits:
        raise IngestError(
            file_name,
            f"Subtotal is {subtotal} but Charges {charges} plus Credits {credits} make {charges + credits}"
            f" (a difference of {subtotal - charges - credits})",
            "copy the figures again from the invoice (Credits are negative)",
            line=line,
            column="Subtotal",
        )
    if total != subtotal + tax:
        raise IngestError(
            file_name,
            f"Total is {total} but Subtotal {subtotal} plus Tax {tax} make {subtotal + tax}"
            f" (a difference of {total - subtotal - tax})",
            "copy the figures again from the invoice",
            line=line,
            column="Total",
        )


def looks_like_invoice_json(path: Path) -> bool:
    """Named .json, or JSON by its content whatever its name."""
    if path.suffix.lower() == ".json":
        return True
    with path.open("rb") as source:
        start = source.read(64).removeprefix(codecs.BOM_UTF8).lstrip()
    return start[:1] in (b"{", b"[")


@dataclass(frozen=True)
class InvoiceDocuments:
    """The Invoice documents of one JSON file: this month's invoices, and the credit notes
    (documentType "Credit Note") left out of them, by id."""

    invoices: list[InvoiceFigures]
    credit_notes: list[str]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not an amount")


def read_invoice_json(path: Path, file_name: str | None = None) -> InvoiceDocuments | None:
    """Partner Center API `Invoice` documents: one, a list, or a collection with `items`;
    None when the JSON holds no Invoice document (another API resource), so it is left alone.

    The API gives only `totalCharges` (tax included), so the pre-tax split stays empty and
    the reconciliation compares totals for these invoices. A credit note corrects an invoice
    of an earlier period (recon-formats.md §7.3): it is no figure of this month's files."""
    file_name = file_name or path.name
    try:
        document = json.loads(
            path.read_text(encoding="utf-8-sig"), parse_float=Decimal, parse_constant=_refuse_constant
        )
    except (ValueError, UnicodeDecodeError) as error:
        raise IngestError(
            file_name, f"the file is not valid JSON ({error})", "download it again from Partner Center"
        ) from None
    invoices = document.get("items", [document]) if isinstance(document, dict) else document
    if not isinstance(invoices, list) or not any(
        isinstance(item, dict) and "totalCharges" in item for item in invoices
    ):
        return None
    read = InvoiceDocuments([], [])
    for position, invoice in enumerate(invoices, start=1):
        if not isinstance(invoice, dict) or "totalCharges" not in invoice or "id" not in invoice:
            raise IngestError(
                file_name,
                f"invoice {position} has no 'id' or 'totalCharges'",
                "download the Invoice documents again from Partner Center",
            )
        total = _parse_money(invoice["totalCharges"], file_name, position, "totalCharges")
        if total is None:
            raise IngestError(
                file_name,
                f"invoice {invoice['id']} has no totalCharges",
                "download the Invoice documents again from Partner Center",
                line=position,
                column="totalCharges",
            )
        if str(invoice.get("documentType", "")).strip().lower() == CREDIT_NOTE:
            read.credit_notes.append(str(invoice["id"]))
            continue
        read.invoices.append(
            InvoiceFigures(
                invoice_number=str(invoice["id"]),
                invoice_date=_parse_date(str(invoice.get("invoiceDate", "")), file_name, position, "invoiceDate"),
                billing_period_start=_parse_date(
                    str(invoice.get("billingPeriodStartDate", "")), file_name, position, "billingPeriodStartDate"
                ),
                billing_period_end=_parse_date(
                    str(invoice.get("billingPeriodEndDate", "")), file_name, position, "billingPeriodEndDate"
                ),
                currency=str(invoice.get("currencyCode", "")).upper(),
                license_charges=None,
                usage_charges=None,
                other_charges=None,
                tax=None,
                total=total,
                source_line=position,
            )
        )
    return read
