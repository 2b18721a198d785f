"""One month's FOCUS files, made from the warehouse, checked, then put in place as a whole.

`<exports>/<YYYY-MM>/focus/`:
- `cost_and_usage_microsoft.csv|.parquet`: what Microsoft invoiced the partner (FOCUS 1.2);
- `cost_and_usage_customers.csv|.parquet`: every customer's rows with the internal x_ columns
  (Microsoft cost, markup, pricing rule), for the partner only;
- `invoice_detail.csv|.parquet`, `billing_period.csv|.parquet`: FOCUS 1.4 datasets of the
  partner's invoices (Invoice Detail only for issued invoices; Billing Period only once the
  month close has built `marts.billing_periods`);
- `customers/<customer_id>/`: what one customer receives: its `cost_and_usage` (FOCUS 1.2,
  without the internal columns), its `invoice_detail` and the partner's `billing_period`.

The Cost and Usage files (CSV and Parquet) are written by DuckDB's `COPY` straight from the
warehouse, formatted and guarded in SQL (`files.py`): no row of the month passes through Python,
so memory does not grow with the month. Invoice Detail and Billing Period (a few rows per
invoice) are made here. Files are written into a staging folder beside the month's folder,
checked there (the checks of `checks.py`, row by row, on the CSV and on the Parquet files), and
only then swapped in: a month whose files break a rule keeps its previous files.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import PartnerProfile
from pipelines.focus.checks import InvoiceTotal, check_file, raise_on
from pipelines.focus.datasets import (
    BILLING_PERIOD,
    BILLING_PERIODS_TABLE,
    COST_AND_USAGE_NOT_NULL,
    COST_AND_USAGE_REQUIRED,
    COST_FROM_MICROSOFT,
    COST_FROM_MICROSOFT_TABLE,
    COST_TO_CUSTOMER,
    COST_TO_CUSTOMERS_TABLE,
    CUSTOMERS_DIR,
    FOCUS_DIR,
    INTERNAL_COLUMNS,
    INVOICE_DETAIL,
    PERIOD_COLUMN,
    TAX,
)
from pipelines.focus.files import (
    CSV_SUFFIX,
    PARQUET_SUFFIX,
    TIMESTAMP_UTC,
    Column,
    copy_dataset,
    read_rows,
    write_dataset,
)
from pipelines.invoicing.issuing import ISSUED_TABLE
from pipelines.invoicing.safety import safe_file_stem
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths

ALL_CUSTOMERS_STEM = "cost_and_usage_customers"
INVOICE_SUMMARY = "raw.invoice_summary"
CUSTOMER_MONTHLY = "marts.customer_monthly"
MONEY = "DECIMAL(28,2)"
INVOICE_DETAIL_TYPES: dict[str, str] = {
    "BilledCost": MONEY,
    "PaymentCurrencyBilledCost": MONEY,
    "BillingPeriodEnd": TIMESTAMP_UTC,
    "BillingPeriodStart": TIMESTAMP_UTC,
    "InvoiceDetailCreated": TIMESTAMP_UTC,
    "InvoiceDetailLastUpdated": TIMESTAMP_UTC,
    "InvoiceIssueDate": TIMESTAMP_UTC,
    "PaymentDueDate": TIMESTAMP_UTC,
}
BILLING_PERIOD_TYPES: dict[str, str] = {
    "BillingPeriodCreated": TIMESTAMP_UTC,
    "BillingPeriodEnd": TIMESTAMP_UTC,
    "BillingPeriodLastUpdated": TIMESTAMP_UTC,
    "BillingPeriodStart": TIMESTAMP_UTC,
}
INVOICE_DETAIL_REQUIRED = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "ChargeCategory",
    "InvoiceDetailId",
    "InvoiceId",
    "InvoiceIssuerName",
    "PaymentDueDate",
)
BILLING_PERIOD_REQUIRED = ("BillingPeriodStart", "BillingPeriodEnd", "BillingPeriodStatus", "InvoiceIssuerName")


@dataclass
class Table:
    """Rows of one dataset with their columns (name, DuckDB type)."""

    columns: list[Column]
    rows: list[list[object]] = field(default_factory=list)

    def index(self, name: str) -> int:
        return [column for column, _ in self.columns].index(name)

    def where(self, column: str, value: object) -> Table:
        i = self.index(column)
        return Table(self.columns, [row for row in self.rows if row[i] == value])


@dataclass(frozen=True)
class FocusMonth:
    period: BillingPeriod
    folder: Path
    files: tuple[Path, ...]
    cost_rows: int
    customer_rows: int
    customers: tuple[str, ...]  # customers given their own folder
    issued_invoices: int
    billing_period_rows: int | None  # None: marts.billing_periods not built yet


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[Column]:
    """A focus table's columns and types, without the month key."""
    schema, name = table.split(".")
    described = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    if not described:
        raise LookupError(f"The warehouse has no table {table}: run the month's transform first.")
    return [(column, data_type) for column, data_type in described if column != PERIOD_COLUMN]


