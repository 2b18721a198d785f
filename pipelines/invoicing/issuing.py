"""Issuing a month: every invoice gets the next number of the partner's series and its final,
dated documents, once.

Numbers are kept in the warehouse (`billing.issued_invoices`): sequential and gap-free per
series, taken in the same transaction that records the document, never reused. A document
already issued is never issued again nor rewritten: its files (`<exports>/<YYYY-MM>/issued/`)
are written once, exclusively, and a later run of the month leaves them byte for byte as they
are. Each issued document's lines are kept (`billing.issued_invoice_lines`): what was sent, the
basis of any later correction. Credit notes (series `credit_note_series`, amounts recorded
negative) and corrected invoices are issued through `issue_documents` by `pipelines.closing`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.config import config_dir_in_use, load_config
from pipelines.files import write_whole
from pipelines.invoicing.azure_detail import UsageDetail, attachment_files, attachment_name, load_usage_details
from pipelines.invoicing.csv_export import PlainNumber, render_csv
from pipelines.invoicing.facturx_invoice import cii_xml, facturx_pdf
from pipelines.invoicing.html_invoice import render_html
from pipelines.invoicing.model import CREDIT_NOTE, INVOICE, CurrencyInvoice, CustomerInvoice, Issue, MonthInvoices
from pipelines.invoicing.money import plain_amount
from pipelines.invoicing.pdf_invoice import html_to_pdf
from pipelines.invoicing.source import load_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DEFAULT_LOCK_WAIT_SECONDS, DataPaths
from pipelines.warehouse_file import connect_waiting

ISSUED_TABLE = "billing.issued_invoices"
ISSUED_LINES_TABLE = "billing.issued_invoice_lines"
# Where the first version's rows wait while a warehouse from before corrections is migrated.
FIRST_VERSION_TABLE = "billing.issued_invoices_first_version"
ISSUED_DIR = "issued"
ISSUED_INDEX_FILE = "issued_index.csv"
NUMBER_DIGITS = 6


@dataclass(frozen=True)
class IssueResult:
    period: BillingPeriod
    issued: tuple[str, ...]  # numbers given in this call
    already_issued: tuple[str, ...]  # numbers of earlier calls, left as they were
    blocked: tuple[str, ...]  # customers not invoiced, with the reason
    folder: Path


def invoice_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:0{NUMBER_DIGITS}d}"


def issue_month(
    paths: DataPaths,
    period: BillingPeriod,
    issue_date: date | None = None,
    adjust=None,
    *,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> IssueResult:
    """Number and write the final documents of every invoice of `period` not issued yet.

    `adjust(con, month)`, when given, returns the month to issue (e.g. with corrections of
    earlier months carried onto it)."""
    issue_date = issue_date or datetime.now(UTC).date()
    seller = load_config(config_dir_in_use(paths)).partner
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        ensure_tables(con)
        # Issued from what the month's last run computed (totals, VAT, buyers): the drafts' figures.
        month = load_month(con, period, seller)
        if adjust is not None:
            month = adjust(con, month)
        month = replace(month, issue=Issue(issue_date, seller.payment_terms_days))
        issued_before = issued_keys(con, month.period)
        pending = [
            (customer, invoice)
            for customer in month.customers
            for invoice in customer.invoices
            if (customer.customer_id, invoice.currency) not in issued_before
        ]
        numbers = issue_documents(con, paths, month, pending)
    return IssueResult(
        period=period,
        issued=numbers,
        already_issued=tuple(sorted(issued_before.values())),
        blocked=tuple(str(blocked) for blocked in month.blocked),
        folder=paths.exports(period) / ISSUED_DIR,
    )


def issue_documents(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    month: MonthInvoices,
    documents: list[tuple[CustomerInvoice, CurrencyInvoice]],
) -> tuple[str, ...]:
    """Number `documents` (invoices in the partner's series, credit notes in its credit note
    series), record them with their lines and write their files, all or nothing. `month.issue`
    gives the dates printed on them."""
    if month.issue is None:
        raise ValueError("documents are issued with an issue date")
    ensure_tables(con)
    seller = month.seller
    folder = paths.inside(paths.exports(month.period) / ISSUED_DIR)
    staging = None
    con.execute("BEGIN TRANSACTION")
    try:
        last: dict[str, int] = {}
        numbered = []
        for customer, invoice in documents:
            series = seller.credit_note_series if invoice.kind == CREDIT_NOTE else seller.series
            if series not in last:
                last[series] = con.execute(
                    f"SELECT coalesce(max(sequence), 0) FROM {ISSUED_TABLE} WHERE series = ?", [series]
                ).fetchone()[0]
            last[series] += 1
            numbered.append(
                (customer, replace(invoice, number=invoice_number(series, last[series])), series, last[series])
            )
        staging = _stage_documents(
            paths,
            folder,
            month,
            numbered,
            load_usage_details(con, month.period, [customer.customer_id for customer, _ in documents]),
        )
        issued_at = datetime.now(UTC).replace(tzinfo=None)
        for customer, invoice, series, sequence in numbered:
            sign = -1 if invoice.kind == CREDIT_NOTE else 1  # the ledger is signed: a credit note takes back
            con.execute(
                f"INSERT INTO {ISSUED_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    series,
                    sequence,
                    invoice.number,
                    month.period.start,
                    customer.customer_id,
                    customer.billing_name,
                    invoice.currency,
                    month.issue.issue_date,
                    month.issue.due_date,
                    sign * invoice.billed_pretax,
                    sign * invoice.customer_tax,
                    sign * invoice.billed_total,
                    invoice.kind,
                    invoice.preceding.number if invoice.preceding else None,
                    content_fingerprint(invoice),
                    issued_at,
                ],
            )
            for position, line in enumerate(invoice.lines, start=1):
                con.execute(
                    f"INSERT INTO {ISSUED_LINES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [invoice.number, position, line.description, line.subscription_id, line.period_start, line.period_end,
                     line.period_kind, line.quantity, line.unit_price, line.amount],
                )  # fmt: skip
        _move_in(staging, folder)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    _write_index(con, month, folder.parent / ISSUED_INDEX_FILE)
    return tuple(invoice.number for _, invoice, _, _ in numbered)


def content_fingerprint(invoice: CurrencyInvoice) -> str:
    """What an invoice says, lines and totals: equal fingerprints, nothing to correct."""
    digest = hashlib.sha256()
    for line in invoice.lines:
        digest.update(
            repr(
                (
                    line.description,
                    line.subscription_id,
                    line.period_start,
                    line.period_end,
                    _n(line.quantity),
                    _n(line.unit_price),
                    _n(line.amount),
                )
            ).encode()
        )
    digest.update(
        repr((invoice.currency, _n(invoice.billed_pretax), _n(invoice.customer_tax), _n(invoice.billed_total))).encode()
    )
    return digest.hexdigest()


def _n(value):
    """A Decimal compared by value: 1.50 and 1.5 say the same."""
    return None if value is None else format(value.normalize(), "f")


def issued_keys(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dict[tuple[str, str], str]:
    """(customer, currency) -> number of the month's first invoice: a month is issued once per
    customer and currency; what follows are corrections."""
    ensure_tables(con)
    rows = con.execute(
        f"SELECT customer_id, currency, invoice_number FROM {ISSUED_TABLE} WHERE billing_period = ? AND document_kind = ? ORDER BY series, sequence",
        [period.start, INVOICE],
    ).fetchall()
    found: dict[tuple[str, str], str] = {}
    for customer_id, currency, number in rows:
        found.setdefault((customer_id, currency), number)
    return found


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS billing")
    columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'billing' AND table_name = 'issued_invoices'"
        ).fetchall()
    }
    if columns and "document_kind" not in columns:
        _migrate_first_version(con)
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {ISSUED_TABLE} (
            series VARCHAR NOT NULL, sequence INTEGER NOT NULL, invoice_number VARCHAR PRIMARY KEY,
            billing_period DATE NOT NULL, customer_id VARCHAR NOT NULL, customer_name VARCHAR NOT NULL,
            currency VARCHAR NOT NULL, issue_date DATE NOT NULL, due_date DATE NOT NULL,
            billed_pretax DECIMAL(18,2) NOT NULL, customer_tax DECIMAL(18,2) NOT NULL, billed_total DECIMAL(18,2) NOT NULL,
            document_kind VARCHAR NOT NULL, preceding_invoice VARCHAR, content_fingerprint VARCHAR, issued_at TIMESTAMP,
            UNIQUE (series, sequence))"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {ISSUED_LINES_TABLE} (
            invoice_number VARCHAR NOT NULL, position INTEGER NOT NULL, description VARCHAR NOT NULL, subscription_id VARCHAR,
            period_start DATE, period_end DATE, period_kind VARCHAR, quantity DECIMAL(38,18), unit_price DECIMAL(38,18),
            amount DECIMAL(28,2) NOT NULL, PRIMARY KEY (invoice_number, position))"""
    )


