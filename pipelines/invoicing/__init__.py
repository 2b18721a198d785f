"""Customer invoices of one month: drafts on every run, numbered documents when issued.

Pure library: `load_month` reads the marts and the config, `write_month` writes the drafts into
`<data>/exports/<YYYY-MM>/`, `issue_month` numbers and writes the final documents once.
"""

from pipelines.invoicing.model import BlockedCustomer, CustomerInvoice, InvoiceDataError, MonthInvoices
from pipelines.invoicing.source import load_month
from pipelines.invoicing.writer import INDEX_FILE, INVOICES_DIR, ExportResult, write_month

__all__ = [
    "INDEX_FILE",
    "INVOICES_DIR",
    "BlockedCustomer",
    "CustomerInvoice",
    "ExportResult",
    "InvoiceDataError",
    "MonthInvoices",
    "load_month",
    "write_month",
]
