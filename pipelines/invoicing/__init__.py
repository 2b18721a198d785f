"""Customer invoices of one month: CSV lines, printable HTML and PDF, and an index of totals.

Pure library: `load_month` reads the marts, `write_month` writes `<data>/exports/<YYYY-MM>/`.
"""

from pipelines.invoicing.model import CustomerInvoice, InvoiceDataError, MonthInvoices
from pipelines.invoicing.source import INVOICE_LINE_COLUMNS, InvoiceLineColumns, load_month
from pipelines.invoicing.writer import INDEX_FILE, INVOICES_DIR, ExportResult, write_month

__all__ = [
    "INDEX_FILE",
    "INVOICES_DIR",
    "INVOICE_LINE_COLUMNS",
    "CustomerInvoice",
    "ExportResult",
    "InvoiceDataError",
    "InvoiceLineColumns",
    "MonthInvoices",
    "load_month",
    "write_month",
]
