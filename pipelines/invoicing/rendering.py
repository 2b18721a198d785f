"""Every customer's documents for a month, rendered on all cores for a large month.

PDF layout (WeasyPrint) is CPU-bound (about 1 to 3 s per customer with 40 to 150 grouped lines),
so a month with many customers is spread over worker processes. Workers start from a fork
server, not a fork of the Dagster process and its threads.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from itertools import repeat

from pipelines.invoicing.azure_detail import UsageDetail, attachment_files, attachment_name
from pipelines.invoicing.csv_export import customer_csv
from pipelines.invoicing.html_invoice import render_html
from pipelines.invoicing.model import CustomerInvoice, MonthInvoices
from pipelines.invoicing.pdf_invoice import render_pdf

DOCUMENT_KINDS = ("csv", "html", "pdf")  # each customer's invoice files, by extension
# Below this many customers, or usage detail rows, starting workers costs more than it saves.
PARALLEL_FROM_CUSTOMERS = 8
PARALLEL_FROM_DETAIL_ROWS = 50_000


def render_customer(
    month: MonthInvoices, customer: CustomerInvoice, detail: UsageDetail | None = None
) -> dict[str, bytes]:
    """The customer's documents by file name: CSV, HTML, PDF, and its Azure usage detail (CSV,
    XLSX: writing a large XLSX costs as much as a PDF) when it has one."""
    documents = (
        customer_csv(customer),
        render_html(month, customer).encode("utf-8"),
        render_pdf(month, customer),
    )
    rendered = {
        f"{customer.file_stem}.{kind}": content for kind, content in zip(DOCUMENT_KINDS, documents, strict=True)
    }
    for kind, content in (attachment_files(detail) if detail is not None else {}).items():
        rendered[attachment_name(customer.file_stem, kind)] = content
    return rendered


def render_month(
    month: MonthInvoices, usage_details: dict[str, UsageDetail] | None = None, workers: int | None = None
) -> Iterator[tuple[CustomerInvoice, dict[str, bytes]]]:
    """(customer, {file name: content}) in the month's customer order."""
    usage_details = usage_details or {}
    details = [usage_details.get(customer.customer_id) for customer in month.customers]
    if workers is None:
        detail_rows = sum(detail.frame.height for detail in details if detail is not None)
        large = len(month.customers) >= PARALLEL_FROM_CUSTOMERS or detail_rows >= PARALLEL_FROM_DETAIL_ROWS
        workers = (os.cpu_count() or 1) if large else 1
    if workers == 1:
        yield from (
            (customer, render_customer(month, customer, detail)) for customer, detail in zip(month.customers, details)
        )
        return
    # Each task carries one customer and the month without its customers, not the whole month.
    header = replace(month, customers=())
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        rendered = pool.map(
            render_customer,
            repeat(header),
            month.customers,
            details,
            chunksize=max(1, len(month.customers) // (workers * 4)),
        )
        yield from zip(month.customers, rendered)
