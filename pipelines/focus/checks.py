"""The project's own FOCUS checks: the 1.2 and 1.4 rules that matter to a CSP and that the only
installable focus-validator (1.0.0, rule sets up to FOCUS 1.0) does not check.

Each check reads a written CSV file as any FOCUS tool would (text), or a Parquet file rendered as
the same text (and its amounts' types), row by row, and answers in sentences naming the file, the
row (the header is row 1; in Parquet the n-th record is row n+1) and the column. Checked here:

- every required column is present, and no required value is empty;
- custom columns are prefixed `x_` and come after every FOCUS column;
- datetimes are ISO 8601 in UTC (`...Z`); period ends are exclusive: after their start, at
  midnight, and a billing period is exactly one calendar month (an inclusive end written as the
  last day, or as 23:59:59, fails);
- ChargeCategory (and BillingPeriodStatus) take FOCUS's values; amounts are decimals (in
  Parquet, of a DECIMAL type);
- BilledCost sums, per invoice issuer and invoice, to the invoice: non-tax rows to its pre-tax
  total and Tax rows to its tax, exactly (Decimal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.focus.datasets import BILLING_PERIOD_STATUSES, CHARGE_CATEGORIES, CUSTOM_PREFIX, TAX
from pipelines.focus.fast_checks import RowRules, sums_if_every_row_keeps_the_rules
from pipelines.focus.files import PARQUET_SUFFIX, parquet_columns, read_rows
from pipelines.periods import BillingPeriod

MAX_SENTENCES = 20
ROW_CHECKED = ("ChargeCategory", "BillingPeriodStatus")  # their values, on every row
PERIOD_PAIRS = (("BillingPeriodStart", "BillingPeriodEnd"), ("ChargePeriodStart", "ChargePeriodEnd"))


@dataclass(frozen=True)
class InvoiceTotal:
    """What an invoice bills: its pre-tax total and its tax."""

    pretax: Decimal
    tax: Decimal


class FocusCheckError(ValueError):
    """A FOCUS file breaks a rule: the message is the list of sentences."""


def parse_utc(text: str) -> datetime | None:
    """An ISO 8601 UTC datetime as FOCUS requires (`Z` or `+00:00`); None otherwise."""
    if not text.endswith("Z") and not text.endswith("+00:00"):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 else None


def check_columns(name: str, header: list[str], required: Iterable[str]) -> list[str]:
    sentences = [f"{name} lacks the required FOCUS column {column}." for column in required if column not in header]
    first_custom = next((index for index, column in enumerate(header) if column.startswith(CUSTOM_PREFIX)), len(header))
    for column in header[first_custom:]:
        if not column.startswith(CUSTOM_PREFIX):
            sentences.append(
                f"{name} has the FOCUS column {column} after its custom x_ columns: FOCUS columns come first."
            )
    return sentences


def row_sentences(name: str, number: int, row: dict[str, str], not_null: list[str], money: list[str]) -> list[str]:
    """What one row (`number`: its line, the header being 1) breaks; columns the file lacks are
    the header check's."""
    sentences: list[str] = []
    for column in not_null:
        if column in row and not (row[column] or "").strip():
            sentences.append(f"{name}, row {number}: {column} is empty, and FOCUS requires a value.")
    for column in money:
        text = row.get(column) or ""
        if text and _as_decimal(text) is None:
            sentences.append(f"{name}, row {number}: {column} is '{text}', not a decimal number.")
    if "ChargeCategory" in row and row["ChargeCategory"] and row["ChargeCategory"] not in CHARGE_CATEGORIES:
        sentences.append(
            f"{name}, row {number}: ChargeCategory is '{row['ChargeCategory']}', not one of {', '.join(CHARGE_CATEGORIES)}."
        )
    if "BillingPeriodStatus" in row and row["BillingPeriodStatus"] not in BILLING_PERIOD_STATUSES:
        sentences.append(
            f"{name}, row {number}: BillingPeriodStatus is '{row['BillingPeriodStatus']}', not Open or Closed."
        )
    sentences.extend(_period_sentences(name, number, row))
    return sentences


def _period_sentences(name: str, number: int, row: dict[str, str]) -> list[str]:
    sentences = []
    for start_column, end_column in PERIOD_PAIRS:
        if start_column not in row or end_column not in row or not row[start_column] or not row[end_column]:
            continue
        for problem in _period_problems(start_column, end_column, row[start_column], row[end_column]):
            sentences.append(f"{name}, row {number}: {problem}")
    return sentences


@lru_cache(maxsize=4096)  # a month's rows share a few hundred periods
def _period_problems(start_column: str, end_column: str, start_text: str, end_text: str) -> tuple[str, ...]:
    """What a period breaks, whatever its row."""
    start, end = parse_utc(start_text), parse_utc(end_text)
    problems = [
        f"{column} is '{text}', not an ISO 8601 UTC datetime such as 2026-10-01T00:00:00Z."
        for column, text, value in ((start_column, start_text, start), (end_column, end_text, end))
        if value is None
    ]
    if start is None or end is None:
        return tuple(problems)
    if end <= start:
        problems.append(
            f"{end_column} {end_text} is not after {start_column} {start_text}: "
            "FOCUS ends are exclusive (a charge for one day ends at the next midnight)."
        )
    elif end.time() != datetime.min.time():
        problems.append(
            f"{end_column} is {end_text}, not a midnight: an inclusive end (23:59:59) "
            "must be written as the next midnight, the exclusive end."
        )
    elif start_column == "BillingPeriodStart" and end != _next_month(start):
        problems.append(
            f"BillingPeriodEnd {end_text} is not the first instant of the month after "
            f"BillingPeriodStart {start_text}: the billing period's end is exclusive."
        )
    return tuple(problems)


