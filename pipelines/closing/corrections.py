"""Corrections of an issued month: what changed per customer since it was billed, and how it is billed.

What a customer has been billed for a month and currency (the basis) is the invoice in force
(issued and not cancelled by a credit note) plus any differences carried onto a later month.
A run whose figures differ from the basis is a change; the partner's `correction_mode` says how
it is billed:

- `credit_note`: a credit note (credit note series, type 381, referring to the invoice) that
  cancels the invoice in force in full, and a corrected invoice (invoice series, referring to
  it too) with the month as it is now. A customer new to the month gets an invoice; one gone
  from it only the credit note.
- `next_invoice`: the difference (pre-tax, VAT, total as the marts compute them) is carried
  onto the next month that is not issued, as a line "Correction of invoice ... (month)".

Customers the month cannot invoice now (incomplete billing profile) are held: nothing is
credited for them until their profile is complete.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb

from pipelines.invoicing.formatting import Formatter
from pipelines.invoicing.issuing import (
    ISSUED_LINES_TABLE,
    ISSUED_TABLE,
    content_fingerprint,
    ensure_tables,
    issue_documents,
)
from pipelines.invoicing.labels import labels_for
from pipelines.invoicing.model import (
    CREDIT_NOTE,
    INVOICE,
    MONEY_COLUMNS,
    CurrencyInvoice,
    CustomerInvoice,
    InvoiceLine,
    Issue,
    MonthInvoices,
    PrecedingInvoice,
)
from pipelines.invoicing.source import assemble_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths

CARRIED_TABLE = "billing.carried_corrections"
CREDIT_NOTE_MODE, NEXT_INVOICE_MODE = "credit_note", "next_invoice"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Basis:
    """What one customer has been billed for one month and currency."""

    customer_id: str
    currency: str
    invoice_number: str | None  # the invoice in force; None when only a carried difference remains
    invoice_issue_date: date | None
    fingerprint: str
    billed_pretax: Decimal
    customer_tax: Decimal
    billed_total: Decimal


@dataclass(frozen=True)
class CustomerChange:
    customer_id: str
    currency: str
    name: str
    basis: Basis | None  # None: the customer was not billed for the month
    current: CurrencyInvoice | None  # None: nothing to bill now
    customer: CustomerInvoice | None

    def difference(self, column: str) -> Decimal:
        now = self.current.totals[column] if self.current else ZERO
        before = getattr(self.basis, column) if self.basis else ZERO
        return now - before

    def __str__(self) -> str:
        return f"{self.name or self.customer_id} ({self.currency}): {self.difference('billed_total'):+,.2f} with VAT"


def ensure_carried_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con)
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {CARRIED_TABLE} (
            correction_id VARCHAR PRIMARY KEY, billing_period DATE NOT NULL, customer_id VARCHAR NOT NULL,
            customer_name VARCHAR NOT NULL, currency VARCHAR NOT NULL, corrects_invoice VARCHAR, target_period DATE NOT NULL,
            billed_pretax DECIMAL(18,2) NOT NULL, customer_tax DECIMAL(18,2) NOT NULL, billed_total DECIMAL(18,2) NOT NULL,
            content_fingerprint VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR NOT NULL)"""
    )


