"""What one invoice document shows, as text in the customer's language: the template's input.

The HTML and the PDF are both rendered from this and the one template, so they say the same.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass

from pipelines.invoicing.formatting import Formatter
from pipelines.invoicing.labels import labels_for, vat_wording
from pipelines.invoicing.model import CREDIT_NOTE, CurrencyInvoice, CustomerInvoice, InvoiceLine, MonthInvoices


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...]
    vat_id: str | None
    registration: str = ""
    email: str = ""


def payment_reference(number: str) -> str:
    """An ISO 11649 structured creditor reference (`RF..`) made from the invoice number."""
    body = "".join(char for char in number.upper() if char.isalnum())[:21]
    digits = "".join(str(int(char, 36)) for char in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"


def document(month: MonthInvoices, customer: CustomerInvoice, invoices: tuple[CurrencyInvoice, ...]) -> dict:
    buyer = customer.buyer
    fmt = Formatter(buyer.language)
    l = labels_for(buyer.language)
    seller = month.seller
    draft = month.issue is None
    numbers = ", ".join(invoice.number for invoice in invoices if invoice.number)
    credit_note = bool(invoices) and all(invoice.kind == CREDIT_NOTE for invoice in invoices)
    heading = l["credit_note"] if credit_note else l["invoice"]
    return {
        "heading": heading,
        "references": [
            l["cancels" if invoice.kind == CREDIT_NOTE else "replaces"].format(
                number=invoice.preceding.number, date=fmt.date(invoice.preceding.issue_date)
            )
            for invoice in invoices
            if invoice.preceding is not None
        ],
        "language": buyer.language if buyer.language in ("en", "fr") else "en",
        "title": f"{heading} {numbers or l['draft']} - {buyer.billing_name}",
        "draft": draft,
        "numbers": numbers,
        "issue_date": l["not_issued"] if draft else fmt.date(month.issue.issue_date),
        "due_date": l["due_after"].format(days=seller.payment_terms_days) if draft else fmt.date(month.issue.due_date),
        "period": fmt.month(month.period.start),
        "customer_id": customer.customer_id,
        "logo_data_uri": _data_uri(seller.logo),
        "seller": Party(
            seller.legal_name,
            (*seller.address_lines, seller.country),
            seller.vat_id,
            seller.registration_id,
            seller.email,
        ),
        "buyer": Party(buyer.billing_name, (*buyer.address_lines, buyer.country), buyer.vat_id),
        "sections": [_section(invoice, customer, fmt, l) for invoice in invoices],
        "vat_mention": vat_wording(buyer.language, buyer.tax_treatment, buyer.exemption_text),
        "payment_text": l["pay_by_transfer"].format(iban=seller.iban, bic=seller.bic, days=seller.payment_terms_days),
    }


def _section(invoice: CurrencyInvoice, customer: CustomerInvoice, fmt: Formatter, l: dict) -> dict:
    buyer = customer.buyer
    return {
        "heading": l["credit_note"] if invoice.kind == CREDIT_NOTE else l["invoice"],
        "number": invoice.number,
        "currency": invoice.currency,
        "lines": [_line(line, fmt, l, fmt.rate(buyer.charged_rate)) for line in invoice.lines],
        "total_pretax": fmt.money(invoice.billed_pretax, invoice.currency),
        "vat_totals": [
            {
                "rate": fmt.rate(vat.rate),
                "basis": fmt.money(vat.basis, invoice.currency),
                "tax": fmt.money(vat.tax, invoice.currency),
            }
            for vat in invoice.vat_totals(buyer)
        ],
        "total_due": fmt.money(invoice.billed_total, invoice.currency),
        "payment_reference": payment_reference(invoice.number) if invoice.number else None,
    }


def _line(line: InvoiceLine, fmt: Formatter, l: dict, rate: str) -> dict:
    details = []
    if line.subscription_id:
        details.append(f"{l['subscription']}: {line.subscription_id}")
    if line.period_start and line.period_end:
        note = f" ({l[line.period_kind]})" if line.period_kind else ""
        details.append(f"{l['service_period']}: {fmt.date(line.period_start)} - {fmt.date(line.period_end)}{note}")
    return {
        "description": line.description,
        "details": details,
        "quantity": fmt.number(line.quantity),
        "unit_price": fmt.unit_price(line.unit_price),
        "vat": rate,
        "amount": fmt.amount(line.amount),
    }


def _data_uri(path) -> str | None:
    if path is None:
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
