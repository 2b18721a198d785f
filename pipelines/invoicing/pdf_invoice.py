"""The PDF invoice: the HTML page laid out by WeasyPrint, fonts embedded (DejaVu Sans from
Debian's fonts-dejavu-core, installed by scripts/install_system_packages.sh), so every glyph of
every name is the one in the data and long text wraps instead of being cut.

The PDF is PDF/A-3b, the base a Factur-X e-invoice needs; its dates come from the invoice, not
the clock, so the same invoice renders to the same bytes.
"""

from __future__ import annotations

from datetime import date

from pipelines.invoicing.html_invoice import render_html
from pipelines.invoicing.model import CurrencyInvoice, CustomerInvoice, MonthInvoices

PDF_VARIANT = "pdf/a-3b"


def render_pdf(
    month: MonthInvoices, customer: CustomerInvoice, invoices: tuple[CurrencyInvoice, ...] | None = None
) -> bytes:
    return html_to_pdf(
        render_html(month, customer, invoices, pdf=True), month.issue.issue_date if month.issue else month.period.end
    )


def html_to_pdf(page: str, dated: date) -> bytes:
    # Imported here, not at the top: every Dagster process loading the definitions would pay
    # for WeasyPrint (about a second), and only the export step renders.
    from weasyprint import HTML

    stamp = f"{dated.isoformat()}T00:00:00Z"
    document = HTML(string=page).render()
    document.metadata.created = stamp
    document.metadata.modified = stamp
    return document.write_pdf(pdf_variant=PDF_VARIANT, uncompressed_pdf=False, pdf_identifier=b"csp-recon-invoice")
