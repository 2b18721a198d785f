"""The PDF invoice, with fpdf2 (pure Python).

Text needs a font that has its characters. fpdf2's core fonts (Helvetica) cover Windows-1252
only, so the PDF embeds a Unicode TrueType font when one is available from a Python package
(matplotlib ships DejaVu Sans) or named by `$CSP_RECON_PDF_FONT` (a .ttf file; a `-Bold`
sibling is used for bold when present). Without one, text is written with Helvetica: accents
that Windows-1252 has stay, others are reduced to their base letter, anything else becomes `?`.
"""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timezone
from pathlib import Path

from fpdf import FPDF

from pipelines.invoicing.html_invoice import tax_label
from pipelines.invoicing.model import CurrencyInvoice, CustomerInvoice, MonthInvoices
from pipelines.invoicing.money import display_amount, display_number

FONT_ENV = "CSP_RECON_PDF_FONT"
CORE_FONT = "Helvetica"
CORE_ENCODING = "cp1252"
UNICODE_FAMILY = "InvoiceSans"
PRODUCER = "csp-recon"

_COLUMNS = (("#", 10, "RIGHT"), ("Description", 92, "LEFT"), ("Quantity", 24, "RIGHT"), ("Unit price", 26, "RIGHT"), ("Amount", 28, "RIGHT"))
# Letters and signs that Unicode does not decompose into a base letter.
_ASCII_FALLBACKS = {
    **dict(zip("ŁłĐđĦħıŀĿŦŧ", "LlDdHhilLTt")),
    **{"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " "},
}


@dataclass(frozen=True)
class UnicodeFont:
    regular: Path
    bold: Path


def find_unicode_font() -> UnicodeFont | None:
    """`$CSP_RECON_PDF_FONT`, else DejaVu Sans from an installed matplotlib, else None."""
    explicit = os.environ.get(FONT_ENV)
    if explicit:
        regular = Path(explicit).expanduser()
        if not regular.is_file():
            raise FileNotFoundError(f"{FONT_ENV} names {regular}, which is not a font file: point it at a .ttf file or unset it.")
        bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
        return UnicodeFont(regular, bold if bold.is_file() else regular)
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        fonts = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
        regular, bold = fonts / "DejaVuSans.ttf", fonts / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return UnicodeFont(regular, bold if bold.is_file() else regular)
    return None


def core_font_text(text: str) -> str:
    """Text Helvetica can show: Windows-1252 kept, other accents dropped to the base letter, else `?`."""
    out = []
    for char in text:
        char = _ASCII_FALLBACKS.get(char, char)
        if _encodes(char):
            out.append(char)
            continue
        base = "".join(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part) and _encodes(part))
        out.append(base or "?")
    return "".join(out)


def _encodes(char: str) -> bool:
    try:
        char.encode(CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: object) -> str:
    """No control characters (they have no glyph); line breaks become spaces."""
    return "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in str(text or ""))


