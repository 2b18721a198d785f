"""A self-contained printable HTML invoice: inline CSS, no script, no external resource.

Every value from the data goes through `html_text`; a Content-Security-Policy forbidding
scripts is a second line of defence should a value ever slip through unescaped.
"""

from __future__ import annotations

from pipelines.invoicing.model import Billing, CurrencyInvoice, CustomerInvoice, MonthInvoices
from pipelines.invoicing.money import display_amount, display_number, display_rate
from pipelines.invoicing.safety import html_text as e

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:14px/1.45 "Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
.page{max-width:210mm;margin:24px auto;padding:18mm 16mm;background:#fff;box-shadow:0 1px 4px rgba(0,0,0,.15)}
header{display:flex;justify-content:space-between;align-items:flex-start;gap:24px;border-bottom:2px solid #111827;padding-bottom:12px}
h1{margin:0;font-size:28px;letter-spacing:.04em;text-transform:uppercase}
h2{font-size:16px;margin:28px 0 8px}
dl.facts{display:grid;grid-template-columns:auto auto;gap:2px 12px;margin:0;font-size:13px}
dl.facts dt{color:#4b5563}
dl.facts dd{margin:0;text-align:right;overflow-wrap:anywhere}
.bill-to p{margin:2px 0}
.bill-to .name{font-size:16px;font-weight:bold;overflow-wrap:anywhere;white-space:pre-wrap}
table{width:100%;border-collapse:collapse}
table.lines th,table.lines td{padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
table.lines thead th{background:#f9fafb;text-align:left;font-size:12px;text-transform:uppercase;color:#374151}
table.lines td.description{overflow-wrap:anywhere;white-space:pre-wrap}
.num{text-align:right !important;white-space:nowrap;font-variant-numeric:tabular-nums}
table.totals{width:auto;margin:12px 0 0 auto;min-width:45%}
table.totals th{text-align:left;font-weight:normal;padding:4px 8px;color:#374151}
table.totals td{padding:4px 8px}
table.totals tr.grand th,table.totals tr.grand td{font-weight:bold;border-top:2px solid #111827;font-size:16px;color:#111827}
.note{color:#4b5563;font-size:12px;margin-top:6px}
footer{margin-top:32px;color:#6b7280;font-size:11px;border-top:1px solid #e5e7eb;padding-top:8px}
@media print{
  @page{size:A4;margin:15mm}
  body{background:#fff;font-size:11pt}
  .page{margin:0;padding:0;max-width:none;box-shadow:none}
  thead{display:table-header-group}
  tr,table.totals{break-inside:avoid}
  section.currency-invoice+section.currency-invoice{break-before:page}
}
"""


def render_html(month: MonthInvoices, customer: CustomerInvoice) -> str:
    numbers = ", ".join(invoice.invoice_number for invoice in customer.invoices)
    sections = "\n".join(_section(invoice, customer.billing) for invoice in customer.invoices)
    if not customer.invoices:
        sections = '<p class="note">Nothing to invoice for this period.</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{e(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice {e(numbers)} - {e(customer.billing_name)}</title>
<style>{STYLE}</style>
</head>
<body>
<main class="page">
<header>
<h1>Invoice</h1>
<dl class="facts">
<dt>Invoice number</dt><dd>{e(numbers)}</dd>
<dt>Billing period</dt><dd>{e(month.period_label)} ({e(month.period_start.isoformat())} to {e(month.period_end.isoformat())})</dd>
<dt>Issue date</dt><dd>{e(month.issue_date.isoformat())}</dd>
<dt>Customer id</dt><dd>{e(customer.customer_id)}</dd>
</dl>
</header>
<section class="bill-to">
<h2>Bill to</h2>
<p class="name">{e(customer.billing_name)}</p>
{_country(customer.billing)}
</section>
{sections}
<footer>Amounts are in the currency shown on each invoice. Invoice lines are also provided as CSV.</footer>
</main>
</body>
</html>
"""


def _country(billing: Billing) -> str:
    return f"<p>{e(billing.country)}</p>" if billing.country else ""


def tax_label(billing: Billing) -> str:
    if billing.tax_exempt:
        return "Tax (exempt)"
    if billing.vat_rate is not None:
        return f"Tax (VAT {display_rate(billing.vat_rate)})"
    return "Tax"


def _section(invoice: CurrencyInvoice, billing: Billing) -> str:
    currency = e(invoice.currency)
    rows = "\n".join(
        "<tr>"
        f'<td class="num">{e(line.line_number if line.line_number is not None else position)}</td>'
        f'<td class="description">{e(line.description)}</td>'
        f'<td class="num">{e(display_number(line.quantity))}</td>'
        f'<td class="num">{e(display_number(line.unit_price, min_places=2))}</td>'
        f'<td class="num">{e(display_amount(line.amount))}</td>'
        "</tr>"
        for position, line in enumerate(invoice.lines, start=1)
    ) or '<tr><td colspan="5">No charges this period.</td></tr>'
    return f"""<section class="currency-invoice">
<h2>Invoice {e(invoice.invoice_number)} ({currency})</h2>
<table class="lines">
<thead><tr><th class="num">#</th><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount ({currency})</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<table class="totals">
<tr><th>Total before tax</th><td class="num">{e(display_amount(invoice.billed_pretax))} {currency}</td></tr>
<tr><th>{e(tax_label(billing))}</th><td class="num">{e(display_amount(invoice.customer_tax))} {currency}</td></tr>
<tr class="grand"><th>Total due</th><td class="num">{e(display_amount(invoice.billed_total))} {currency}</td></tr>
</table>
</section>"""