def month_query(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[Column],
    period: BillingPeriod,
    customer: str | None = None,
) -> tuple[str, list]:
    """The month's rows of a focus table (one customer's when given), in a stable order. The
    customers' InvoiceId is the issued number as it stands now (an invoice issued after the
    month's transform included), so its x_InvoiceStatus too."""
    stamped = table == COST_TO_CUSTOMERS_TABLE and _exists(con, ISSUED_TABLE)
    invoice = 'coalesce(issued.invoice_number, m."InvoiceId")'
    select = []
    for name, _ in columns:
        if stamped and name == "InvoiceId":
            select.append(f'{invoice} AS "InvoiceId"')
        elif stamped and name == "x_InvoiceStatus":
            select.append(f"CASE WHEN {invoice} IS NULL THEN 'Draft' ELSE 'Issued' END AS \"x_InvoiceStatus\"")
        else:
            select.append(f'm."{name}"')
    join = (
        f" LEFT JOIN {ISSUED_TABLE} AS issued ON issued.billing_period = m.{PERIOD_COLUMN} "
        'AND lower(issued.customer_id) = m."BillingAccountId" AND issued.currency = m."BillingCurrency"'
        if stamped
        else ""
    )
    where, params = f" WHERE m.{PERIOD_COLUMN} = ?", [period.start]
    if customer is not None:
        where, params = where + ' AND m."BillingAccountId" = ?', params + [customer]
    return f'SELECT {", ".join(select)} FROM {table} AS m{join}{where} ORDER BY m."x_ChargeId"', params


def month_values(
    con: duckdb.DuckDBPyConnection, table: str, period: BillingPeriod, select: str, rest: str = ""
) -> list[tuple]:
    """`SELECT <select> FROM <the month's rows as exported> <rest>`: a few values, never the rows."""
    query, params = month_query(con, table, columns_of(con, table), period)
    return con.execute(f"SELECT {select} FROM ({query}) AS m {rest}", params).fetchall()


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return (
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, name]
        ).fetchone()[0]
        > 0
    )