class _InvoicePDF(FPDF):
    def __init__(self, footer_text: str, font: UnicodeFont | None, total_pages: int | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        # No `{nb}` alias: fpdf2 would substitute it inside customer text too.
        self.alias_nb_pages("")
        self._footer_text = footer_text
        self._total_pages = total_pages
        self.body_font = UNICODE_FAMILY if font else CORE_FONT
        if font:
            self.add_font(UNICODE_FAMILY, "", str(font.regular))
            self.add_font(UNICODE_FAMILY, "B", str(font.bold))
        else:
            self.core_fonts_encoding = CORE_ENCODING
        self._unicode = font is not None

    def text_of(self, value: object) -> str:
        text = _printable(value)
        return text if self._unicode else core_font_text(text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, "", 8)
        self.set_text_color(110)
        of = f" of {self._total_pages}" if self._total_pages else ""
        self.cell(0, 5, self.text_of(self._footer_text) + f"  -  page {self.page_no()}{of}", align="C")


def render_pdf(month: MonthInvoices, customer: CustomerInvoice) -> bytes:
    """The customer's PDF; a document of several pages is laid out twice to print "page 1 of 3"."""
    font = find_unicode_font()
    pdf = _layout(month, customer, font, total_pages=None)
    if pdf.pages_count > 1:
        pdf = _layout(month, customer, font, total_pages=pdf.pages_count)
    return bytes(pdf.output())


def _layout(month: MonthInvoices, customer: CustomerInvoice, font: UnicodeFont | None, total_pages: int | None) -> _InvoicePDF:
    numbers = ", ".join(invoice.invoice_number for invoice in customer.invoices)
    pdf = _InvoicePDF(f"Invoice {numbers}", font, total_pages)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_creation_date(datetime.combine(month.issue_date, time(0), tzinfo=timezone.utc))
    pdf.set_producer(PRODUCER)
    pdf.set_creator(PRODUCER)
    pdf.set_title(_printable(f"Invoice {numbers} - {customer.billing_name}"))
    pdf.add_page()

    pdf.set_font(pdf.body_font, "B", 22)
    pdf.cell(0, 11, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    facts = (
        ("Invoice number", numbers),
        ("Billing period", f"{month.period_label} ({month.period_start.isoformat()} to {month.period_end.isoformat()})"),
        ("Issue date", month.issue_date.isoformat()),
        ("Customer id", customer.customer_id),
    )
    for label, value in facts:
        pdf.set_font(pdf.body_font, "", 9)
        pdf.set_text_color(90)
        pdf.cell(32, 5.5, label)
        pdf.set_text_color(0)
        pdf.multi_cell(0, 5.5, pdf.text_of(value), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(5)
    pdf.set_font(pdf.body_font, "B", 10)
    pdf.cell(0, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.body_font, "B", 13)
    pdf.multi_cell(0, 6.5, pdf.text_of(customer.billing_name), new_x="LMARGIN", new_y="NEXT")
    if customer.billing.country:
        pdf.set_font(pdf.body_font, "", 10)
        pdf.multi_cell(0, 5.5, pdf.text_of(customer.billing.country), new_x="LMARGIN", new_y="NEXT")

    if not customer.invoices:
        pdf.ln(6)
        pdf.set_font(pdf.body_font, "", 10)
        pdf.cell(0, 6, "Nothing to invoice for this period.", new_x="LMARGIN", new_y="NEXT")
    for invoice in customer.invoices:
        _section(pdf, invoice, tax_label(customer.billing))
    return pdf


def _section(pdf: _InvoicePDF, invoice: CurrencyInvoice, tax: str) -> None:
    currency = pdf.text_of(invoice.currency)
    pdf.ln(7)
    pdf.set_font(pdf.body_font, "B", 12)
    pdf.multi_cell(0, 7, pdf.text_of(f"Invoice {invoice.invoice_number} ({invoice.currency})"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    # Text drawn at computed positions, not fpdf2's table() or cell(): an Azure customer's
    # invoice has hundreds of lines, and laying out each cell took ~0.7 s per customer.
    widths = [width for _, width, _ in _COLUMNS]
    aligns = [align for _, _, align in _COLUMNS]
    pdf.set_font(pdf.body_font, "B", 9)
    pdf.set_fill_color(243, 244, 246)
    for (title, _, _), width, align in zip(_COLUMNS, widths, aligns):
        pdf.cell(width, 6, f"{title} ({currency})" if title == "Amount" else title, border="B", align=align[0], fill=True)
    pdf.ln()
    pdf.set_font(pdf.body_font, "", 9)
    row_height = 5.5
    for position, line in enumerate(invoice.lines, start=1):
        if pdf.will_page_break(row_height):
            pdf.add_page()
            pdf.set_font(pdf.body_font, "", 9)
        values = (
            str(line.line_number if line.line_number is not None else position),
            _fitted(pdf, pdf.text_of(line.description), widths[1] - 2),
            display_number(line.quantity),
            display_number(line.unit_price, min_places=2),
            display_amount(line.amount),
        )
        x, baseline = pdf.l_margin, pdf.get_y() + row_height - 1.6
        for value, width, align in zip(values, widths, aligns):
            offset = width - 1 - pdf.get_string_width(value) if align == "RIGHT" else 1
            pdf.text(x + offset, baseline, value)
            x += width
        pdf.set_draw_color(225)
        pdf.line(pdf.l_margin, pdf.get_y() + row_height, pdf.l_margin + sum(widths), pdf.get_y() + row_height)
        pdf.set_y(pdf.get_y() + row_height)
    if not invoice.lines:
        pdf.cell(sum(widths), 6, "No charges this period.", border="B", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(3)
    totals = (
        ("Total before tax", invoice.billed_pretax, ""),
        (tax, invoice.customer_tax, ""),
        ("Total due", invoice.billed_total, "B"),
    )
    label_x = pdf.w - pdf.r_margin - 100
    for label, amount, style in totals:
        if pdf.will_page_break(7):
            pdf.add_page()
        pdf.set_x(label_x)
        pdf.set_font(pdf.body_font, style, 11 if style else 10)
        pdf.cell(55, 6.5, pdf.text_of(label), border="T" if style else "")
        pdf.cell(45, 6.5, f"{display_amount(amount)} {currency}", border="T" if style else "", align="R", new_x="LMARGIN", new_y="NEXT")


def _fitted(pdf: _InvoicePDF, text: str, width: float) -> str:
    """The text, shortened with '...' when it would overflow its column."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text + "..."
