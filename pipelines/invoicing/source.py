"""Read one month's invoices from the warehouse marts, keeping every amount a Decimal.

DuckDB's `.df()` turns DECIMAL into float, so rows are fetched with `fetchall()`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import duckdb

from pipelines.invoicing.model import (
    MONEY_COLUMNS,
    Billing,
    CurrencyInvoice,
    CustomerInvoice,
    InvoiceDataError,
    InvoiceLine,
    MonthInvoices,
)
from pipelines.invoicing.money import to_decimal, to_number
from pipelines.invoicing.safety import safe_file_stem
from pipelines.settings import validate_period

CUSTOMER_MONTHLY = ("marts", "customer_monthly")
CUSTOMER_INVOICE_LINES = ("marts", "customer_invoice_lines")
# Where the customers seed (billing name, country, VAT) may live; the first that exists is used.
CUSTOMER_SEEDS = (("config", "customers"), ("seeds", "customers"), ("main_config", "customers"))


@dataclass(frozen=True)
class InvoiceLineColumns:
    """The column names of `marts.customer_invoice_lines`: the one place to adjust them."""

    customer_id: str = "customer_id"
    currency: str = "currency"
    line_number: str = "line_number"  # optional: without it, lines keep the order of description
    description: str = "line_description"
    quantity: str = "quantity"
    unit_price: str = "unit_price"
    amount: str = "amount"
    billing_period: str = "billing_period"


INVOICE_LINE_COLUMNS = InvoiceLineColumns()
SHORT_ID_LENGTH = 8
MAX_PROBLEMS_SHOWN = 20


def load_month(con: duckdb.DuckDBPyConnection, period: str, columns: InvoiceLineColumns = INVOICE_LINE_COLUMNS) -> MonthInvoices:
    """The month's invoices from `marts.customer_monthly` and `marts.customer_invoice_lines`."""
    validate_period(period)
    year, month = period.split("-")
    start = date(int(year), int(month), 1)
    monthly = _monthly_rows(con, start)
    lines = _line_rows(con, start, columns)
    billing = _billing(con)
    return assemble_month(period, monthly, lines, billing)


def assemble_month(period: str, monthly_rows: list[dict], line_rows: list[dict], billing: dict[str, Billing]) -> MonthInvoices:
    """Group lines under their customer and currency, number the invoices and check they add up."""
    problems: list[str] = []
    lines_of: dict[tuple[str, str], list[InvoiceLine]] = defaultdict(list)
    for row in line_rows:
        lines_of[(row["customer_id"], row["currency"])].append(
            InvoiceLine(
                line_number=row.get("line_number"),
                description="" if row["description"] is None else str(row["description"]),
                quantity=to_number(row["quantity"]),
                unit_price=to_number(row["unit_price"]),
                amount=to_decimal(row["amount"], f"amount of a line of customer {row['customer_id']}"),
            )
        )
    monthly_of: dict[str, list[dict]] = defaultdict(list)
    for row in monthly_rows:
        if not row["customer_id"] or not str(row["customer_id"]).strip():
            problems.append("marts.customer_monthly has a row without customer_id")
            continue
        monthly_of[row["customer_id"]].append(row)
    known = {(row["customer_id"], row["currency"]) for row in monthly_rows}
    for customer_id, currency in sorted(set(lines_of) - known, key=str):
        problems.append(f"customer {customer_id} ({currency}) has invoice lines but no row in marts.customer_monthly")

    stems = {customer_id: safe_file_stem(customer_id) for customer_id in monthly_of}
    by_folded: dict[str, list[str]] = defaultdict(list)
    for customer_id, stem in stems.items():
        by_folded[stem.casefold()].append(customer_id)
    for clashing in (ids for ids in by_folded.values() if len(ids) > 1):
        problems.append(f"customers {', '.join(sorted(clashing))} would share one invoice file name")
    short_ids = _short_ids(stems)

    customers = []
    for customer_id in sorted(monthly_of):
        rows = sorted(monthly_of[customer_id], key=lambda row: str(row["currency"]))
        invoices = []
        for row in rows:
            currency = row["currency"]
            invoice = CurrencyInvoice(
                invoice_number=invoice_number(period, short_ids[customer_id], currency),
                currency=currency,
                totals={name: to_decimal(row[name], f"customer_monthly.{name} of customer {customer_id}") for name in MONEY_COLUMNS},
                line_count=int(row.get("line_count") or 0),
                lines=tuple(_ordered(lines_of.get((customer_id, currency), []))),
            )
            problems.extend(f"invoice {invoice.invoice_number} of customer {customer_id} ({currency}): {p}" for p in invoice.problems())
            invoices.append(invoice)
        name = next((str(row["customer_name"]) for row in rows if row.get("customer_name")), "")
        customers.append(
            CustomerInvoice(
                period=period,
                customer_id=customer_id,
                customer_name=name,
                file_stem=stems[customer_id],
                billing=billing.get(customer_id, Billing()),
                invoices=tuple(invoices),
            )
        )
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise InvoiceDataError(f"No invoices were written for {period}: " + "; ".join(shown) + more + ".")
    return MonthInvoices(period=period, customers=tuple(customers))