class InvoiceSums:
    """BilledCost added up per invoice (its values of `key_columns`, the issuer first): non-tax
    rows and Tax rows apart. A draft has no InvoiceId yet: its key is the issuer, the customer and
    the currency, which name one invoice of the month as well."""

    def __init__(self, key_columns: tuple[str, ...]) -> None:
        self.key_columns = key_columns
        self.pretax: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
        self.tax: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)

    def add(self, row: Mapping[str, str]) -> None:
        key = tuple(row.get(column, "") for column in self.key_columns)
        amount = _as_decimal(row.get("BilledCost") or "")
        amount = Decimal(0) if amount is None else amount
        (self.tax if row.get("ChargeCategory") == TAX else self.pretax)[key] += amount

    def sentences(self, name: str, invoices: Mapping[tuple[str, ...], InvoiceTotal]) -> list[str]:
        """Per invoice: non-tax BilledCost = its pre-tax total, Tax rows = its tax, exactly."""
        sentences = []
        for key, expected in sorted(invoices.items()):
            invoice = " ".join(part for part in key[1:] if part)
            found_pretax, found_tax = self.pretax.get(key, Decimal(0)), self.tax.get(key, Decimal(0))
            if found_pretax != expected.pretax:
                sentences.append(
                    f"{name}: the BilledCost of invoice {invoice} of {key[0]} (tax rows apart) adds up to {found_pretax}, "
                    f"but the invoice bills {expected.pretax} before tax."
                )
            if found_tax != expected.tax:
                sentences.append(
                    f"{name}: the Tax rows of invoice {invoice} of {key[0]} add up to {found_tax}, but the invoice's tax is {expected.tax}."
                )
        return sentences


def check_file(
    path: Path,
    required: Iterable[str],
    not_null: Iterable[str],
    invoices: Mapping[tuple[str, ...], InvoiceTotal] | None = None,
    key_columns: tuple[str, ...] = ("InvoiceIssuerName", "InvoiceId"),
    money: Iterable[str] = ("BilledCost",),
) -> list[str]:
    """Every sentence about one CSV or Parquet file (empty: the file keeps the rules), in one
    pass over its rows (a month's file is never held whole)."""
    name, money, not_null = path.name, tuple(money), tuple(not_null)
    wanted = {*not_null, *money, *key_columns, "BilledCost", *ROW_CHECKED, *(c for pair in PERIOD_PAIRS for c in pair)}
    with read_rows(path, wanted) as (header, rows):
        sentences = check_columns(name, header, required)
        if path.suffix == PARQUET_SUFFIX:
            sentences += _parquet_money_sentences(path, money)
        if sentences:
            return sentences
        not_null = [column for column in not_null if column in header]
        money_present = [column for column in money if column in header]
        sums = InvoiceSums(key_columns)
        rules = RowRules(not_null, money_present, key_columns, PERIOD_PAIRS, _period_problems)
        fast = sums_if_every_row_keeps_the_rules(path, header, rules)
        if fast is not None:  # no row can break a row rule: only the sums are left to compare
            sums.pretax.update(fast[0])
            sums.tax.update(fast[1])
            return sums.sentences(name, invoices) if invoices is not None else []
        for number, row in enumerate(rows, start=2):
            sentences += row_sentences(name, number, row, not_null, money_present)
            sums.add(row)
    if invoices is not None:
        sentences += sums.sentences(name, invoices)
    return sentences


def _parquet_money_sentences(path: Path, money: tuple[str, ...]) -> list[str]:
    """Amounts are DECIMAL in a Parquet file, never a float that rounds them."""
    with duckdb.connect() as con:
        types = dict(parquet_columns(con, path))
    return [
        f"{path.name}: {column} is of type {types[column]}, not DECIMAL: amounts are never floating point."
        for column in money
        if column in types and not types[column].upper().startswith("DECIMAL")
    ]


def raise_on(sentences: list[str], what: str) -> None:
    if sentences:
        shown = sentences[:MAX_SENTENCES]
        more = f" (and {len(sentences) - len(shown)} more)" if len(sentences) > len(shown) else ""
        raise FocusCheckError(f"{what}: " + " ".join(shown) + more)


def _next_month(moment: datetime) -> datetime:
    return datetime.combine(BillingPeriod.containing(moment.date()).next_start, time(), tzinfo=UTC)


def _as_decimal(text: str) -> Decimal | None:
    """The number a cell writes as a plain decimal (no exponent, finite); None otherwise."""
    if "e" in text or "E" in text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
