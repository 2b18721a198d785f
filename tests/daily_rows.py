"""Daily rated usage lines in Partner Center's exact layout (recon-formats.md §5), spelled out
here, not taken from the pipeline's format table, and the Azure plan recon lines they add up to."""

from __future__ import annotations

from decimal import Decimal

# The 55 columns as the portal's CSV writes them (§5, §11.6): Tier2MpnId, Unit, 0..100 percentages.
DAILY_HEADER: tuple[str, ...] = (
    "PartnerId",
    "PartnerName",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "MpnId",
    "Tier2MpnId",
    "InvoiceNumber",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "UsageDate",
    "MeterType",
    "MeterCategory",
    "MeterId",
    "MeterSubCategory",
    "MeterName",
    "MeterRegion",
    "Unit",
    "ResourceLocation",
    "ConsumedService",
    "ResourceGroup",
    "ResourceURI",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "UnitType",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "ServiceInfo1",
    "ServiceInfo2",
    "Tags",
    "AdditionalInfo",
    "EffectiveUnitPrice",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "EntitlementId",
    "EntitlementDescription",
    "PartnerEarnedCreditPercentage",
    "CreditPercentage",
    "CreditType",
    "BenefitOrderId",
    "BenefitId",
    "BenefitType",
)
# The Aug-2023 renamed headers (§6): first letter lower-cased, these renamed, percentages on 0..1.
CAMEL = {
    "Tier2MpnId": "resellerMpnId",
    "Unit": "unitOfMeasure",
    "PartnerEarnedCreditPercentage": "rateOfPartnerEarnedCredit",
    "CreditPercentage": "rateOfCredit",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
    "ResourceURI": "resourceUri",
}
CAMEL_HEADER = tuple(CAMEL.get(name, name[0].lower() + name[1:]) for name in DAILY_HEADER)

PARTNER_ID = "8caf98cd-1cd5-4245-9e91-042cd814c25d"
CUSTOMER_ID = "6b3a8993-3066-41fa-aa0d-afd33326ecbe"
AZURE_PLAN = "345f9119-8974-44b1-9361-cd6fd769f11c"
ENTITLEMENT = "3d021fbe-af00-5fcd-aef8-7acb7558dd5f"
INVOICE = "G000000001"


def daily_row(
    quantity: str,
    pretax: str,
    *,
    day: int = 1,
    invoice: str = INVOICE,
    pec: str = "15",
    availability: str = "DZH318Z0BQ7C",
    **overrides: str,
) -> dict[str, str]:
    row = {
        "PartnerId": PARTNER_ID,
        "PartnerName": "Nuage Conseil SAS",
        "CustomerId": CUSTOMER_ID,
        "CustomerName": "Müller & Söhne GmbH",
        "CustomerDomainName": "muller.onmicrosoft.com",
        "CustomerCountry": "DE",
        "MpnId": "7116754",
        "Tier2MpnId": "",
        "InvoiceNumber": invoice,
        "ProductId": "DZH318Z0BPS6",
        "SkuId": "0001",
        "AvailabilityId": availability,
        "SkuName": "D2 v3/D2s v3 - EU West",
        "ProductName": "Virtual Machines",
        "PublisherName": "Microsoft",
        "PublisherId": "",
        "SubscriptionDescription": "Azure plan",
        "SubscriptionId": AZURE_PLAN,
        "ChargeStartDate": "10/1/2026",
        "ChargeEndDate": "11/1/2026",
        "UsageDate": f"10/{day}/2026",
        "MeterType": "1 Compute Hour",
        "MeterCategory": "Virtual Machines",
        "MeterId": "1f0c5a4e-6b3d-4a8e-9f21-7c3b2d1e0a9f",
        "MeterSubCategory": "Dv3/DSv3 Series",
        "MeterName": "D2 v3/D2s v3",
        "MeterRegion": "EU West",
        "Unit": "1 Hour",
        "ResourceLocation": "WESTEUROPE",
        "ConsumedService": "Microsoft.Compute",
        "ResourceGroup": "RG-Prod-Web",
        "ResourceURI": f"/subscriptions/{ENTITLEMENT}/resourceGroups/RG-Prod-Web/providers/Microsoft.Compute/virtualMachines/web-01",
        "ChargeType": "new",
        "UnitPrice": "0.096",
        "Quantity": quantity,
        "UnitType": "1 Hour",
        "BillingPreTaxTotal": pretax,
        "BillingCurrency": "EUR",
        "PricingPreTaxTotal": pretax,
        "PricingCurrency": "USD",
        "ServiceInfo1": "",
        "ServiceInfo2": "",
        "Tags": '{"env": "prod"}',
        "AdditionalInfo": '{"ServiceType": "Standard_D2s_v3"}',
        "EffectiveUnitPrice": "0.0816",
        "PCToBCExchangeRate": "1",
        "PCToBCExchangeRateDate": "9/28/2026",
        "EntitlementId": ENTITLEMENT,
        "EntitlementDescription": "Production",
        "PartnerEarnedCreditPercentage": pec,
        "CreditPercentage": "0",
        "CreditType": "Credit Not Applied",
        "BenefitOrderId": "",
        "BenefitId": "",
        "BenefitType": "",
    }
    row.update(overrides)
    return row


def camel_values(row: dict[str, str]) -> dict[str, str]:
    """The same row as the renamed file writes it: percentages on the 0..1 scale."""
    out = dict(row)
    for name in ("PartnerEarnedCreditPercentage", "CreditPercentage"):
        if out[name]:
            out[name] = str(Decimal(out[name]) / 100)
    return out