def _migrate_first_version(con: duckdb.DuckDBPyConnection) -> None:
    """The first issued-invoices table allowed one invoice per month, customer and currency,
    which a corrected invoice needs to break; its rows are kept as they were, as invoices."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"ALTER TABLE {ISSUED_TABLE} RENAME TO {FIRST_VERSION_TABLE.split('.')[1]}")
        ensure_tables(con)
        con.execute(
            f"""INSERT INTO {ISSUED_TABLE} SELECT series, sequence, invoice_number, billing_period, customer_id, customer_name,
                currency, issue_date, due_date, billed_pretax, customer_tax, billed_total, '{INVOICE}', NULL, NULL, NULL
                FROM {FIRST_VERSION_TABLE}"""
        )
        con.execute(f"DROP TABLE {FIRST_VERSION_TABLE}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _stage_documents(
    paths: DataPaths, folder: Path, month: MonthInvoices, numbered: list, usage_details: dict[str, UsageDetail]
) -> Path:
    """Each document's HTML, PDF and XML; an invoice with Azure lines itemised from the daily file
    also gets its usage detail (`<number>-azure-usage.csv|.xlsx`), issued with it and as final."""
    staging = paths.inside(folder.parent / f".issuing-{uuid.uuid4().hex[:12]}")
    staging.mkdir(parents=True)
    for customer, invoice, _, _ in numbered:
        single: CustomerInvoice = replace(customer, invoices=(invoice,))
        page = render_html(month, single, (invoice,))
        xml = cii_xml(month, single, invoice)
        pdf_page = render_html(month, single, (invoice,), pdf=True)
        pdf = facturx_pdf(html_to_pdf(pdf_page, month.issue.issue_date), xml, customer.buyer.language)
        files = {f"{invoice.number}{suffix}": content for suffix, content in ((".html", page.encode("utf-8")), (".pdf", pdf), (".xml", xml))}  # fmt: skip
        detail = usage_details.get(customer.customer_id.lower()) if invoice.kind == INVOICE else None
        if detail is not None and (in_currency := detail.in_currency(invoice.currency)).frame.height:
            for kind, content in attachment_files(in_currency).items():
                files[attachment_name(invoice.number, kind)] = content
        for name, content in files.items():
            with open(staging / name, "xb") as target:
                target.write(content)
                os.fsync(target.fileno())
    return staging


def _move_in(staging: Path, folder: Path) -> None:
    """Each new document linked into the issued folder; an existing name is an error, never replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for document in sorted(staging.iterdir()):
        os.link(document, folder / document.name)  # fails if the name exists: nothing is overwritten


def _write_index(con: duckdb.DuckDBPyConnection, month: MonthInvoices, path: Path) -> None:
    rows = con.execute(
        f"""SELECT invoice_number, customer_id, customer_name, currency, issue_date, due_date, billed_pretax, customer_tax, billed_total,
                   document_kind, preceding_invoice
            FROM {ISSUED_TABLE} WHERE billing_period = ? ORDER BY coalesce(issued_at, issue_date::TIMESTAMP), series, sequence""",
        [month.period.start],
    ).fetchall()
    header = ("invoice_number", "customer_id", "customer_name", "currency", "issue_date", "due_date", "billed_pretax", "customer_tax", "billed_total",
              "pdf_file", "document_kind", "preceding_invoice")  # fmt: skip
    content = render_csv(
        header,
        [
            (
                n,
                c,
                name,
                cur,
                i.isoformat(),
                d.isoformat(),
                PlainNumber(plain_amount(p)),
                PlainNumber(plain_amount(t)),
                PlainNumber(plain_amount(total)),
                f"{ISSUED_DIR}/{n}.pdf",
                kind,
                preceding or "",
            )  # fmt: skip
            for n, c, name, cur, i, d, p, t, total, kind, preceding in rows
        ],
    )
    write_whole(path, content)
