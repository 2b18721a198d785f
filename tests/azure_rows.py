"""Daily rated usage lines as `raw.daily_usage` rows (recon-formats.md §5 column set), for the
Azure detail and warning tests, written straight into the raw table as the ingest loads them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pipelines.formats import DAILY_USAGE_COLUMNS

DAILY_COLUMNS = tuple(column.sql_name for column in DAILY_USAGE_COLUMNS)
PARTNER = "934f3416-bc2f-47f3-b492-77e517d4e572"


def daily_row(
    customer_id: str, customer_name: str, invoice: str | None, entitlement: str, day: datetime, cost: str, **values
) -> dict:
    """One daily line: every required column filled as Microsoft writes it; `invoice` None = unbilled
    (blank InvoiceNumber). Percentages on the 0..100 scale, as stored."""
    month_start = day.replace(day=1)
    row = dict(
        partner_id=PARTNER,
        partner_name="Nuage Conseil SAS",
        customer_id=customer_id,
        customer_name=customer_name,
        customer_domain_name="example.onmicrosoft.com",
        customer_country="FR",
        mpn_id="5357564",
        reseller_mpn_id="",
        invoice_number=invoice or "",
        product_id="DZH318Z0BQD2",
        sku_id="003J",
        availability_id="DZH318Z0B5DK",
        sku_name="Log analytics - Pay-as-you-go - EU West",
        product_name="Log Analytics",
        publisher_name="Microsoft",
        publisher_id="",
        subscription_description="Azure plan",
        subscription_id=f"plan-{customer_id[:8]}",
        charge_start_date=month_start,
        charge_end_date=month_start.replace(day=28),
        usage_date=day,
        meter_type="1 GB",
        meter_category="Log Analytics",
        meter_id="A7A6E9B5-1F5B-4C3B-9F4D-0E6E2A1C1D01",
        meter_sub_category="",
        meter_name="Data Ingestion",
        meter_region="EU West",
        unit="1 GB",
        resource_location="westeurope",
        consumed_service="Microsoft.OperationalInsights",
        resource_group="rg-default",
        resource_uri=f"/subscriptions/{entitlement}/resourceGroups/rg-default/providers/Microsoft.OperationalInsights/workspaces/ws1",
        charge_type="new",
        unit_price=Decimal("2.99"),
        quantity=Decimal("1"),
        unit_type="1 GB",
        billing_pre_tax_total=Decimal(cost),
        billing_currency="EUR",
        pricing_pre_tax_total=Decimal(cost),
        pricing_currency="EUR",
        service_info_1="",
        service_info_2="",
        tags=None,
        additional_info='{"ServiceType":"Standard"}',
        effective_unit_price=Decimal("2.5415"),
        pc_to_bc_exchange_rate=Decimal(1),
        pc_to_bc_exchange_rate_date=month_start,
        entitlement_id=entitlement,
        entitlement_description=f"Subscription {entitlement[:4]}",
        partner_earned_credit_percentage=Decimal(15),
        credit_percentage=Decimal(0),
        credit_type="Credit Not Applied",
        benefit_order_id="",
        benefit_id="",
        benefit_type="",
    )
    row.update(values)
    unknown = set(row) - set(DAILY_COLUMNS)
    assert not unknown, f"not daily usage columns: {unknown}"
    return row