def billed_basis(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dict[tuple[str, str], Basis]:
    ensure_carried_table(con)
    in_force = con.execute(
        f"""SELECT i.customer_id, i.currency, i.invoice_number, i.issue_date, i.content_fingerprint, i.billed_pretax, i.customer_tax,
                   i.billed_total, coalesce(i.issued_at, i.issue_date::TIMESTAMP)
            FROM {ISSUED_TABLE} i
            WHERE i.billing_period = ? AND i.document_kind = ?
              AND NOT EXISTS (SELECT 1 FROM {ISSUED_TABLE} c WHERE c.document_kind = ? AND c.preceding_invoice = i.invoice_number)
            ORDER BY i.series, i.sequence""",
        [period.start, INVOICE, CREDIT_NOTE],
    ).fetchall()
    latest: dict[tuple[str, str], tuple] = {}
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for customer_id, currency, number, issued_on, fingerprint, pretax, tax, total, at in in_force:
        key = (customer_id, currency)
        latest[key] = (at, fingerprint, number, issued_on)
        totals[key] = [pretax, tax, total]
    carried = con.execute(
        f"""SELECT customer_id, currency, billed_pretax, customer_tax, billed_total, content_fingerprint, created_at
            FROM {CARRIED_TABLE} WHERE billing_period = ? ORDER BY created_at""",
        [period.start],
    ).fetchall()
    for customer_id, currency, pretax, tax, total, fingerprint, at in carried:
        key = (customer_id, currency)
        into = totals.setdefault(key, [ZERO, ZERO, ZERO])
        for position, amount in enumerate((pretax, tax, total)):
            into[position] += amount
        previous = latest.get(key)
        if previous is None or at >= previous[0]:
            latest[key] = (at, fingerprint, previous[2] if previous else None, previous[3] if previous else None)
    return {
        key: Basis(key[0], key[1], number, issued_on, fingerprint or "", *totals[key])
        for key, (_, fingerprint, number, issued_on) in latest.items()
    }


def month_changes(con: duckdb.DuckDBPyConnection, month: MonthInvoices) -> list[CustomerChange]:
    """Every customer and currency whose invoice now differs from what was billed for the month."""
    basis = billed_basis(con, month.period)
    current = {
        (customer.customer_id, invoice.currency): (customer, invoice)
        for customer in month.customers
        for invoice in customer.invoices
    }
    held = {blocked.customer_id for blocked in month.blocked}
    changes = []
    for key in sorted(set(basis) | set(current)):
        if key[0] in held:
            continue
        before, (customer, invoice) = basis.get(key), current.get(key, (None, None))
        if invoice is not None and before is not None and _same(invoice, before):
            continue
        if (
            invoice is None
            and before is not None
            and not (before.billed_pretax or before.customer_tax or before.billed_total)
        ):
            continue  # credited in full already
        name = customer.billing_name if customer else _billed_name(con, month.period, key)
        changes.append(CustomerChange(key[0], key[1], name, before, invoice, customer))
    return changes


def _same(invoice: CurrencyInvoice, before: Basis) -> bool:
    """Invoices issued before their content was fingerprinted are compared by their totals."""
    if before.fingerprint:
        return content_fingerprint(invoice) == before.fingerprint
    return (invoice.billed_pretax, invoice.customer_tax, invoice.billed_total) == (
        before.billed_pretax,
        before.customer_tax,
        before.billed_total,
    )


def issue_credit_notes(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    month: MonthInvoices,
    changes: list[CustomerChange],
    issue_date: date,
    buyers: dict,
) -> tuple[str, ...]:
    """A credit note cancelling each changed invoice in force, and the corrected invoice, in one go."""
    dated = replace(month, issue=Issue(issue_date, month.seller.payment_terms_days))
    documents: list[tuple[CustomerInvoice, CurrencyInvoice]] = []
    for change in changes:
        preceding = None
        if change.basis is not None and change.basis.invoice_number is not None:
            preceding = PrecedingInvoice(change.basis.invoice_number, change.basis.invoice_issue_date)
            customer = change.customer or _customer_without_charges(month, change, buyers)
            original = _issued_invoice(con, change.basis.invoice_number)
            documents.append(
                (
                    replace(customer, invoices=(original,)),
                    replace(original, kind=CREDIT_NOTE, preceding=preceding, number=None),
                )
            )
        if change.current is not None and (change.current.lines or change.current.billed_total):
            documents.append((change.customer, replace(change.current, kind=INVOICE, preceding=preceding)))
    return issue_documents(con, paths, dated, documents)


def carry_differences(
    con: duckdb.DuckDBPyConnection, month: MonthInvoices, changes: list[CustomerChange], target: BillingPeriod, by: str
) -> int:
    """Record each change's difference for `target`'s invoice; the month's documents stay as issued."""
    ensure_carried_table(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    _insert_carried(
        con,
        [
            [
                uuid.uuid4().hex,
                month.period.start,
                change.customer_id,
                change.name,
                change.currency,
                change.basis.invoice_number if change.basis else None,
                target.start,
                change.difference("billed_pretax"),
                change.difference("customer_tax"),
                change.difference("billed_total"),
                content_fingerprint(change.current) if change.current else "nothing billed",
                now,
                by,
            ]
            for change in changes
        ],
    )
    return len(changes)


def withdraw_carried_differences(
    con: duckdb.DuckDBPyConnection,
    period: BillingPeriod,
    changes: list[CustomerChange],
    final_periods: set[BillingPeriod],
    by: str,
) -> int:
    """Take back what earlier runs carried from `period` for the customers now corrected by a credit
    note and a corrected invoice (the partner switched to credit notes): the corrected invoice bills
    the month in full, so a carried difference would be billed twice.

    A difference still waiting on an open month is cancelled on that month; one already billed on
    an issued month is credited on the next open month. Rows are only ever added."""
    ensure_carried_table(con)
    keys = {(change.customer_id, change.currency) for change in changes}
    outstanding = con.execute(
        f"""SELECT customer_id, customer_name, currency, corrects_invoice, target_period,
                   sum(billed_pretax), sum(customer_tax), sum(billed_total)
            FROM {CARRIED_TABLE} WHERE billing_period = ?
            GROUP BY customer_id, customer_name, currency, corrects_invoice, target_period
            HAVING sum(billed_pretax) <> 0 OR sum(customer_tax) <> 0 OR sum(billed_total) <> 0
            ORDER BY customer_id, currency, target_period""",
        [period.start],
    ).fetchall()
    withdrawn = [row for row in outstanding if (row[0], row[2]) in keys]
    if not withdrawn:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    open_month = next_open_period(period, final_periods)
    _insert_carried(
        con,
        [
            [
                uuid.uuid4().hex,
                period.start,
                customer_id,
                name,
                currency,
                number,
                open_month.start if BillingPeriod(target) in final_periods else target,
                -pretax,
                -tax,
                -total,
                "withdrawn: corrected by credit note",
                now,
                by,
            ]
            for customer_id, name, currency, number, target, pretax, tax, total in withdrawn
        ],  # fmt: skip
    )
    return len(withdrawn)


def _insert_carried(con: duckdb.DuckDBPyConnection, rows: list[list]) -> None:
    """Rows of billing.carried_corrections, all or none."""
    con.execute("BEGIN TRANSACTION")
    try:
        for row in rows:
            con.execute(f"INSERT INTO {CARRIED_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def with_carried_corrections(con: duckdb.DuckDBPyConnection, month: MonthInvoices) -> MonthInvoices:
    """The month's invoices with every difference carried onto it from an earlier issued month:
    one line per corrected invoice, its VAT and total added to the invoice's. Differences carried
    and withdrawn again net to nothing and make no line."""
    ensure_carried_table(con)
    carried = con.execute(
        f"""SELECT customer_id, arg_max(customer_name, created_at), currency, corrects_invoice, billing_period,
                   sum(billed_pretax), sum(customer_tax), sum(billed_total)
            FROM {CARRIED_TABLE} WHERE target_period = ?
            GROUP BY customer_id, currency, corrects_invoice, billing_period
            HAVING sum(billed_pretax) <> 0 OR sum(customer_tax) <> 0
            ORDER BY billing_period, min(created_at), customer_id""",
        [month.period.start],
    ).fetchall()
    if not carried:
        return month
    customers = {customer.customer_id: customer for customer in month.customers}
    buyers = billing_profiles(con)
    for customer_id, name, currency, number, period, pretax, tax, total in carried:
        customer = customers.get(customer_id)
        if customer is None:
            if customer_id not in buyers:
                continue  # held: the customer has no billing profile to invoice
            customer = _empty_customer(month, customer_id, name, currency, buyers)
        labels, fmt = labels_for(customer.buyer.language), Formatter(customer.buyer.language)
        line = InvoiceLine(
            labels["correction_of"].format(number=number or "-", period=fmt.month(period)), None, None, pretax
        )
        invoices = list(customer.invoices)
        index = next((i for i, invoice in enumerate(invoices) if invoice.currency == currency), None)
        if index is None:
            invoices.append(CurrencyInvoice(currency, {column: ZERO for column in MONEY_COLUMNS}, 0, ()))
            index = len(invoices) - 1
        invoice = invoices[index]
        totals = dict(invoice.totals)
        for column, amount in (("billed_pretax", pretax), ("customer_tax", tax), ("billed_total", total)):
            totals[column] += amount
        invoices[index] = replace(invoice, totals=totals, lines=(*invoice.lines, line))
        customers[customer_id] = replace(customer, invoices=tuple(invoices))
    return replace(month, customers=tuple(customers[key] for key in sorted(customers)))


def next_open_period(after: BillingPeriod, final_periods: set[BillingPeriod]) -> BillingPeriod:
    """The first month after `after` whose invoices are not issued yet."""
    candidate = after.shifted(1)
    while candidate in final_periods:
        candidate = candidate.shifted(1)
    return candidate


def _issued_invoice(con: duckdb.DuckDBPyConnection, number: str) -> CurrencyInvoice:
    """An issued invoice as it was sent, from its recorded lines and totals."""
    currency, pretax, tax, total = con.execute(
        f"SELECT currency, billed_pretax, customer_tax, billed_total FROM {ISSUED_TABLE} WHERE invoice_number = ?",
        [number],
    ).fetchone()
    rows = con.execute(
        f"""SELECT description, quantity, unit_price, amount, subscription_id, period_start, period_end, period_kind
            FROM {ISSUED_LINES_TABLE} WHERE invoice_number = ? ORDER BY position""",
        [number],
    ).fetchall()
    lines = tuple(InvoiceLine(*row) for row in rows) or (InvoiceLine(f"Invoice {number}", None, None, pretax),)
    totals = {column: ZERO for column in MONEY_COLUMNS} | {
        "billed_pretax": pretax,
        "customer_tax": tax,
        "billed_total": total,
    }
    return CurrencyInvoice(currency, totals, len(lines), lines, number=number)


def billing_profiles(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """config.customers by customer id (lower case, as the invoices key them)."""
    cursor = con.execute("SELECT * FROM config.customers")
    names = [column[0] for column in cursor.description]
    return {str(row[0]).lower(): dict(zip(names, row)) for row in cursor.fetchall()}


def _empty_customer(month: MonthInvoices, customer_id: str, name: str, currency: str, buyers: dict) -> CustomerInvoice:
    """A customer with nothing to bill this month, with their billing profile from the config."""
    row = {"customer_id": customer_id, "currency": currency, "customer_name": name, "line_count": 0} | {
        column: ZERO for column in MONEY_COLUMNS
    }
    assembled = assemble_month(month.period, month.seller, [row], [], [], {customer_id: buyers[customer_id]})
    return replace(assembled.customers[0], invoices=()) if assembled.customers else None


def _customer_without_charges(month: MonthInvoices, change: CustomerChange, buyers: dict) -> CustomerInvoice:
    customer = (
        _empty_customer(month, change.customer_id, change.name, change.currency, buyers)
        if change.customer_id in buyers
        else None
    )
    if customer is None:
        raise ValueError(
            f"{change.name} ({change.customer_id}) has no billing profile in customers.csv: their credit note cannot be made"
        )
    return customer


def _billed_name(con: duckdb.DuckDBPyConnection, period: BillingPeriod, key: tuple[str, str]) -> str:
    row = con.execute(
        f"SELECT customer_name FROM {ISSUED_TABLE} WHERE billing_period = ? AND customer_id = ? AND currency = ? LIMIT 1",
        [period.start, *key],
    ).fetchone()
    return row[0] if row else key[0]