def invoice_number(period: str, short_id: str, currency: str) -> str:
    """`<YYYYMM>-<short customer id>-<currency>`: the same month and data give the same number."""
    code = re.sub(r"[^A-Za-z0-9]", "", str(currency or "")).upper()[:8] or "XXX"
    return f"{period.replace('-', '')}-{short_id}-{code}"


def _short_ids(stems: dict[str, str]) -> dict[str, str]:
    """The first characters of each file stem; the whole stem where two customers share them."""
    short = {customer_id: stem[:SHORT_ID_LENGTH].upper() for customer_id, stem in stems.items()}
    counts: dict[str, int] = defaultdict(int)
    for value in short.values():
        counts[value] += 1
    return {customer_id: stems[customer_id].upper() if counts[value] > 1 else value for customer_id, value in short.items()}


def _ordered(lines: list[InvoiceLine]) -> list[InvoiceLine]:
    return sorted(lines, key=lambda line: (line.line_number is None, line.line_number or 0, line.description))


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]


def _require(con: duckdb.DuckDBPyConnection, table: tuple[str, str], needed: list[str], hint: str) -> list[str]:
    present = _table_columns(con, *table)
    name = ".".join(table)
    if not present:
        raise InvoiceDataError(f"{name} does not exist in the warehouse: build the dbt models for the month first.")
    missing = [column for column in needed if column not in present]
    if missing:
        raise InvoiceDataError(f"{name} has no column {', '.join(missing)} (it has {', '.join(present)}){hint}.")
    return present


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _monthly_rows(con: duckdb.DuckDBPyConnection, start: date) -> list[dict]:
    needed = ["billing_period", "customer_id", "currency", "customer_name", *MONEY_COLUMNS, "line_count"]
    _require(con, CUSTOMER_MONTHLY, needed, "")
    select = ", ".join(_quoted(column) for column in needed[1:])
    return _fetch_dicts(
        con,
        f"SELECT {select} FROM {'.'.join(map(_quoted, CUSTOMER_MONTHLY))} WHERE billing_period = ? ORDER BY customer_id, currency",
        [start],
    )


def _line_rows(con: duckdb.DuckDBPyConnection, start: date, columns: InvoiceLineColumns) -> list[dict]:
    wanted = {
        "customer_id": columns.customer_id,
        "currency": columns.currency,
        "description": columns.description,
        "quantity": columns.quantity,
        "unit_price": columns.unit_price,
        "amount": columns.amount,
    }
    present = _require(
        con,
        CUSTOMER_INVOICE_LINES,
        [columns.billing_period, *wanted.values()],
        ": adjust INVOICE_LINE_COLUMNS in pipelines/invoicing/source.py",
    )
    if columns.line_number in present:
        wanted["line_number"] = columns.line_number
    select = ", ".join(f"{_quoted(column)} AS {_quoted(alias)}" for alias, column in wanted.items())
    order = _quoted(columns.line_number) if "line_number" in wanted else _quoted(columns.description)
    return _fetch_dicts(
        con,
        f"SELECT {select} FROM {'.'.join(map(_quoted, CUSTOMER_INVOICE_LINES))} "
        f"WHERE {_quoted(columns.billing_period)} = ? "
        f"ORDER BY {_quoted(columns.customer_id)}, {_quoted(columns.currency)}, {order}",
        [start],
    )


def _billing(con: duckdb.DuckDBPyConnection) -> dict[str, Billing]:
    """Billing details per customer from the customers seed, when there is one."""
    fields = ("billing_name", "country", "vat_rate", "tax_exempt")
    for table in CUSTOMER_SEEDS:
        present = _table_columns(con, *table)
        if "customer_id" not in present:
            continue
        chosen = [name for name in fields if name in present]
        if not chosen:
            return {}
        rows = _fetch_dicts(
            con,
            f"SELECT customer_id, {', '.join(map(_quoted, chosen))} FROM {'.'.join(map(_quoted, table))}",
            [],
        )
        return {
            str(row["customer_id"]): Billing(
                billing_name=_text(row.get("billing_name")),
                country=_text(row.get("country")),
                vat_rate=to_number(row.get("vat_rate")),
                tax_exempt=_flag(row.get("tax_exempt")),
            )
            for row in rows
            if row["customer_id"] is not None
        }
    return {}


def _text(value: object) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1"):
        return True
    if text in ("false", "f", "no", "n", "0", ""):
        return False
    return None
