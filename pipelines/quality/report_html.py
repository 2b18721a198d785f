"""The month's reconciliation report: a page a billing clerk reads before paying Microsoft.

Every value is escaped: customer names and file lines are untrusted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from pipelines.closing.report_section import render_closing_section

_STYLE = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem;color:#111}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.matched{color:#0a7b34;font-weight:600}.mismatch,.missing_invoice,.missing_recon{color:#b42318;font-weight:600}
.note{color:#555}
@media print{body{margin:0}}
"""


@dataclass
class InvoiceBreakdown:
    invoice: dict
    by_customer: list[dict] = field(default_factory=list)
    by_charge_type: list[dict] = field(default_factory=list)
    by_product: list[dict] = field(default_factory=list)


@dataclass
class ReportData:
    period: str
    invoices: list[InvoiceBreakdown]
    files: list[dict]
    rejected: list[dict]
    rejected_total: int
    closing: dict | None = None  # issue 14: pipelines/closing/report_section.py


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return f'<td class="n">{value:,.2f}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value:,}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return '<p class="note">None.</p>'
    head = "".join(f"<th>{escape(title)}</th>" for _, title in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(key)) for key, _ in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(data: ReportData) -> str:
    period = escape(data.period)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Reconciliation {period}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Microsoft invoice reconciliation, {period}</h1>",
        "<p class='note'>Expected = the invoice's pre-tax total (legacy D-invoices: license + usage + other "
        "charges; new-commerce G-invoices: Subtotal, with Charges and Credits). Found = the reconciliation "
        "files' lines + the invoice's other charges. Pre-tax, charges and credits must match to the cent, and "
        "the invoice's Total must be its pre-tax plus its Tax; tax within the documented tolerance (a "
        "G-invoice's lines may carry no tax at all).</p>",
        "<h2>Invoices</h2>",
    ]
    summary = []
    for breakdown in data.invoices:
        invoice = breakdown.invoice
        summary.append(invoice)
    parts.append(
        _table(
            summary,
            [
                ("invoice_number", "Invoice"),
                ("currency", "Currency"),
                ("invoice_pretax", "Expected pre-tax"),
                ("found_pretax", "Found pre-tax"),
                ("pretax_difference", "Difference"),
                ("invoice_tax", "Invoice tax"),
                ("recon_tax", "Found tax"),
                ("tax_difference", "Tax difference"),
                ("invoice_charges", "Invoice charges"),
                ("recon_charges", "Found charges"),
                ("invoice_credits", "Invoice credits"),
                ("recon_credits", "Found credits"),
                ("invoice_total_difference", "Total - (pre-tax + tax)"),
                ("status", "Status"),
            ],
        ).replace("<td>mismatch</td>", "<td class='mismatch'>mismatch</td>")
        .replace("<td>matched</td>", "<td class='matched'>matched</td>")
        .replace("<td>missing_invoice</td>", "<td class='missing_invoice'>missing_invoice</td>")
        .replace("<td>missing_recon</td>", "<td class='missing_recon'>missing_recon</td>")
    )
    for breakdown in data.invoices:
        if breakdown.invoice["status"] == "matched":
            continue
        number = escape(str(breakdown.invoice["invoice_number"]))
        parts.append(f"<h2>Why invoice {number} does not reconcile</h2>")
        parts.append(
            "<p>Per charge type, the files' pre-tax amounts against the invoice's figure for that source:</p>"
        )
        parts.append(
            _table(
                breakdown.by_charge_type,
                [("source", "Source"), ("charge_type", "Charge type"), ("lines", "Lines"), ("cost_pretax", "Pre-tax in files")],
            )
        )
        parts.append("<p>Per customer:</p>")
        parts.append(
            _table(
                breakdown.by_customer,
                [("customer_id", "Customer id"), ("customer_name", "Customer"), ("license", "License pre-tax"), ("usage", "Usage pre-tax"), ("charges", "Charges"), ("credits", "Credits"), ("lines", "Lines")],
            )
        )
        parts.append("<p>Per product:</p>")
        parts.append(
            _table(
                breakdown.by_product,
                [("source", "Source"), ("product_id", "Product id"), ("sku_id", "SKU id"), ("product_name", "Product"), ("charges", "Charges"), ("credits", "Credits"), ("lines", "Lines")],
            )
        )
    parts.append(render_closing_section(data.closing))
    parts.append("<h2>Files</h2>")
    parts.append(
        _table(
            data.files,
            [("file_name", "File"), ("file_kind", "Kind"), ("status", "Status"), ("rows_read", "Read"), ("rows_loaded", "Loaded"), ("rows_rejected", "Rejected"), ("note", "Note")],
        )
    )
    parts.append(f"<h2>Rejected lines ({data.rejected_total:,})</h2>")
    if data.rejected_total > len(data.rejected):
        parts.append(f"<p class='note'>The first {len(data.rejected)} are shown; all are in raw.rejected_rows.</p>")
    parts.append(
        _table(
            data.rejected,
            [("file_name", "File"), ("line_number", "Line"), ("column_name", "Column"), ("reason", "Reason"), ("raw_line", "Line as received")],
        )
    )
    parts.append("</body></html>")
    return "".join(parts)
