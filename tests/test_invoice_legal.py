"""Legal invoices: the VAT treatment and wording of each kind of customer, the language, the PDF
text equal to the HTML text for hostile and non-Latin names, numbers issued gap-free across months
and re-runs, issued documents never rewritten, a customer missing from the config blocking only
their own invoice."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections import Counter
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.invoicing import load_month, write_month
from pipelines.invoicing.issuing import ISSUED_DIR, issue_month
from pipelines.invoicing.pdf_invoice import render_pdf
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.invoice_warehouse import PERIOD, Customer, build_warehouse, write_config

REVERSE_CHARGE_EN = "Reverse charge: VAT to be accounted for by the recipient, Article 196 Directive 2006/112/EC"
EXEMPTION = "Exonération de TVA, article 262 ter I du CGI"
SEATS = ("Microsoft 365 Business Premium", "sub-1", "2026-10-01", "2026-10-31", "33", "726.00")  # 22.00 a seat
PRORATED = (
    "Microsoft 365 Business Premium",
    "sub-1",
    "2026-10-16",
    "2026-10-31",
    "4",
    "45.16",
)  # 11.29 a seat, half a month
ANNUAL = ("Visio Plan 2", "sub-2", "2026-10-01", "2027-09-30", "2", "360.00")
BILLING_PERIOD = BillingPeriod.parse(PERIOD)

DOMESTIC = Customer("0a1b2c3d-0000-4000-8000-000000000001", "Société Dupont, SA", vat_rate="0.20", language="fr",
                    charges=[SEATS, PRORATED, ANNUAL], services=[("Support hours", "6", "95.00")])  # fmt: skip
REVERSE = Customer("0a1b2c3d-0000-4000-8000-000000000002", "Contoso Ltd.", country="IE", tax_treatment="reverse_charge",
                   vat_id="IE6388047V", charges=[SEATS])  # fmt: skip
EXEMPT = Customer("0a1b2c3d-0000-4000-8000-000000000003", "Château Léoville SARL", tax_treatment="exempt",
                  exemption_text=EXEMPTION, language="fr", charges=[ANNUAL])  # fmt: skip
OUTSIDE = Customer("0a1b2c3d-0000-4000-8000-000000000004", "Nguyễn Trading <script>alert(1)</script>", currency="USD", country="US",
                   tax_treatment="outside_scope", city="Łódź Ærøskøbing", charges=[("=HYPERLINK(\"x\") Visio", "", "2026-10-01", "2026-10-31", "1", "15.00")])  # fmt: skip
MISSING = Customer("0a1b2c3d-0000-4000-8000-000000000005", "Not Configured Ltd", in_config=False, charges=[SEATS])
INCOMPLETE = Customer(
    "0a1b2c3d-0000-4000-8000-000000000006",
    "No VAT Id GmbH",
    country="DE",
    tax_treatment="reverse_charge",
    charges=[SEATS],
)
CUSTOMERS = [DOMESTIC, REVERSE, EXEMPT, OUTSIDE, MISSING, INCOMPLETE]


@pytest.fixture(scope="module")
def month_data(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("legal").resolve()
    paths = DataPaths(data_dir)
    write_config(data_dir / "config", CUSTOMERS)
    expected = build_warehouse(paths.warehouse, data_dir / "config", CUSTOMERS)
    seller = load_config(data_dir / "config").partner
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, BILLING_PERIOD, seller)
    return paths, expected, month


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "title", "head")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title", "head")

    def handle_data(self, data):
        if not self._skip:
            self.words.extend(data.split())


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.words)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _glyphs(text: str) -> Counter:
    """Every character but spaces: the PDF wraps long text where the HTML does not, and reads
    side-by-side blocks in its own order, but must show every glyph, none changed or cut."""
    return Counter(char for char in text if not char.isspace())


def _customer(month, customer):
    return next(c for c in month.customers if c.customer_id == customer.customer_id)


def test_each_tax_treatment_gets_its_vat_and_wording(month_data):
    paths, expected, month = month_data
    from pipelines.invoicing.html_invoice import render_html

    cases = {DOMESTIC: (Decimal("0.20"), None), REVERSE: (Decimal(0), REVERSE_CHARGE_EN), EXEMPT: (Decimal(0), EXEMPTION),
             OUTSIDE: (Decimal(0), "VAT not applicable: services outside the scope of EU VAT (Article 44 Directive 2006/112/EC)")}  # fmt: skip
    for customer, (rate, wording) in cases.items():
        invoice = _customer(month, customer).invoices[0]
        assert invoice.customer_tax == expected[customer.customer_id]["customer_tax"]
        assert [(vat.rate, vat.tax) for vat in invoice.vat_totals(_customer(month, customer).buyer)] == [
            (rate, invoice.customer_tax)
        ]
        html = render_html(month, _customer(month, customer))
        if wording:
            assert wording in html.replace("&#39;", "'").replace("&amp;", "&")
        else:
            assert "Autoliquidation" not in html and "Article 196" not in html
    # 20 % of the domestic customer's charges and services, at the cent
    assert _customer(month, DOMESTIC).invoices[0].customer_tax == Decimal(
        "340.23"
    )  # (726 + 45.16 + 360 + 570) * 0.20 = 340.232


def test_a_french_customer_gets_a_french_invoice_with_french_numbers(month_data):
    _, _, month = month_data
    from pipelines.invoicing.html_invoice import render_html

    html = render_html(month, _customer(month, DOMESTIC))
    assert 'lang="fr"' in html
    for french in (
        "Facture",
        "Facturé à",
        "Total HT",
        "Désignation",
        "octobre 2026",
        "au prorata",
        "engagement annuel",
    ):
        assert french in html
    assert "22,00" in html  # the real unit price of the full-month seats, with a decimal comma
    assert "Invoice number" not in html and "Bill to" not in html


def test_lines_carry_real_unit_prices_and_service_periods(month_data):
    _, _, month = month_data
    lines = _customer(month, DOMESTIC).invoices[0].lines
    seats = [line for line in lines if line.description == SEATS[0]]
    assert sorted((line.quantity, line.unit_price, line.period_kind) for line in seats) == [
        (Decimal(4), Decimal("11.29"), "prorated"),
        (Decimal(33), Decimal("22.00"), None),
    ]
    visio = next(line for line in lines if line.description == "Visio Plan 2")
    assert (visio.unit_price, visio.period_kind, visio.period_end) == (Decimal("180.00"), "annual", date(2027, 9, 30))


def test_a_customer_missing_from_the_config_blocks_only_their_own_invoice(month_data):
    _, _, month = month_data
    blocked = {customer.customer_id: customer.reason for customer in month.blocked}
    assert set(blocked) == {MISSING.customer_id, INCOMPLETE.customer_id}
    assert "not in customers.csv" in blocked[MISSING.customer_id]
    assert "vat_id is blank" in blocked[INCOMPLETE.customer_id]
    assert {c.customer_id for c in month.customers} == {
        DOMESTIC.customer_id,
        REVERSE.customer_id,
        EXEMPT.customer_id,
        OUTSIDE.customer_id,
    }


def test_pdf_text_equals_html_text_for_hostile_and_non_latin_names(month_data, tmp_path):
    _, _, month = month_data
    from pipelines.invoicing.html_invoice import render_html

    for customer in (OUTSIDE, EXEMPT, DOMESTIC):
        invoice = _customer(month, customer)
        html_text = _html_text(render_html(month, invoice))
        pdf_text = _pdf_text(render_pdf(month, invoice), tmp_path)
        html_glyphs, pdf_glyphs = _glyphs(html_text), _glyphs(pdf_text)
        assert pdf_glyphs == html_glyphs, (
            f"{customer.name}: only in HTML {html_glyphs - pdf_glyphs}, only in PDF {pdf_glyphs - html_glyphs}"
        )
        squeezed = re.sub(r"\s", "", pdf_text)
        assert re.sub(r"\s", "", customer.name) in squeezed and re.sub(r"\s", "", customer.city) in squeezed
    html = render_html(month, _customer(month, OUTSIDE))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Łódź Ærøskøbing" in html and "Nguyễn Trading" in html


def test_numbers_are_sequential_across_months_and_reruns_and_issued_files_never_change(tmp_path):
    paths = DataPaths(tmp_path.resolve())
    write_config(tmp_path / "config", CUSTOMERS)
    build_warehouse(paths.warehouse, tmp_path / "config", CUSTOMERS)
    first = issue_month(paths, BILLING_PERIOD, date(2026, 11, 5))
    assert first.issued == ("FA-000001", "FA-000002", "FA-000003", "FA-000004")
    assert len(first.blocked) == 2 and any("Not Configured Ltd" in text for text in first.blocked)
    folder = paths.exports(BILLING_PERIOD) / ISSUED_DIR
    digests = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    assert len(digests) == 12  # HTML, Factur-X PDF and XML per invoice

    again = issue_month(paths, BILLING_PERIOD, date(2026, 11, 9))  # a re-run issues nothing new
    seller = load_config(tmp_path / "config").partner
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        write_month(load_month(con, BILLING_PERIOD, seller), paths)  # and a draft run of the month leaves them alone
    assert again.issued == () and again.already_issued == first.issued
    assert {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()} == digests

    # The next month continues the series where the last one stopped.
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(
            "UPDATE marts.customer_monthly SET billing_period = '2026-11-01' WHERE billing_period = '2026-10-01'"
        )
        con.execute("UPDATE marts.fct_charges SET billing_period = '2026-11-01'")
        con.execute("UPDATE marts.service_charges_monthly SET billing_period = '2026-11-01'")
    november = issue_month(paths, BillingPeriod.parse("2026-11"), date(2026, 12, 5))
    assert november.issued == ("FA-000005", "FA-000006", "FA-000007", "FA-000008")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        sequences = [
            row[0] for row in con.execute("SELECT sequence FROM billing.issued_invoices ORDER BY sequence").fetchall()
        ]
        due = con.execute(
            "SELECT DISTINCT due_date FROM billing.issued_invoices WHERE billing_period = '2026-10-01'"
        ).fetchall()
    assert sequences == list(range(1, 9))
    assert due == [(date(2026, 12, 5),)]  # 5 November + the sample's 30 days

    html = (folder / "FA-000001.html").read_text(encoding="utf-8")
    assert "FA-000001" in html and "5 novembre 2026" in html and "5 décembre 2026" in html and "BROUILLON" not in html
    assert re.search(r"RF\d\dFA000001", html), "a structured payment reference"


def test_drafts_say_draft_and_carry_no_number(month_data):
    _, _, month = month_data
    from pipelines.invoicing.html_invoice import render_html

    html = render_html(month, _customer(month, REVERSE))
    assert "DRAFT" in html and "FA-" not in html and "Invoice number" not in html
