"""What `marts.invoice_reconciliation.status` says of each invoice: written by the model's SQL,
listed by its dbt accepted_values test, and read here (a test keeps the three the same)."""

from enum import StrEnum


class ReconciliationStatus(StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"
    MISSING_INVOICE = "missing_invoice"  # lines in the files, no invoice summary for them
    MISSING_RECON = "missing_recon"  # an invoice summary, no lines for it
