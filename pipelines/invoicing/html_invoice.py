"""The invoice as a self-contained HTML page, from the one Jinja2 template (autoescaped).

Every value is escaped by Jinja2; a Content-Security-Policy forbidding scripts is a second line
of defence should a value ever slip through unescaped.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipelines.invoicing.document import document
from pipelines.invoicing.labels import labels_for
from pipelines.invoicing.model import CurrencyInvoice, CustomerInvoice, MonthInvoices

_ENVIRONMENT = Environment(
    loader=PackageLoader("pipelines.invoicing", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(
    month: MonthInvoices, customer: CustomerInvoice, invoices: tuple[CurrencyInvoice, ...] | None = None
) -> str:
    doc = document(month, customer, customer.invoices if invoices is None else invoices)
    return _ENVIRONMENT.get_template("invoice.html.j2").render(doc=doc, l=labels_for(customer.buyer.language))
