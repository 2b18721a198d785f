"""`generate`: a month folder per billing month, as the billing team would download it.

New commerce (the default of the command): per currency, the NCE invoice reconciliation file
of that currency's G-invoice, then `invoice_summary.csv` in the G-invoice layout. Legacy: per
currency, a license-based and a usage-based recon file named after that currency's D-invoice,
then the legacy summary. Either way the summary's figures are the files' exact sums.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from pipelines.formats import LEGACY_SUMMARY_HEADER, NCE_SUMMARY_HEADER
from pipelines.generate.amounts import money_text
from pipelines.generate.book import build_book
from pipelines.generate.catalog import currency_terms
from pipelines.generate.license_file import license_layout, write_license_file
from pipelines.generate.nce_file import NceTotals, nce_layout, write_nce_file
from pipelines.generate.periods import BillingMonth, billing_months
from pipelines.generate.usage_file import usage_layout, write_usage_file
from pipelines.generate.writer import csv_file

INVOICE_SUMMARY_FILE = "invoice_summary.csv"
COMMERCES = ("nce", "legacy")
HEADER_FORMS = ("pascal", "camel", "mixed")  # mixed: the first currency's file PascalCase, the others renamed
NCE_INVOICE_DAYS_AFTER_MONTH = 7  # G-invoices arrive by the 8th
INVOICE_CHARACTERS = string.digits + string.ascii_uppercase
CURRENCY_CODE_LENGTH = 3


@dataclass(frozen=True)
class GeneratedInvoice:
    invoice_number: str
    currency: str
    invoice_date: date
    billing_period_start: date
    billing_period_end: date
    license_charges: Decimal
    usage_charges: Decimal
    other_charges: Decimal
    tax: Decimal
    total: Decimal
    license_file: Path
    usage_file: Path
    license_rows: int
    usage_rows: int


@dataclass(frozen=True)
class GeneratedNceInvoice:
    invoice_number: str
    currency: str
    invoice_date: date
    billing_period_start: date
    billing_period_end: date
    totals: NceTotals
    recon_file: Path
    header_form: str


@dataclass(frozen=True)
class GeneratedMonth:
    period: str  # YYYY-MM
    directory: Path
    files: tuple[Path, ...]  # in the order written; the invoice summary last
    invoices: tuple[GeneratedInvoice, ...] | tuple[GeneratedNceInvoice, ...]


def license_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_LicenseBasedRecon.csv"


def usage_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_UsageBasedRecon.csv"


def nce_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_InvoiceReconciliation.csv"


def invoice_number(seed: int, period: str, currency: str, commerce: str = "legacy") -> str:
    """A legacy (`D0` + 8 characters) or G-invoice number (`G0` + 8), the same for the same
    seed, month and currency."""
    rng = random.Random(f"{seed}/{period}/{currency}/invoice")
    prefix = "G0" if commerce == "nce" else "D0"
    return prefix + "".join(rng.choice(INVOICE_CHARACTERS) for _ in range(8))


def generate(
    out_dir: str | os.PathLike,
    period: str,
    months: int = 1,
    customers: int = 12,
    license_rows: int = 200,
    usage_rows: int = 1000,
    currencies: Iterable[str] = ("EUR", "USD"),
    seed: int = 7,
    indirect: bool = False,
    commerce: str = "legacy",
    header_form: str = "pascal",
) -> list[GeneratedMonth]:
    """Writes `OUT/<YYYY-MM>/` for `months` months from `period`. Row counts are per month
    and per currency file, shared among that currency's customers (for new commerce: seat
    lines and Azure plan lines)."""
    currencies = tuple(currencies)
    _check_arguments(months, customers, license_rows, usage_rows, currencies)
    if commerce not in COMMERCES or header_form not in HEADER_FORMS:
        raise ValueError(f"--commerce is one of {', '.join(COMMERCES)} and --header-form one of {', '.join(HEADER_FORMS)}.")
    calendar = billing_months(period, months)
    out = Path(out_dir)
    planned = {month.period: _planned_names(seed, month, currencies, commerce) for month in calendar}
    _refuse_foreign_files(out, planned)
    book = build_book(seed, customers, currencies, license_rows, usage_rows, calendar[0].start, indirect)
    if commerce == "nce":
        return [_nce_month(out, seed, month, currencies, book, header_form) for month in calendar]
    licenses = license_layout(indirect)
    usage = usage_layout()
    generated = []
    for month in calendar:
        directory = out / month.period
        directory.mkdir(parents=True, exist_ok=True)
        invoices = []
        for currency in currencies:
            number = invoice_number(seed, month.period, currency)
            terms = currency_terms(currency)
            billed = book.customers_billed_in(currency)
            license_path = directory / license_file_name(number)
            usage_path = directory / usage_file_name(number)
            # One stream per file: a file's content does not depend on the files before it.
            license_totals = write_license_file(
                license_path, licenses, book.partner, billed, month, terms,
                random.Random(f"{seed}/{month.period}/{currency}/license"),
            )
            usage_totals = write_usage_file(
                usage_path, usage, book.partner, billed, month, number, terms,
                random.Random(f"{seed}/{month.period}/{currency}/usage"),
            )
            license_cents = license_totals.pretax_cents
            usage_cents = usage_totals.pretax_cents
            tax_cents = license_totals.tax_cents + usage_totals.tax_cents
            invoices.append(
                GeneratedInvoice(
                    invoice_number=number,
                    currency=currency,
                    invoice_date=month.invoice_date,
                    billing_period_start=month.start,
                    billing_period_end=month.end,
                    license_charges=_decimal(license_cents),
                    usage_charges=_decimal(usage_cents),
                    other_charges=_decimal(0),
                    tax=_decimal(tax_cents),
                    total=_decimal(license_cents + usage_cents + tax_cents),
                    license_file=license_path,
                    usage_file=usage_path,
                    license_rows=license_totals.rows,
                    usage_rows=usage_totals.rows,
                )
            )
        summary_path = directory / INVOICE_SUMMARY_FILE
        _write_invoice_summary(summary_path, invoices)
        files = [path for invoice in invoices for path in (invoice.license_file, invoice.usage_file)]
        generated.append(GeneratedMonth(month.period, directory, (*files, summary_path), tuple(invoices)))
    return generated


def _nce_month(out: Path, seed: int, month: BillingMonth, currencies: tuple[str, ...], book, header_form: str) -> GeneratedMonth:
    directory = out / month.period
    directory.mkdir(parents=True, exist_ok=True)
    layout = nce_layout()
    invoices = []
    for position, currency in enumerate(currencies):
        number = invoice_number(seed, month.period, currency, "nce")
        form = ("pascal" if position == 0 else "camel") if header_form == "mixed" else header_form
        path = directory / nce_file_name(number)
        totals = write_nce_file(
            path, layout, form, book.partner, book.customers_billed_in(currency), month, number,
            currency_terms(currency), random.Random(f"{seed}/{month.period}/{currency}/nce"),
        )
        invoices.append(
            GeneratedNceInvoice(
                invoice_number=number, currency=currency,
                invoice_date=month.invoice_date + timedelta(days=NCE_INVOICE_DAYS_AFTER_MONTH),
                billing_period_start=month.start, billing_period_end=month.end,
                totals=totals, recon_file=path, header_form=form,
            )
        )
    summary_path = directory / INVOICE_SUMMARY_FILE
    with csv_file(summary_path) as output:
        output.row(NCE_SUMMARY_HEADER)
        for invoice in invoices:
            t = invoice.totals
            output.row([
                invoice.invoice_number, invoice.invoice_date.isoformat(), invoice.billing_period_start.isoformat(),
                invoice.billing_period_end.isoformat(), invoice.currency,
                *(f"{amount:.2f}" for amount in (t.charges, t.credits, t.subtotal, t.tax, t.subtotal + t.tax)),
            ])
    return GeneratedMonth(month.period, directory, (*(i.recon_file for i in invoices), summary_path), tuple(invoices))


def _decimal(cents: int) -> Decimal:
    return Decimal(money_text(cents))


def _write_invoice_summary(path: Path, invoices: list[GeneratedInvoice]) -> None:
    with csv_file(path) as output:
        output.row(LEGACY_SUMMARY_HEADER)
        for invoice in invoices:
            output.row(
                [
                    invoice.invoice_number,
                    invoice.invoice_date.isoformat(),
                    invoice.billing_period_start.isoformat(),
                    invoice.billing_period_end.isoformat(),
                    invoice.currency,
                    *(
                        f"{amount:.2f}"
                        for amount in (
                            invoice.license_charges,
                            invoice.usage_charges,
                            invoice.other_charges,
                            invoice.tax,
                            invoice.total,
                        )
                    ),
                ]
            )


def _check_arguments(
    months: int, customers: int, license_rows: int, usage_rows: int, currencies: tuple[str, ...]
) -> None:
    if months < 1:
        raise ValueError("--months must be at least 1.")
    if not currencies:
        raise ValueError("give at least one currency, e.g. --currencies EUR,USD.")
    for currency in currencies:
        if len(currency) != CURRENCY_CODE_LENGTH or not currency.isascii() or not currency.isupper():
            raise ValueError(f"'{currency}' is not a currency code: write ISO codes such as EUR or USD.")
    if len(set(currencies)) != len(currencies):
        raise ValueError(f"a currency is listed twice in {','.join(currencies)}.")
    if customers < len(currencies):
        raise ValueError(
            f"{customers} customer(s) cannot cover {len(currencies)} currencies: each customer bills in one currency."
        )
    if license_rows < 0 or usage_rows < 0:
        raise ValueError("row counts cannot be negative.")


def _planned_names(seed: int, month: BillingMonth, currencies: tuple[str, ...], commerce: str) -> set[str]:
    numbers = [invoice_number(seed, month.period, currency, commerce) for currency in currencies]
    if commerce == "nce":
        return {INVOICE_SUMMARY_FILE, *map(nce_file_name, numbers)}
    return {INVOICE_SUMMARY_FILE, *map(license_file_name, numbers), *map(usage_file_name, numbers)}


def _refuse_foreign_files(out: Path, planned: dict[str, set[str]]) -> None:
    """The pipeline reads every file of a month folder: files left by another run (another
    seed, other currencies) would be billed too. Only files this run rewrites may be there."""
    for period, names in planned.items():
        directory = out / period
        if not directory.is_dir():
            continue
        foreign = sorted(
            entry.name
            for entry in directory.iterdir()
            if entry.is_file()
            and entry.name.removesuffix(".partial") not in names
            and not entry.name.startswith(".")
        )
        if foreign:
            raise ValueError(
                f"{directory} already holds {', '.join(foreign)}, which this run would not replace; "
                "the pipeline would read them too. Empty the folder or choose another --out."
            )
