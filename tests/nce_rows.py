"""New-commerce recon lines for dbt-level tests: Microsoft's published sample rows
(recon-formats.md §11.3-11.6, values verbatim) and hand-made ones, as `raw.nce_recon` rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pipelines.formats import NCE_RECON_COLUMNS

NCE_COLUMNS = tuple(column.sql_name for column in NCE_RECON_COLUMNS)


def nce_row(**values: object) -> dict[str, object]:
    unknown = set(values) - set(NCE_COLUMNS)
    assert not unknown, f"not NCE recon columns: {unknown}"
    return dict(values)


def _us_date(text: str) -> datetime:
    """`June 18 2021`, as the scenario tables print dates."""
    return datetime.strptime(text, "%B %d %Y")


# §11.6, the API sample flattened into file order: every value as published.
MICROSOFT_SAMPLE = nce_row(
    partner_id="934f3416-bc2f-47f3-b492-77e517d4e572",
    customer_id="835a59a7-3172-47b5-bdef-d9cc65f4d0e4",
    customer_name="TEST_TEST Test Promotions 01",
    customer_domain_name="kyletestpromos01.onmicrosoft.com",
    customer_country="US",
    invoice_number="G000773581",
    mpn_id="5357564",
    reseller_mpn_id="0",
    order_id="5f9d52bb1408",
    order_date=datetime(2021, 5, 20, 18, 48, 30, 616828),
    product_id="CFQ7TTC0HL8W",
    sku_id="0001",
    availability_id="CFQ7TTC0K59S",
    sku_name="Power BI Premium Per User",
    product_name="Power BI Premium Per User",
    charge_type="new",
    unit_price=Decimal("16"),
    quantity=Decimal("50"),
    subtotal=Decimal("720"),
    tax_total=Decimal("73"),
    total=Decimal("793"),
    currency="USD",
    price_adjustment_description='["Price for given billing period","You are getting a discount due to a pre-determined override.","You are getting a discount for being a partner.","You are getting a price guarantee for your price.","Price for given term"]',
    publisher_name="Microsoft Corporation",
    publisher_id=None,
    subscription_description=None,
    subscription_id="9d7d1f3d-c8de-461c-db6d-91debd5129f0",
    charge_start_date=datetime(2021, 5, 20),
    charge_end_date=datetime(2021, 6, 19),
    term_and_billing_cycle="One-Year commitment for monthly/yearly billing",
    effective_unit_price=Decimal("14.4"),
    unit_type=None,
    alternate_id="5f9d52bb1408",
    billable_quantity=Decimal("50"),
    billing_frequency="Monthly",
    pricing_currency="USD",
    pc_to_bc_exchange_rate=Decimal("1"),
    pc_to_bc_exchange_rate_date=datetime(2021, 5, 1),
    meter_description=None,
    reservation_order_id="8fdebb4a-7110-496e-9570-623e4c992797",
    credit_reason_code=None,
    subscription_start_date=datetime(2021, 5, 20),
    subscription_end_date=datetime(2022, 5, 19),
    reference_id="28b535e0-68f4-40b5-84f7-8ed9241eb149",
    product_qualifiers="[]",
    promotion_id="39NFJQT1X27N:0002:39NFJQT1Q5KL",
)

# §11.3 seats, add 2 then remove 4: OrderDate, ChargeType, UnitPrice, ChargeStartDate,
# ChargeEndDate, EffectiveUnitPrice, BillableQuantity, Total; each change is a refund and
# recharge pair sharing a ReferenceId.
SEAT_SCENARIO = (
    ("June 18 2021", "new", "10.08", "June 18 2021", "July 17 2021", "10.08", "10", "100.8", "ref-new"),
    ("June 20 2021", "addQuantity", "10.08", "June 20 2021", "July 17 2021", "-9.408", "10", "-94.08", "ref-add"),
    ("June 20 2021", "addQuantity", "10.08", "June 20 2021", "July 17 2021", "9.408", "12", "112.89", "ref-add"),
    (
        "June 20 2021",
        "removeQuantity",
        "10.08",
        "June 20 2021",
        "July 17 2021",
        "-9.408",
        "12",
        "-112.89",
        "ref-remove",
    ),
    ("June 20 2021", "removeQuantity", "10.08", "June 20 2021", "July 17 2021", "9.408", "8", "75.26", "ref-remove"),
)


def seat_scenario_rows(customer_id: str, customer_name: str, invoice: str) -> list[dict[str, object]]:
    return [
        nce_row(
            customer_id=customer_id,
            customer_name=customer_name,
            invoice_number=invoice,
            reseller_mpn_id="0",
            order_date=_us_date(order_date),
            product_id="CFQ7TTC0LDPB",
            sku_id="0001",
            availability_id="CFQ7TTC0K5FN",
            sku_name="Microsoft 365 Business Standard",
            product_name="Microsoft 365 Business Standard",
            charge_type=charge_type,
            unit_price=Decimal(unit_price),
            quantity=Decimal(quantity),
            subtotal=Decimal(total),
            tax_total=Decimal(0),
            total=Decimal(total),
            currency="EUR",
            publisher_name="Microsoft Corporation",
            subscription_description="Microsoft 365 Business Standard",
            subscription_id="284b0ff0-0e74-4f65-cb23-f8ad95867994",
            charge_start_date=_us_date(start),
            charge_end_date=_us_date(end),
            term_and_billing_cycle="One-Month commitment for monthly billing",
            effective_unit_price=Decimal(effective),
            billable_quantity=Decimal(quantity),
            billing_frequency="Monthly",
            pricing_currency="EUR",
            pc_to_bc_exchange_rate=Decimal(1),
            reference_id=reference,
        )
        for order_date, charge_type, unit_price, start, end, effective, quantity, total, reference in SEAT_SCENARIO
    ]


# §11.5 Azure plan, a tiered meter after the 2024 unit-price change: ProductID, SKUID,
# AvailabilityID, SkuName, UnitPrice, Quantity, Subtotal, TaxTotal, Total,
# PriceAdjustmentDescription, SubscriptionID, EffectiveUnitPrice, BillableQuantity.
AZURE_PLAN_SAMPLE = (
    (
        "DZH318Z0BQD2",
        "003J",
        "DZH318Z0B5DK",
        "Log analytics - Pay-as-you-go - EU West",
        "0",
        "1",
        "0",
        "0",
        "0",
        '["15.0% Partner earned credit for services managed"]',
        "92e68872-582e-4783-d1fc-59e6dc43eab0",
        "0",
        "5",
    ),
    (
        "DZH318Z0BQD2",
        "003J",
        "DZH318Z0B5DK",
        "Log analytics - Pay-as-you-go - EU West",
        "2.99",
        "1",
        "81.33",
        "0",
        "81.33",
        '["15.0% Partner earned credit for services managed"]',
        "92e68872-582e-4783-d1fc-59e6dc43eab0",
        "2.5415",
        "32",
    ),
)
# PCToBCExchangeRate as in Microsoft's column description (recon-formats.md §4).
USD_TO_EUR = Decimal("0.846202666")


def azure_plan_rows(
    customer_id: str, customer_name: str, invoice: str, month_start: datetime, month_end: datetime
) -> list[dict[str, object]]:
    return [
        nce_row(
            customer_id=customer_id,
            customer_name=customer_name,
            invoice_number=invoice,
            reseller_mpn_id="0",
            product_id=product,
            sku_id=sku,
            availability_id=availability,
            sku_name=sku_name,
            product_name="Log Analytics",
            charge_type="new",
            unit_price=Decimal(unit_price),
            quantity=Decimal(quantity),
            subtotal=Decimal(subtotal),
            tax_total=Decimal(tax),
            total=Decimal(total),
            currency="EUR",
            price_adjustment_description=adjustment,
            publisher_name="Microsoft",
            subscription_description="Azure plan",
            subscription_id=subscription,
            charge_start_date=month_start,
            charge_end_date=month_end,
            effective_unit_price=Decimal(effective),
            billable_quantity=Decimal(billable),
            billing_frequency="Monthly",
            pricing_currency="USD",
            pc_to_bc_exchange_rate=USD_TO_EUR,
            unit_type="1 GB",
            meter_description="Log Analytics - Data Ingestion",
        )
        for product, sku, availability, sku_name, unit_price, quantity, subtotal, tax, total, adjustment, subscription, effective, billable in AZURE_PLAN_SAMPLE
    ]
