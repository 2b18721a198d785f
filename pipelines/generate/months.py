"""`generate`: a month folder per billing month, as the billing team would download it.

Per currency, a license-based and a usage-based recon file named after that currency's
legacy invoice, then `invoice_summary.csv` whose figures are the files' exact sums.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipelines.formats import LEGACY_SUMMARY_HEADER
from pipelines.generate.amounts import money_text
from pipelines.generate.book import build_book
from pipelines.generate.catalog import currency_terms
from pipelines.generate.license_file import license_layout, write_license_file
from pipelines.generate.periods import BillingMonth, billing_months
from pipelines.generate.usage_file import usage_layout, write_usage_file
from pipelines.generate.writer import csv_file

INVOICE_SUMMARY_FILE = "invoice_summary.csv"
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
class GeneratedMonth:
    period: str  # YYYY-MM
    directory: Path
    files: tuple[Path, ...]  # in the order written; the invoice summary last
    invoices: tuple[GeneratedInvoice, ...]


def license_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_LicenseBasedRecon.csv"


def usage_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_UsageBasedRecon.csv"


def invoice_number(seed: int, period: str, currency: str) -> str:
    """A legacy invoice number (`D0` + 8 characters), the same for the same seed, month and
    currency."""
    rng = random.Random(f"{seed}/{period}/{currency}/invoice")
    return "D0" + "".join(rng.choice(INVOICE_CHARACTERS) for _ in range(8))


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
) -> list[GeneratedMonth]:
    """Writes `OUT/<YYYY-MM>/` for `months` months from `period`. Row counts are per month
    and per currency file, shared among that currency's customers."""
    currencies = tuple(currencies)
    _check_arguments(months, customers, license_rows, usage_rows, currencies)
    calendar = billing_months(period, months)
    out = Path(out_dir)
    planned = {month.period: _planned_names(seed, month, currencies) for month in calendar}
    _refuse_foreign_files(out, planned)
    book = build_book(seed, customers, currencies, license_rows, usage_rows, calendar[0].start, indirect)
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


def _planned_names(seed: int, month: BillingMonth, currencies: tuple[str, ...]) -> set[str]:
    numbers = [invoice_number(seed, month.period, currency) for currency in currencies]
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