def issued_invoices(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[dict]:
    if not _exists(con, ISSUED_TABLE):
        return []
    cursor = con.execute(
        f"SELECT invoice_number, customer_id, customer_name, currency, issue_date, due_date, billed_pretax, customer_tax "
        f"FROM {ISSUED_TABLE} WHERE billing_period = ? ORDER BY sequence",
        [period.start],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def invoice_detail(
    sums: dict[tuple[str, str], Decimal],
    issued: list[dict],
    issuer: str,
    payment_terms_days: int,
    period: BillingPeriod,
) -> Table:
    """FOCUS 1.4 Invoice Detail of the issued invoices: one row per charge category of each
    (the grain the invoice shows: its pre-tax categories and its tax; `sums`: non-tax BilledCost
    per InvoiceId and ChargeCategory). Drafts have no InvoiceId yet, hence no row: they appear
    once issued."""
    columns = [(name, INVOICE_DETAIL_TYPES.get(name, "VARCHAR")) for name in INVOICE_DETAIL.columns]
    start = datetime.combine(period.start, time())
    end = datetime.combine(period.next_start, time())
    table = Table(columns)
    for invoice in issued:
        issued_at = datetime.combine(invoice["issue_date"], time())
        due = datetime.combine(invoice["due_date"], time())
        lines = sorted((cat, total) for (n, cat), total in sums.items() if n == invoice["invoice_number"])
        if invoice["customer_tax"]:
            lines.append((TAX, invoice["customer_tax"]))
        for position, (charge_category, billed) in enumerate(lines, start=1):
            values = {
                "BilledCost": billed,
                "BillingAccountId": str(invoice["customer_id"]).lower(),
                "BillingCurrency": invoice["currency"],
                "BillingPeriodEnd": end,
                "BillingPeriodStart": start,
                "ChargeCategory": charge_category,
                "InvoiceDetailCreated": issued_at,
                "InvoiceDetailDescription": f"{charge_category} charges of invoice {invoice['invoice_number']}",
                "InvoiceDetailGrain": "ChargeCategory",
                "InvoiceDetailId": f"{invoice['invoice_number']}-{position}",
                "InvoiceDetailLastUpdated": issued_at,  # an issued invoice is never rewritten
                "InvoiceId": invoice["invoice_number"],
                "InvoiceIssueDate": issued_at,
                "InvoiceIssueStatus": "Issued",
                "InvoiceIssuerName": issuer,
                "PaymentCurrency": invoice["currency"],
                "PaymentCurrencyBilledCost": billed,
                "PaymentDueDate": due,
                "PaymentTerms": f"Net {payment_terms_days} days",
                "PurchaseOrderNumber": None,
                "ReferenceInvoiceId": None,
            }
            table.rows.append([values[name] for name, _ in columns])
    return table


def billing_periods(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> Table | None:
    """FOCUS 1.4 Billing Period rows of the month from the month close's `marts.billing_periods`
    (None while that table does not exist)."""
    if not _exists(con, BILLING_PERIODS_TABLE):
        return None
    rows = con.execute(
        f"SELECT created_at, billing_period_end, last_updated_at, billing_period_start, billing_period_status, invoice_issuer_name, x_status "
        f"FROM {BILLING_PERIODS_TABLE} WHERE billing_period_start = ? ORDER BY invoice_issuer_name",
        [period.start],
    ).fetchall()
    columns = [(name, BILLING_PERIOD_TYPES.get(name, "VARCHAR")) for name in BILLING_PERIOD.columns]
    as_moment = lambda value: value if isinstance(value, datetime) or value is None else datetime.combine(value, time())  # noqa: E731
    return Table(
        columns,
        [
            [as_moment(c), as_moment(e), as_moment(u), as_moment(s), status, issuer, x]
            for c, e, u, s, status, issuer, x in rows
        ],
    )


def microsoft_invoices(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, issuer: str
) -> dict[tuple[str, ...], InvoiceTotal]:
    """What each new-commerce G-invoice bills, from the invoice summary Microsoft sent (legacy
    D-invoices are tied out by the reconciliation report: their other charges have no line)."""
    rows = con.execute(
        f"SELECT invoice_number, subtotal, coalesce(tax, 0) FROM {INVOICE_SUMMARY} WHERE billing_period = ? AND subtotal IS NOT NULL",
        [period.start],
    ).fetchall()
    return {(issuer, number): InvoiceTotal(subtotal, tax) for number, subtotal, tax in rows}


def customer_invoices(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, issuer: str, invoiced: set[str]
) -> dict[tuple[str, ...], InvoiceTotal]:
    """What each customer's invoice bills: its pre-tax total and tax (customer_monthly, the one
    place invoices take them from), keyed by issuer, customer and currency."""
    rows = con.execute(
        f"SELECT customer_id, currency, billed_pretax, customer_tax FROM {CUSTOMER_MONTHLY} WHERE billing_period = ?",
        [period.start],
    ).fetchall()
    return {
        (issuer, customer, currency): InvoiceTotal(pretax, tax)
        for customer, currency, pretax, tax in rows
        if customer in invoiced
    }


def export_month(
    con: duckdb.DuckDBPyConnection, paths: DataPaths, period: BillingPeriod, partner: PartnerProfile
) -> FocusMonth:
    """Write into a staging folder, check, swap in. Raises FocusCheckError (sentences) or
    LookupError (a table missing); the month's previous files then stay as they were."""
    microsoft = columns_of(con, COST_FROM_MICROSOFT_TABLE)
    customers = columns_of(con, COST_TO_CUSTOMERS_TABLE)
    issuer = partner.legal_name
    issued = issued_invoices(con, period)
    sums = month_values(
        con, COST_TO_CUSTOMERS_TABLE, period, '"InvoiceId", "ChargeCategory", sum("BilledCost")',
        f"""WHERE "InvoiceId" IS NOT NULL AND "ChargeCategory" <> '{TAX}' GROUP BY ALL""",
    )  # fmt: skip
    details = invoice_detail({(n, c): b for n, c, b in sums}, issued, issuer, partner.payment_terms_days, period)
    periods = billing_periods(con, period)
    [(cost_rows,)] = month_values(con, COST_FROM_MICROSOFT_TABLE, period, "count(*)")
    microsoft_issuers = [
        name for (name,) in month_values(con, COST_FROM_MICROSOFT_TABLE, period, 'DISTINCT "InvoiceIssuerName"')
    ]
    [(customer_rows,)] = month_values(con, COST_TO_CUSTOMERS_TABLE, period, "count(*)")
    invoiced = [
        account
        for (account,) in month_values(
            con, COST_TO_CUSTOMERS_TABLE, period, 'DISTINCT "BillingAccountId"', 'WHERE "x_Invoiced" ORDER BY 1'
        )
    ]
    expected_cost = {
        key: total for name in microsoft_issuers for key, total in microsoft_invoices(con, period, name).items()
    }
    expected_sell = customer_invoices(con, period, issuer, set(invoiced))

    target = paths.inside(paths.exports(period) / FOCUS_DIR)
    staging = paths.inside(target.parent / f".focus-{uuid.uuid4().hex[:12]}")
    try:
        files = _write_all(con, staging, period, microsoft, customers, details, periods, invoiced, issuer)
        _check_all(staging, invoiced, expected_cost, expected_sell)
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FocusMonth(
        period=period,
        folder=target,
        files=tuple(target / path.relative_to(staging) for path in files),
        cost_rows=cost_rows,
        customer_rows=customer_rows,
        customers=tuple(invoiced),
        issued_invoices=len(issued),
        billing_period_rows=None if periods is None else len(periods.rows),
    )


def _write_all(
    con: duckdb.DuckDBPyConnection, staging: Path, period: BillingPeriod, microsoft: list[Column], customers: list[Column],
    details: Table, periods: Table | None, invoiced: list[str], issuer: str,
) -> list[Path]:  # fmt: skip
    """The Cost and Usage files by COPY from the warehouse (no row through Python); the small
    datasets from their rows."""
    files = []
    for table, columns, stem in (
        (COST_FROM_MICROSOFT_TABLE, microsoft, COST_FROM_MICROSOFT.name),
        (COST_TO_CUSTOMERS_TABLE, customers, ALL_CUSTOMERS_STEM),
    ):
        query, params = month_query(con, table, columns, period)
        files += copy_dataset(con, staging, stem, columns, query, params)
    files += write_dataset(staging, INVOICE_DETAIL.name, details.columns, details.rows)
    if periods is not None:
        files += write_dataset(staging, BILLING_PERIOD.name, periods.columns, periods.rows)
    handed_over = [(name, sql_type) for name, sql_type in customers if name not in INTERNAL_COLUMNS]
    for customer in invoiced:
        folder = staging / CUSTOMERS_DIR / safe_file_stem(customer)
        query, params = month_query(con, COST_TO_CUSTOMERS_TABLE, handed_over, period, customer)
        files += copy_dataset(con, folder, COST_TO_CUSTOMER.name, handed_over, query, params)
        own_details = details.where("BillingAccountId", customer)
        files += write_dataset(folder, INVOICE_DETAIL.name, own_details.columns, own_details.rows)
        if periods is not None:
            partner_periods = periods.where("InvoiceIssuerName", issuer)
            files += write_dataset(folder, BILLING_PERIOD.name, partner_periods.columns, partner_periods.rows)
    return files


def _check_all(staging: Path, invoiced: list[str], expected_cost: dict, expected_sell: dict) -> None:
    """The checks of `checks.py` on every file, its CSV and its Parquet alike."""
    by_customer = ("InvoiceIssuerName", "BillingAccountId", "BillingCurrency")
    sentences = _check_both(
        staging / COST_FROM_MICROSOFT.name, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, expected_cost
    )
    sentences += _check_both(
        staging / ALL_CUSTOMERS_STEM,
        COST_AND_USAGE_REQUIRED,
        COST_AND_USAGE_NOT_NULL,
        expected_sell,
        key_columns=by_customer,
    )
    sentences += _check_both(staging / INVOICE_DETAIL.name, INVOICE_DETAIL_REQUIRED, INVOICE_DETAIL_REQUIRED)
    if (staging / f"{BILLING_PERIOD.name}{CSV_SUFFIX}").exists():
        sentences += _check_both(
            staging / BILLING_PERIOD.name, BILLING_PERIOD_REQUIRED, BILLING_PERIOD_REQUIRED, money=()
        )
    for customer in invoiced:
        folder = staging / CUSTOMERS_DIR / safe_file_stem(customer)
        own = {key: total for key, total in expected_sell.items() if key[1] == customer}
        sentences += _check_both(
            folder / COST_TO_CUSTOMER.name,
            COST_AND_USAGE_REQUIRED,
            COST_AND_USAGE_NOT_NULL,
            own,
            key_columns=by_customer,
        )
        for suffix in (CSV_SUFFIX, PARQUET_SUFFIX):
            with read_rows(folder / f"{COST_TO_CUSTOMER.name}{suffix}") as (header, _):
                leaked = [column for column in INTERNAL_COLUMNS if column in header]
            if leaked:
                sentences.append(
                    f"{COST_TO_CUSTOMER.name}{suffix} of customer {customer} would show {', '.join(leaked)}: "
                    "internal columns never go to a customer."
                )
    raise_on(sentences, "The FOCUS files were not published")


def _check_both(stem: Path, *args: Any, **kwargs: Any) -> list[str]:
    """`check_file` on `<stem>.csv` and `<stem>.parquet`."""
    return [
        sentence
        for suffix in (CSV_SUFFIX, PARQUET_SUFFIX)
        for sentence in check_file(stem.with_name(stem.name + suffix), *args, **kwargs)
    ]


def _swap_in(staging: Path, target: Path) -> None:
    """The new folder replaces the old as a whole (two renames); the old one is then removed."""
    retired = target.with_name(f".{target.name}-retired-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
