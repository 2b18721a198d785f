"""Hand-made legacy (D-invoice) lines for dbt-level tests: license, usage and the summary."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from tests.dbt_warehouse import insert_rows

CONTOSO = "3eb751bd-dd07-411e-97c2-fefcfffa92af"  # seeds: EUR, 23 % VAT, 8 % on everything
IBANEZ = "ee1c7fe2-2d0a-4b2f-a8cc-da5bec2fd7e2"  # seeds: EUR, 21 % VAT, default rules


def load_legacy_month(warehouse: Path, period: str, invoice: str, scale: Decimal = Decimal(1)) -> dict[str, Decimal]:
    """One EUR D-invoice: two license lines and two usage lines, and a summary that ties.
    Returns the figures, computed here."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1)
    licenses = [
        (CONTOSO, "Contoso Ltd.", "Office 365 E3", Decimal("20.00") * scale, 5, Decimal("19.60") * scale),
        (IBANEZ, "Ibáñez y Peña, S.L.", "Visio Plan 2", Decimal("12.00") * scale, 2, Decimal("24.00") * scale),
    ]
    usages = [
        (
            CONTOSO,
            "Contoso Ltd.",
            "Virtual Machines",
            "D2s v3",
            Decimal("0.096"),
            Decimal("744"),
            Decimal("71.42") * scale,
        ),
        (IBANEZ, "Ibáñez y Peña, S.L.", "Storage", "LRS", Decimal("0.02"), Decimal("1000"), Decimal("20.00") * scale),
    ]
    license_rows = [
        {
            "customer_id": customer,
            "customer_name": name,
            "invoice_number": invoice,
            "syndication_partner_subscription_number": f"sub-{customer[:8]}-{product[:3]}",
            "order_id": "o1",
            "offer_id": "offer",
            "durable_offer_id": "durable",
            "offer_name": product,
            "charge_type": "Cycle fee",
            "charge_start_date": start,
            "charge_end_date": start.replace(day=28),
            "unit_price": unit_price,
            "quantity": quantity,
            "amount": unit_price * quantity,
            "total_other_discount": unit_price * quantity - subtotal,
            "subtotal": subtotal,
            "tax": Decimal(0),
            "total_for_customer": subtotal,
            "currency": "EUR",
            "billing_cycle_type": "Monthly",
        }
        for customer, name, product, unit_price, quantity, subtotal in licenses
    ]
    usage_rows = [
        {
            "customer_id": customer,
            "customer_company_name": name,
            "invoice_number": invoice,
            "charge_start_date": start,
            "charge_end_date": start.replace(day=28),
            "subscription_id": f"az-{customer[:8]}",
            "service_name": service,
            "service_type": "Standard",
            "resource_name": resource,
            "region": "EU West",
            "sku": "sku",
            "consumed_quantity": quantity,
            "included_quantity": Decimal(0),
            "overage_quantity": quantity,
            "list_price": price,
            "pretax_charges": pretax,
            "tax_amount": Decimal(0),
            "post_tax_total": pretax,
            "currency": "EUR",
            "charge_type": "Assess usage fee for current cycle",
            "unit": "1 Hour",
        }
        for customer, name, service, resource, price, quantity, pretax in usages
    ]
    license_total = sum(row["subtotal"] for row in license_rows)
    usage_total = sum(row["pretax_charges"] for row in usage_rows)
    insert_rows(warehouse, "raw.license_recon", period, license_rows, f"license_{period}.csv")
    insert_rows(warehouse, "raw.usage_recon", period, usage_rows, f"usage_{period}.csv")
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        period,
        [
            {
                "invoice_number": invoice,
                "invoice_date": start,
                "billing_period_start": start,
                "billing_period_end": start.replace(day=28),
                "currency": "EUR",
                "license_charges": license_total,
                "usage_charges": usage_total,
                "other_charges": Decimal(0),
                "tax": Decimal(0),
                "total": license_total + usage_total,
            }
        ],
        f"invoice_summary_{period}.csv",
    )
    return {"license": license_total, "usage": usage_total}
