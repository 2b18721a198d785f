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

from pipelines.invoicing.csv_export import customer_csv
from pipelines.invoicing.html_invoice import render_html
from pipelines.invoicing.model import CustomerInvoice, MonthInvoices
from pipelines.invoicing.pdf_invoice import render_pdf

# Below this many customers, starting workers costs more than it saves.
PARALLEL_FROM_CUSTOMERS = 8


def render_customer(month: MonthInvoices, customer: CustomerInvoice) -> dict[str, bytes]:
    return {
        "csv": customer_csv(customer, month.period_start.isoformat()),
        "html": render_html(month, customer).encode("utf-8"),
        "pdf": render_pdf(month, customer),
    }


def render_month(
    month: MonthInvoices, workers: int | None = None
) -> Iterator[tuple[CustomerInvoice, dict[str, bytes]]]:
    """(customer, {kind: content}) in the month's customer order."""
    if workers is None:
        workers = (os.cpu_count() or 1) if len(month.customers) >= PARALLEL_FROM_CUSTOMERS else 1
    if workers == 1:
        yield from ((customer, render_customer(month, customer)) for customer in month.customers)
        return
    # Each task carries one customer and the month without its customers, not the whole month.
    header = replace(month, customers=())
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        rendered = pool.map(
            render_customer, repeat(header), month.customers, chunksize=max(1, len(month.customers) // (workers * 4))
        )
        yield from zip(month.customers, rendered)
