"""The invoice as a self-contained HTML page, from the one Jinja2 template (autoescaped).

Every value is escaped by Jinja2; a Content-Security-Policy forbidding scripts is a second line
of defence should a value ever slip through unescaped.
"""

from __future__ import annotations

import re
import unicodedata

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

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

# WeasyPrint fits a word longer than its line (overflow-wrap: break-word) by laying out the whole
# rest of the word again for every line it cuts: quadratic in the word's length (a 20,000-character
# description without spaces took about a minute). A zero-width space every few characters of such
# a run gives the line breaker an opportunity on every line, so each line costs only its own
# length. Only the PDF gets them: the HTML invoice keeps its text as it is, and no glyph is lost.
LONG_RUN, BREAK_EVERY = 40, 8
ZERO_WIDTH_SPACE = "\u200b"
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN + 1},}}")
_JOINERS = {"\u200c", "\u200d"}  # a break is never put between the characters these join


def _joined(char: str) -> bool:
    """A character that belongs to the one before it (combining accent, variation selector, joiner)."""
    return bool(unicodedata.combining(char)) or unicodedata.category(char) == "Mn" or char in _JOINERS


def breakable(text: str) -> str:
    """`text` with a zero-width space every BREAK_EVERY characters of each run of more than
    LONG_RUN non-blank ones (never inside a character and its accents); shorter text as it is."""

    def cut(run: re.Match[str]) -> str:
        chunks, start = [], 0
        word = run.group()
        while start < len(word):
            end = min(start + BREAK_EVERY, len(word))
            while end < len(word) and (_joined(word[end]) or word[end - 1] in _JOINERS):
                end += 1
            chunks.append(word[start:end])
            start = end
        return ZERO_WIDTH_SPACE.join(chunks)

    return _LONG_RUN.sub(cut, text)


@pass_context
def _fit(context: Context, value: object) -> object:
    """The template's `fit` filter: long runs made breakable in the page the PDF is laid out from."""
    if not context.get("pdf") or isinstance(value, Markup) or not isinstance(value, str):
        return value
    return breakable(value)


_ENVIRONMENT.filters["fit"] = _fit


def render_html(
    month: MonthInvoices,
    customer: CustomerInvoice,
    invoices: tuple[CurrencyInvoice, ...] | None = None,
    pdf: bool = False,
) -> str:
    """The invoice page; `pdf`: the page WeasyPrint lays out (long runs of text made breakable)."""
    doc = document(month, customer, customer.invoices if invoices is None else invoices)
    return _ENVIRONMENT.get_template("invoice.html.j2").render(doc=doc, l=labels_for(customer.buyer.language), pdf=pdf)
