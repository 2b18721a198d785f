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
from pipelines.generate.daily_file import (
    DEFAULT_RESOURCES_PER_LINE,
    DailyTotals,
    daily_file_name,
    unbilled_file_name,
    write_daily_file,
)
from pipelines.generate.license_file import license_layout, write_license_file
from pipelines.generate.nce_file import AzurePlanLine, NceTotals, azure_plan_lines, nce_layout, write_nce_file
from pipelines.generate.periods import BillingMonth, billing_months
from pipelines.generate.usage_file import usage_layout, write_usage_file
from pipelines.generate.writer import csv_file
from pipelines.periods import BillingPeriod

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
    daily_file: Path | None = None
    daily_totals: DailyTotals | None = None


@dataclass(frozen=True)
class GeneratedUnbilled:
    """The open month's unbilled daily rated usage of one currency (blank InvoiceNumber)."""

    currency: str
    through: date
    daily_file: Path
    daily_totals: DailyTotals
    header_form: str


@dataclass(frozen=True)
class GeneratedMonth:
    period: BillingPeriod
    directory: Path
    files: tuple[Path, ...]  # in the order written; the invoice summary last
    # The open month of --unbilled-through holds its unbilled daily files, no invoice.
    invoices: tuple[GeneratedInvoice, ...] | tuple[GeneratedNceInvoice, ...] | tuple[GeneratedUnbilled, ...]


def license_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_LicenseBasedRecon.csv"


def usage_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_UsageBasedRecon.csv"


def nce_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_InvoiceReconciliation.csv"


def invoice_number(seed: int, period: BillingPeriod, currency: str, commerce: str = "legacy") -> str:
    """A legacy (`D0` + 8 characters) or G-invoice number (`G0` + 8), the same for the same
    seed, month and currency."""
    rng = random.Random(f"{seed}/{period}/{currency}/invoice")
    prefix = "G0" if commerce == "nce" else "D0"
    return prefix + "".join(rng.choice(INVOICE_CHARACTERS) for _ in range(8))


