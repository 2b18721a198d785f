"""The e-invoice: UN/CEFACT CII XML of the EN 16931 profile, alone and embedded in the PDF/A-3
(Factur-X / ZUGFeRD), with the `factur-x` library, which checks the XML against its XSD.

Only issued invoices (numbered, dated) are e-invoices: a draft has no number to carry.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from pipelines.invoicing.document import payment_reference
from pipelines.invoicing.labels import vat_wording
from pipelines.invoicing.model import CREDIT_NOTE, CurrencyInvoice, CustomerInvoice, InvoiceLine, MonthInvoices
from pipelines.invoicing.money import cents

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931 = "urn:cen.eu:en16931:2017"
COMMERCIAL_INVOICE = "380"
CREDIT_NOTE_TYPE = "381"
CREDIT_TRANSFER = "58"
UNIT = "C62"  # "one": seats, meters and services are counted, not measured
FLAVOR, LEVEL = "factur-x", "en16931"

for prefix, uri in NS.items():
    ET.register_namespace(prefix, uri)


def cii_xml(month: MonthInvoices, customer: CustomerInvoice, invoice: CurrencyInvoice) -> bytes:
    if month.issue is None or invoice.number is None:
        raise ValueError("only an issued invoice (numbered and dated) can be an e-invoice")
    seller, buyer = month.seller, customer.buyer
    root = ET.Element(_q("rsm", "CrossIndustryInvoice"))
    context = _sub(root, "rsm", "ExchangedDocumentContext")
    _sub(_sub(context, "ram", "GuidelineSpecifiedDocumentContextParameter"), "ram", "ID", EN16931)
    header = _sub(root, "rsm", "ExchangedDocument")
    _sub(header, "ram", "ID", invoice.number)
    # A credit note carries the cancelled invoice's amounts as they were: its type says they are credited.
    _sub(header, "ram", "TypeCode", CREDIT_NOTE_TYPE if invoice.kind == CREDIT_NOTE else COMMERCIAL_INVOICE)
    _date(_sub(header, "ram", "IssueDateTime"), month.issue.issue_date)
    mention = vat_wording(buyer.language, buyer.tax_treatment, buyer.exemption_text)
    if mention:
        _sub(_sub(header, "ram", "IncludedNote"), "ram", "Content", mention)

    transaction = _sub(root, "rsm", "SupplyChainTradeTransaction")
    rate = buyer.charged_rate * 100
    for position, line in enumerate(invoice.lines, start=1):
        _line(transaction, position, line, buyer.vat_category, rate)

    agreement = _sub(transaction, "ram", "ApplicableHeaderTradeAgreement")
    _sub(agreement, "ram", "BuyerReference", customer.customer_id)
    _party(
        agreement,
        "SellerTradeParty",
        seller.legal_name,
        seller.address_lines[:-1],
        None,
        seller.address_lines[-1],
        seller.country,
        seller.vat_id,
    )
    _party(
        agreement,
        "BuyerTradeParty",
        buyer.billing_name,
        buyer.street,
        buyer.postal_code,
        buyer.city,
        buyer.country,
        buyer.vat_id,
    )
    _sub(transaction, "ram", "ApplicableHeaderTradeDelivery")

    settlement = _sub(transaction, "ram", "ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram", "PaymentReference", payment_reference(invoice.number))
    _sub(settlement, "ram", "InvoiceCurrencyCode", invoice.currency)
    means = _sub(settlement, "ram", "SpecifiedTradeSettlementPaymentMeans")
    _sub(means, "ram", "TypeCode", CREDIT_TRANSFER)
    _sub(_sub(means, "ram", "PayeePartyCreditorFinancialAccount"), "ram", "IBANID", seller.iban)
    _sub(_sub(means, "ram", "PayeeSpecifiedCreditorFinancialInstitution"), "ram", "BICID", seller.bic)
    for vat in invoice.vat_totals(buyer):
        tax = _sub(settlement, "ram", "ApplicableTradeTax")
        _sub(tax, "ram", "CalculatedAmount", _amount(vat.tax))
        _sub(tax, "ram", "TypeCode", "VAT")
        if mention:
            _sub(tax, "ram", "ExemptionReason", mention)
        _sub(tax, "ram", "BasisAmount", _amount(vat.basis))
        _sub(tax, "ram", "CategoryCode", vat.category)
        _sub(tax, "ram", "RateApplicablePercent", _plain(vat.rate * 100))
    period = _sub(settlement, "ram", "BillingSpecifiedPeriod")
    _date(_sub(period, "ram", "StartDateTime"), month.period.start)
    _date(_sub(period, "ram", "EndDateTime"), month.period.end)
    terms = _sub(settlement, "ram", "SpecifiedTradePaymentTerms")
    _date(_sub(terms, "ram", "DueDateDateTime"), month.issue.due_date)
    totals = _sub(settlement, "ram", "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, "ram", "LineTotalAmount", _amount(sum((cents(line.amount) for line in invoice.lines), Decimal(0))))
    _sub(totals, "ram", "TaxBasisTotalAmount", _amount(invoice.billed_pretax))
    _sub(totals, "ram", "TaxTotalAmount", _amount(invoice.customer_tax), currencyID=invoice.currency)
    _sub(totals, "ram", "GrandTotalAmount", _amount(invoice.billed_total))
    _sub(totals, "ram", "DuePayableAmount", _amount(invoice.billed_total))
    if invoice.preceding is not None:  # BT-25 / BT-26: the invoice this document cancels or replaces
        referenced = _sub(settlement, "ram", "InvoiceReferencedDocument")
        _sub(referenced, "ram", "IssuerAssignedID", invoice.preceding.number)
        _sub(
            _sub(referenced, "ram", "FormattedIssueDateTime"),
            "qdt",
            "DateTimeString",
            invoice.preceding.issue_date.strftime("%Y%m%d"),
            format="102",
        )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def facturx_pdf(pdf: bytes, xml: bytes, language: str) -> bytes:
    """The PDF/A-3 with the XML attached as factur-x.xml; the library refuses an XML off the schema."""
    from facturx import generate_from_binary  # loaded by the step that issues, not by every Dagster process

    return generate_from_binary(pdf, xml, flavor=FLAVOR, level=LEVEL, check_xsd=True, lang=language)


def _line(transaction: ET.Element, position: int, line: InvoiceLine, category: str, rate: Decimal) -> None:
    item = _sub(transaction, "ram", "IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram", "AssociatedDocumentLineDocument"), "ram", "LineID", str(position))
    product = _sub(item, "ram", "SpecifiedTradeProduct")
    _sub(product, "ram", "Name", line.description + (f" ({line.subscription_id})" if line.subscription_id else ""))
    quantity = line.quantity if line.quantity else Decimal(1)
    unit_price = abs(line.unit_price) if line.unit_price is not None else abs(cents(line.amount))
    price = _sub(_sub(item, "ram", "SpecifiedLineTradeAgreement"), "ram", "NetPriceProductTradePrice")
    _sub(price, "ram", "ChargeAmount", _plain(unit_price))
    _sub(
        _sub(item, "ram", "SpecifiedLineTradeDelivery"),
        "ram",
        "BilledQuantity",
        _plain(quantity if line.quantity else (Decimal(-1) if line.amount < 0 else quantity)),
        unitCode=UNIT,
    )
    settlement = _sub(item, "ram", "SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram", "ApplicableTradeTax")
    _sub(tax, "ram", "TypeCode", "VAT")
    _sub(tax, "ram", "CategoryCode", category)
    _sub(tax, "ram", "RateApplicablePercent", _plain(rate))
    if line.period_start and line.period_end:
        period = _sub(settlement, "ram", "BillingSpecifiedPeriod")
        _date(_sub(period, "ram", "StartDateTime"), line.period_start)
        _date(_sub(period, "ram", "EndDateTime"), line.period_end)
    summation = _sub(settlement, "ram", "SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram", "LineTotalAmount", _amount(line.amount))


def _party(parent, tag, name, street, postal_code, city, country, vat_id) -> None:
    party = _sub(parent, "ram", tag)
    _sub(party, "ram", "Name", name)
    address = _sub(party, "ram", "PostalTradeAddress")
    if postal_code:
        _sub(address, "ram", "PostcodeCode", postal_code)
    for element, text in zip(("LineOne", "LineTwo", "LineThree"), street):
        _sub(address, "ram", element, text)
    if city:
        _sub(address, "ram", "CityName", city)
    _sub(address, "ram", "CountryID", country)
    if vat_id:
        _sub(_sub(party, "ram", "SpecifiedTaxRegistration"), "ram", "ID", vat_id, schemeID="VA")


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def _sub(parent: ET.Element, prefix: str, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _q(prefix, tag), attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent: ET.Element, value: date) -> None:
    _sub(parent, "udt", "DateTimeString", value.strftime("%Y%m%d"), format="102")


def _amount(value: Decimal) -> str:
    return f"{cents(value):f}"


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value else "0"
    return text
