"""Issuing a month: every invoice gets the next number of the partner's series and its final,
dated documents, once.

Numbers are kept in the warehouse (`billing.issued_invoices`): sequential and gap-free per
series, taken in the same transaction that records the invoice, never reused. An invoice
already issued is never issued again nor rewritten: its files (`<exports>/<YYYY-MM>/issued/`)
are written once, exclusively, and a later run of the month leaves them byte for byte as they
are. Corrections of an issued invoice (credit notes) are not made here.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.config import config_dir_in_use, load_config
from pipelines.invoicing.csv_export import PlainNumber, render_csv
from pipelines.invoicing.facturx_invoice import cii_xml, facturx_pdf
from pipelines.invoicing.html_invoice import render_html
from pipelines.invoicing.model import CustomerInvoice, Issue, MonthInvoices
from pipelines.invoicing.money import plain_amount
from pipelines.invoicing.pdf_invoice import html_to_pdf
from pipelines.invoicing.source import load_month
from pipelines.settings import DataPaths, validate_period

ISSUED_TABLE = "billing.issued_invoices"
ISSUED_DIR = "issued"
ISSUED_INDEX_FILE = "issued_index.csv"
NUMBER_DIGITS = 6


@dataclass(frozen=True)
class IssueResult:
    period: str
    issued: tuple[str, ...]  # numbers given in this call
    already_issued: tuple[str, ...]  # numbers of earlier calls, left as they were
    blocked: tuple[str, ...]  # customers not invoiced, with the reason
    folder: Path


def invoice_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:0{NUMBER_DIGITS}d}"


def issue_month(paths: DataPaths, period: str, issue_date: date | None = None) -> IssueResult:
    """Number and write the final documents of every invoice of `period` not issued yet."""
    validate_period(period)
    issue_date = issue_date or datetime.now(timezone.utc).date()
    seller = load_config(config_dir_in_use(paths)).partner
    folder = paths.inside(paths.exports(period) / ISSUED_DIR)
    with duckdb.connect(str(paths.warehouse)) as con:
        _ensure_table(con)
        # Issued from what the month's last run computed (totals, VAT, buyers): the drafts' figures.
        month = replace(load_month(con, period, seller), issue=Issue(issue_date, seller.payment_terms_days))
        issued_before = {
            (customer_id, currency): number
            for customer_id, currency, number in con.execute(
                f"SELECT customer_id, currency, invoice_number FROM {ISSUED_TABLE} WHERE billing_period = ?", [month.period_start]
            ).fetchall()
        }
        pending = [
            (customer, invoice)
            for customer in month.customers
            for invoice in customer.invoices
            if (customer.customer_id, invoice.currency) not in issued_before
        ]
        con.execute("BEGIN TRANSACTION")
        try:
            last = con.execute(f"SELECT coalesce(max(sequence), 0) FROM {ISSUED_TABLE} WHERE series = ?", [seller.series]).fetchone()[0]
            numbered = []
            for offset, (customer, invoice) in enumerate(pending, start=1):
                number = invoice_number(seller.series, last + offset)
                numbered.append((customer, replace(invoice, number=number), last + offset))
            staging = _stage_documents(paths, folder, month, numbered)
            for customer, invoice, sequence in numbered:
                con.execute(
                    f"INSERT INTO {ISSUED_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        seller.series, sequence, invoice.number, month.period_start, customer.customer_id, customer.billing_name,
                        invoice.currency, issue_date, month.issue.due_date, invoice.billed_pretax, invoice.customer_tax, invoice.billed_total,
                    ],
                )
            _move_in(staging, folder)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            if "staging" in locals():
                shutil.rmtree(staging, ignore_errors=True)
        _write_index(con, month, folder.parent / ISSUED_INDEX_FILE)
    return IssueResult(
        period=period,
        issued=tuple(invoice.number for _, invoice, _ in numbered),
        already_issued=tuple(sorted(issued_before.values())),
        blocked=tuple(str(blocked) for blocked in month.blocked),
        folder=folder,
    )


def issued_numbers(con: duckdb.DuckDBPyConnection, period_start: date) -> list[str]:
    _ensure_table(con)
    return [row[0] for row in con.execute(f"SELECT invoice_number FROM {ISSUED_TABLE} WHERE billing_period = ? ORDER BY sequence", [period_start]).fetchall()]


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS billing")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {ISSUED_TABLE} (
            series VARCHAR NOT NULL, sequence INTEGER NOT NULL, invoice_number VARCHAR PRIMARY KEY,
            billing_period DATE NOT NULL, customer_id VARCHAR NOT NULL, customer_name VARCHAR NOT NULL,
            currency VARCHAR NOT NULL, issue_date DATE NOT NULL, due_date DATE NOT NULL,
            billed_pretax DECIMAL(18,2) NOT NULL, customer_tax DECIMAL(18,2) NOT NULL, billed_total DECIMAL(18,2) NOT NULL,
            UNIQUE (series, sequence), UNIQUE (billing_period, customer_id, currency))"""
    )


def _stage_documents(paths: DataPaths, folder: Path, month: MonthInvoices, numbered: list) -> Path:
    staging = paths.inside(folder.parent / f".issuing-{uuid.uuid4().hex[:12]}")
    staging.mkdir(parents=True)
    for customer, invoice, _ in numbered:
        single: CustomerInvoice = replace(customer, invoices=(invoice,))
        page = render_html(month, single, (invoice,))
        xml = cii_xml(month, single, invoice)
        pdf = facturx_pdf(html_to_pdf(page, month.issue.issue_date), xml, customer.buyer.language)
        for suffix, content in ((".html", page.encode("utf-8")), (".pdf", pdf), (".xml", xml)):
            with open(staging / f"{invoice.number}{suffix}", "xb") as target:
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
        f"""SELECT invoice_number, customer_id, customer_name, currency, issue_date, due_date, billed_pretax, customer_tax, billed_total
            FROM {ISSUED_TABLE} WHERE billing_period = ? ORDER BY sequence""",
        [month.period_start],
    ).fetchall()
    header = ("invoice_number", "customer_id", "customer_name", "currency", "issue_date", "due_date", "billed_pretax", "customer_tax", "billed_total", "pdf_file")
    content = render_csv(
        header,
        [(n, c, name, cur, i.isoformat(), d.isoformat(), PlainNumber(plain_amount(p)), PlainNumber(plain_amount(t)), PlainNumber(plain_amount(total)), f"{ISSUED_DIR}/{n}.pdf") for n, c, name, cur, i, d, p, t, total in rows],
    )
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temporary.write_bytes(content)
    os.replace(temporary, path)