def generate(
    out_dir: str | os.PathLike,
    period: BillingPeriod,
    months: int = 1,
    customers: int = 12,
    license_rows: int = 200,
    usage_rows: int = 1000,
    currencies: Iterable[str] = ("EUR", "USD"),
    seed: int = 7,
    indirect: bool = False,
    commerce: str = "legacy",
    header_form: str = "pascal",
    daily: bool = True,
    daily_resources: int = DEFAULT_RESOURCES_PER_LINE,
    unbilled_through: date | None = None,
) -> list[GeneratedMonth]:
    """Writes `OUT/<YYYY-MM>/` for `months` months from `period`. Row counts are per month
    and per currency file, shared among that currency's customers (for new commerce: seat
    lines and Azure plan lines). New commerce also writes each invoice's billed daily rated
    usage file (`daily`, `daily_resources` resources per Azure plan line and day) and, with
    `unbilled_through`, the open month's unbilled daily files up to that day, alone in its folder."""
    currencies = tuple(currencies)
    _check_arguments(months, customers, license_rows, usage_rows, currencies)
    if commerce not in COMMERCES or header_form not in HEADER_FORMS:
        raise ValueError(
            f"--commerce is one of {', '.join(COMMERCES)} and --header-form one of {', '.join(HEADER_FORMS)}."
        )
    calendar = billing_months(period, months)
    open_month = _open_month(unbilled_through, calendar, commerce, daily_resources)
    out = Path(out_dir)
    planned = {month.period: _planned_names(seed, month, currencies, commerce, daily) for month in calendar}
    if open_month is not None:
        planned[open_month.period] = {unbilled_file_name(open_month.period, currency) for currency in currencies}
    _refuse_foreign_files(out, planned)
    book = build_book(seed, customers, currencies, license_rows, usage_rows, calendar[0].start, indirect)
    if commerce == "nce":
        generated = [
            _nce_month(out, seed, month, currencies, book, header_form, daily, daily_resources) for month in calendar
        ]
        if open_month is not None and unbilled_through is not None:
            generated.append(
                _unbilled_month(out, seed, open_month, unbilled_through, currencies, book, header_form, daily_resources)
            )
        return generated
    licenses = license_layout(indirect)
    usage = usage_layout()
    generated = []
    for month in calendar:
        directory = out / month.period.key
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
                license_path,
                licenses,
                book.partner,
                billed,
                month,
                terms,
                random.Random(f"{seed}/{month.period}/{currency}/license"),
            )
            usage_totals = write_usage_file(
                usage_path,
                usage,
                book.partner,
                billed,
                month,
                number,
                terms,
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


def _header_form(header_form: str, position: int) -> str:
    return ("pascal" if position == 0 else "camel") if header_form == "mixed" else header_form


def _nce_month(
    out: Path,
    seed: int,
    month: BillingMonth,
    currencies: tuple[str, ...],
    book,
    header_form: str,
    daily: bool = True,
    daily_resources: int = DEFAULT_RESOURCES_PER_LINE,
) -> GeneratedMonth:
    directory = out / month.period.key
    directory.mkdir(parents=True, exist_ok=True)
    layout = nce_layout()
    invoices = []
    for position, currency in enumerate(currencies):
        number = invoice_number(seed, month.period, currency, "nce")
        form = _header_form(header_form, position)
        path = directory / nce_file_name(number)
        azure_lines: list[AzurePlanLine] = []
        totals = write_nce_file(
            path,
            layout,
            form,
            book.partner,
            book.customers_billed_in(currency),
            month,
            number,
            currency_terms(currency),
            random.Random(f"{seed}/{month.period}/{currency}/nce"),
            azure_lines,
        )
        daily_path = directory / daily_file_name(number) if daily else None
        daily_totals = daily_path and write_daily_file(
            daily_path,
            form,
            book.partner,
            azure_lines,
            month,
            number,
            currency,
            random.Random(f"{seed}/{month.period}/{currency}/daily"),
            daily_resources,
        )
        invoices.append(
            GeneratedNceInvoice(
                invoice_number=number,
                currency=currency,
                invoice_date=month.invoice_date + timedelta(days=NCE_INVOICE_DAYS_AFTER_MONTH),
                billing_period_start=month.start,
                billing_period_end=month.end,
                totals=totals,
                recon_file=path,
                header_form=form,
                daily_file=daily_path,
                daily_totals=daily_totals or None,
            )
        )
    summary_path = directory / INVOICE_SUMMARY_FILE
    with csv_file(summary_path) as output:
        output.row(NCE_SUMMARY_HEADER)
        for invoice in invoices:
            t = invoice.totals
            output.row(
                [
                    invoice.invoice_number,
                    invoice.invoice_date.isoformat(),
                    invoice.billing_period_start.isoformat(),
                    invoice.billing_period_end.isoformat(),
                    invoice.currency,
                    *(f"{amount:.2f}" for amount in (t.charges, t.credits, t.subtotal, t.tax, t.subtotal + t.tax)),
                ]
            )
    files = [path for i in invoices for path in (i.recon_file, i.daily_file) if path is not None]
    return GeneratedMonth(month.period, directory, (*files, summary_path), tuple(invoices))


def _open_month(
    through: date | None, calendar: list[BillingMonth], commerce: str, daily_resources: int
) -> BillingMonth | None:
    """The month `through` falls in, when it is not one of the closed months being generated."""
    if daily_resources < 1:
        raise ValueError("--daily-resources must be at least 1.")
    if through is None:
        return None
    if commerce != "nce":
        raise ValueError(
            "--unbilled-through writes the new-commerce daily rated usage file: use it with --commerce nce."
        )
    (open_month,) = billing_months(BillingPeriod.containing(through), 1)
    if any(month.period == open_month.period for month in calendar):
        raise ValueError(
            f"{open_month.period} is both a billed month and the open month of --unbilled-through {through.isoformat()}: "
            "give a date in a month after the generated ones."
        )
    return open_month


def _unbilled_month(
    out: Path,
    seed: int,
    month: BillingMonth,
    through: date,
    currencies: tuple[str, ...],
    book,
    header_form: str,
    daily_resources: int,
) -> GeneratedMonth:
    """The open month's folder: per currency, the unbilled daily rated usage from the 1st through
    `through`, blank InvoiceNumber; no reconciliation file and no invoice summary (Microsoft has
    not invoiced the month yet)."""
    directory = out / month.period.key
    directory.mkdir(parents=True, exist_ok=True)
    unbilled = []
    for position, currency in enumerate(currencies):
        form = _header_form(header_form, position)
        # The month's Azure plan consumption as its invoice will have it, cut at `through`.
        lines = azure_plan_lines(
            book.partner,
            book.customers_billed_in(currency),
            month,
            currency_terms(currency),
            random.Random(f"{seed}/{month.period}/{currency}/nce"),
        )
        path = directory / unbilled_file_name(month.period, currency)
        totals = write_daily_file(
            path,
            form,
            book.partner,
            lines,
            month,
            "",
            currency,
            random.Random(f"{seed}/{month.period}/{currency}/daily"),
            daily_resources,
            through,
        )
        unbilled.append(GeneratedUnbilled(currency, through, path, totals, form))
    return GeneratedMonth(month.period, directory, tuple(u.daily_file for u in unbilled), tuple(unbilled))


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


def _planned_names(
    seed: int, month: BillingMonth, currencies: tuple[str, ...], commerce: str, daily: bool = True
) -> set[str]:
    numbers = [invoice_number(seed, month.period, currency, commerce) for currency in currencies]
    if commerce == "nce":
        return {INVOICE_SUMMARY_FILE, *map(nce_file_name, numbers), *(map(daily_file_name, numbers) if daily else ())}
    return {INVOICE_SUMMARY_FILE, *map(license_file_name, numbers), *map(usage_file_name, numbers)}


def _refuse_foreign_files(out: Path, planned: dict[BillingPeriod, set[str]]) -> None:
    """The pipeline reads every file of a month folder: files left by another run (another
    seed, other currencies) would be billed too. Only files this run rewrites may be there."""
    for period, names in planned.items():
        directory = out / period.key
        if not directory.is_dir():
            continue
        foreign = sorted(
            entry.name
            for entry in directory.iterdir()
            if entry.is_file() and entry.name not in names and not entry.name.startswith(".")
        )
        if foreign:
            raise ValueError(
                f"{directory} already holds {', '.join(foreign)}, which this run would not replace; "
                "the pipeline would read them too. Empty the folder or choose another --out."
            )
