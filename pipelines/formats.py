"""The Partner Center file layouts: the one place that names every column and its type.

The generator writes files in these layouts, the ingest reads them, and the raw tables
are created from them. Column order is the order Partner Center writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

# Money is exact: amounts keep up to 6 decimals so nothing Microsoft sends is rounded on load,
# and 18 integer digits hold any realistic amount in any currency (10^12 JPY and far beyond).
MONEY = "DECIMAL(24,6)"
# Quantities, unit prices and rates of Azure meters carry more decimals than amounts (a few GB
# of a per-GB meter, rates to 8 places or more): 12 places keep them exact, as numbers beyond a
# column's places are rejected rather than rounded.
RATE = "DECIMAL(28,12)"
QUANTITY = "DECIMAL(28,12)"
UNIT_PRICE = "DECIMAL(28,12)"
# New-commerce prices, quantities and exchange rates carry up to 18 decimals (EffectiveUnitPrice
# `0.0209496384791679`, PCToBCExchangeRate `0.846202666`): kept exactly, never rounded on load.
PRECISE = "DECIMAL(38,18)"
JSON_TEXT = "JSON"
INTEGER = "INTEGER"
TEXT = "VARCHAR"
# Partner Center dates are read as text and parsed with explicit formats, never a locale: US
# dates in the portal's CSV (`2/1/2019`, `2/1/2019 0:00`) and ISO 8601 where the API's values
# were written through (`2021-05-20T18:48:30.6168285Z`, up to 7 fractional digits, `Z` or not).
# An ISO time with a UTC offset (`2021-05-20T18:48:30-08:00`, `+01:00`, `+0100`) is the same
# instant in UTC, and is stored so (naive, like every other timestamp: all are UTC).
US_DATETIME = "US_DATETIME"

US_DATETIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
# Applied once a trailing `Z` and fractional digits beyond the 6 a timestamp keeps are cut off.
ISO_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
# Microsoft's "no date" (DateTime.MinValue): loaded as NULL, not as year 1.
NULL_DATE_PATTERN = r"0001-01-01([T ]00:00:00(\.0+)?Z?)?"
# A trailing `Z`, and fractional digits past the 6th (kept up to microseconds).
ISO_TAIL_PATTERN = r"(\.[0-9]{1,6})[0-9]*Z$|Z$"
# An ISO date-time ending in a UTC offset: groups 1 the local date-time, 2 the sign, 3 the
# hours, 4 the minutes. An offset beyond 14 hours either way (the widest on Earth) is no date.
# The same pattern serves Python (parse_partner_datetime) and SQL (ingest/dates.py).
ISO_OFFSET_PATTERN = (
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)([+-])([0-9]{2}):?([0-9]{2})"
)
MAX_OFFSET_MINUTES = 14 * 60
# Fractional digits past the 6th of the local date-time before an offset (kept up to microseconds).
FRACTION_TAIL_PATTERN = r"(\.[0-9]{1,6})[0-9]*$"


def parse_partner_datetime(text: str) -> datetime | None:
    """A date Partner Center writes, as a datetime; None when blank or Microsoft's null date.
    An ISO time with a UTC offset comes back as the UTC instant (naive, as all timestamps are).
    Raises ValueError when the text is no date in any of the formats above."""
    text = text.strip()
    if not text or re.fullmatch(NULL_DATE_PATTERN, text):
        return None
    offset = re.fullmatch(ISO_OFFSET_PATTERN, text)
    if offset:
        local, sign, hours, minutes = offset.groups()
        shift = int(hours) * 60 + int(minutes)
        if shift > MAX_OFFSET_MINUTES or int(minutes) >= 60:
            raise ValueError(f"'{text}' is not a date (its UTC offset is out of range)")
        local = re.sub(FRACTION_TAIL_PATTERN, r"\1", local)
        return _parsed(local, ISO_DATETIME_FORMATS) - timedelta(minutes=shift if sign == "+" else -shift)
    if "/" in text:
        return _parsed(text, US_DATETIME_FORMATS)
    return _parsed(re.sub(ISO_TAIL_PATTERN, r"\1", text), ISO_DATETIME_FORMATS)


def _parsed(text: str, formats: tuple[str, ...]) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date")


class FileKind(str, Enum):
    LICENSE_RECON = "license_recon"
    USAGE_RECON = "usage_recon"
    NCE_RECON = "nce_recon"
    DAILY_USAGE = "daily_usage"
    INVOICE_SUMMARY = "invoice_summary"

    @property
    def label(self) -> str:
        return {
            FileKind.LICENSE_RECON: "license-based reconciliation file",
            FileKind.USAGE_RECON: "usage-based reconciliation file",
            FileKind.NCE_RECON: "new-commerce invoice reconciliation file",
            FileKind.DAILY_USAGE: "daily rated usage file",
            FileKind.INVOICE_SUMMARY: "invoice summary",
        }[self]


@dataclass(frozen=True)
class Column:
    name: str  # canonical Partner Center header
    type: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    # The warehouse name where the header's own does not split into words (`PCToBCExchangeRate`).
    warehouse_name: str = ""

    @property
    def sql_name(self) -> str:
        """snake_case name used in the warehouse (`SyndicationPartnerSubscriptionNumber` ->
        `syndication_partner_subscription_number`)."""
        return self.warehouse_name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self.name).lower()

    @property
    def storage_type(self) -> str:
        return "TIMESTAMP" if self.type == US_DATETIME else self.type

    @property
    def scale(self) -> int | None:
        """Decimals a numeric column keeps (0 for whole numbers); None for text and dates.

        Numbers are read as text and cast to their column's type only when the cast loses
        nothing: DuckDB's cast would round `2.5` into an INTEGER quantity, or a 7th decimal
        away, without a word."""
        return None if self._numeric is None else self._numeric[1]

    @property
    def precision(self) -> int | None:
        return None if self._numeric is None else self._numeric[0]

    @property
    def _numeric(self) -> tuple[int, int] | None:
        if self.type == INTEGER:
            return 9, 0  # every 9-digit number fits an INTEGER
        decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", self.type)
        return (int(decimal.group(1)), int(decimal.group(2))) if decimal else None


def header_key(header: str) -> str:
    """Case-, space- and underscore-insensitive key for matching header names."""
    return re.sub(r"[\s_]", "", header.strip().strip('"').lstrip("\ufeff")).lower()


_MPN_ALIASES = ("MPN ID",)
_RESELLER_MPN_ALIASES = ("Tier2MpnId", "ResellerMPNID")

LICENSE_RECON_COLUMNS: tuple[Column, ...] = (
    Column("PartnerId", TEXT),
    Column("CustomerId", TEXT),
    Column("CustomerName", TEXT),
    Column("MpnId", TEXT, aliases=_MPN_ALIASES),
    Column("ResellerMpnId", TEXT, required=False, aliases=_RESELLER_MPN_ALIASES),
    Column("OrderId", TEXT),
    Column("SubscriptionId", TEXT),
    Column("SyndicationPartnerSubscriptionNumber", TEXT),
    Column("OfferId", TEXT),
    Column("DurableOfferId", TEXT),
    Column("OfferName", TEXT),
    Column("SubscriptionStartDate", US_DATETIME),
    Column("SubscriptionEndDate", US_DATETIME),
    Column("ChargeStartDate", US_DATETIME),
    Column("ChargeEndDate", US_DATETIME),
    Column("ChargeType", TEXT),
    Column("UnitPrice", UNIT_PRICE),
    Column("Quantity", INTEGER),
    Column("Amount", MONEY),
    Column("TotalOtherDiscount", MONEY),
    Column("Subtotal", MONEY),
    Column("Tax", MONEY),
    Column("TotalForCustomer", MONEY),
    Column("Currency", TEXT),
    Column("DomainName", TEXT),
    Column("SubscriptionName", TEXT),
    Column("SubscriptionDescription", TEXT),
    Column("BillingCycleType", TEXT),
)

USAGE_RECON_COLUMNS: tuple[Column, ...] = (
    Column("PartnerId", TEXT),
    Column("PartnerName", TEXT),
    Column("PartnerBillableAccountId", TEXT),
    Column("CustomerCompanyName", TEXT),
    Column("MpnId", TEXT, aliases=_MPN_ALIASES),
    Column("ResellerMpnId", TEXT, required=False, aliases=_RESELLER_MPN_ALIASES),
    Column("InvoiceNumber", TEXT),
    Column("ChargeStartDate", US_DATETIME),
    Column("ChargeEndDate", US_DATETIME),
    Column("SubscriptionId", TEXT),
    Column("SubscriptionName", TEXT),
    Column("SubscriptionDescription", TEXT),
    Column("OrderId", TEXT),
    Column("ServiceName", TEXT),
    Column("ServiceType", TEXT),
    Column("ResourceGuid", TEXT),
    Column("ResourceName", TEXT),
    Column("Region", TEXT),
    Column("Sku", TEXT),
    Column("DetailLineItemId", INTEGER),
    Column("ConsumedQuantity", QUANTITY),
    Column("IncludedQuantity", QUANTITY),
    Column("OverageQuantity", QUANTITY),
    Column("ListPrice", UNIT_PRICE),
    Column("PretaxCharges", MONEY),
    Column("TaxAmount", MONEY),
    Column("PostTaxTotal", MONEY),
    Column("Currency", TEXT),
    Column("PretaxEffectiveRate", RATE),
    Column("PostTaxEffectiveRate", RATE),
    Column("ChargeType", TEXT),
    Column("CustomerId", TEXT),
    Column("DomainName", TEXT),
    Column("BillingCycleType", TEXT),
    Column("Unit", TEXT, aliases=("UnitOfMeasure",)),
    # Daily-detail extras some exports append.
    Column("CustomerBillableAccount", TEXT, required=False),
    Column("UsageDate", US_DATETIME, required=False),
    Column("MeteredRegion", TEXT, required=False),
    Column("MeteredService", TEXT, required=False),
    Column("MeteredServiceType", TEXT, required=False),
    Column("Project", TEXT, required=False),
    Column("ServiceInfo", TEXT, required=False),
)

# The NCE invoice reconciliation file ("billed invoice reconciliation", G-invoices), in Partner
# Center's order (recon-formats.md §4). Headers also come camelCased (Aug 2023 rename), which
# header_key matches already; only the renamed names are aliases here.
NCE_RECON_COLUMNS: tuple[Column, ...] = (
    Column("PartnerId", TEXT),
    Column("CustomerId", TEXT),
    Column("CustomerName", TEXT),
    Column("CustomerDomainName", TEXT),
    Column("CustomerCountry", TEXT),
    Column("InvoiceNumber", TEXT),
    Column("MpnId", TEXT, aliases=_MPN_ALIASES),
    Column("ResellerMpnId", TEXT, required=False, aliases=_RESELLER_MPN_ALIASES),
    Column("OrderId", TEXT),
    Column("OrderDate", US_DATETIME),
    Column("ProductId", TEXT),
    Column("SkuId", TEXT),
    Column("AvailabilityId", TEXT),
    Column("SkuName", TEXT),
    Column("ProductName", TEXT),
    Column("ChargeType", TEXT),
    Column("UnitPrice", PRECISE),
    Column("Quantity", PRECISE),
    Column("Subtotal", MONEY),
    Column("TaxTotal", MONEY),
    Column("Total", MONEY, aliases=("TotalForCustomer",)),
    Column("Currency", TEXT),
    Column("PriceAdjustmentDescription", JSON_TEXT),
    Column("PublisherName", TEXT),
    Column("PublisherId", TEXT),
    Column("SubscriptionDescription", TEXT),
    Column("SubscriptionId", TEXT),
    Column("ChargeStartDate", US_DATETIME),
    Column("ChargeEndDate", US_DATETIME),
    Column("TermAndBillingCycle", TEXT),
    Column("EffectiveUnitPrice", PRECISE),
    Column("UnitType", TEXT),
    Column("AlternateId", TEXT),
    Column("BillableQuantity", PRECISE),
    Column("BillingFrequency", TEXT),
    Column("PricingCurrency", TEXT),
    Column("PCToBCExchangeRate", PRECISE, warehouse_name="pc_to_bc_exchange_rate"),
    Column("PCToBCExchangeRateDate", US_DATETIME, warehouse_name="pc_to_bc_exchange_rate_date"),
    Column("MeterDescription", TEXT),
    Column("ReservationOrderId", TEXT),
    # Added by Microsoft in 2021: older files lack them.
    Column("CreditReasonCode", TEXT, required=False),
    Column("SubscriptionStartDate", US_DATETIME, required=False),
    Column("SubscriptionEndDate", US_DATETIME, required=False),
    Column("ReferenceId", TEXT, required=False),
    Column("ProductQualifiers", JSON_TEXT, required=False),
    Column("PromotionId", TEXT, required=False),
    Column("ProductCategory", TEXT, required=False),
)

# The NCE daily rated usage file (recon-formats.md §5), billed (InvoiceNumber set) or unbilled
# (blank InvoiceNumber: the open month's running estimate), in Partner Center's order. The
# columns of Partner Center's "basic" attribute set are required; the rest are optional.
# `rateOfPartnerEarnedCredit` (0.15) and `rateOfCredit` (1.00) are the renamed headers of the two
# percentages on a 0..1 scale: the ingest stores percentages on Partner Center's 0..100 scale.
# BillingPreTaxTotal is not cent-exact by design (up to 15 decimals are written): kept exactly.
DAILY_USAGE_COLUMNS: tuple[Column, ...] = (
    Column("PartnerId", TEXT),
    Column("PartnerName", TEXT),
    Column("CustomerId", TEXT),
    Column("CustomerName", TEXT),
    Column("CustomerDomainName", TEXT, required=False),
    Column("CustomerCountry", TEXT, required=False),
    Column("MpnId", TEXT, required=False, aliases=_MPN_ALIASES),
    Column("ResellerMpnId", TEXT, required=False, aliases=_RESELLER_MPN_ALIASES),
    Column("InvoiceNumber", TEXT),
    Column("ProductId", TEXT),
    Column("SkuId", TEXT),
    Column("AvailabilityId", TEXT, required=False),
    Column("SkuName", TEXT),
    Column("ProductName", TEXT, required=False),
    Column("PublisherName", TEXT),
    Column("PublisherId", TEXT, required=False),
    Column("SubscriptionDescription", TEXT, required=False),
    Column("SubscriptionId", TEXT),
    Column("ChargeStartDate", US_DATETIME),
    Column("ChargeEndDate", US_DATETIME),
    Column("UsageDate", US_DATETIME),
    Column("MeterType", TEXT, required=False),
    Column("MeterCategory", TEXT, required=False),
    Column("MeterId", TEXT, required=False),
    Column("MeterSubCategory", TEXT, required=False),
    Column("MeterName", TEXT, required=False),
    Column("MeterRegion", TEXT, required=False),
    Column("Unit", TEXT, required=False, aliases=("UnitOfMeasure",)),
    Column("ResourceLocation", TEXT, required=False),
    Column("ConsumedService", TEXT, required=False),
    Column("ResourceGroup", TEXT, required=False),
    Column("ResourceURI", TEXT, warehouse_name="resource_uri"),
    Column("ChargeType", TEXT),
    Column("UnitPrice", PRECISE),
    Column("Quantity", PRECISE),
    Column("UnitType", TEXT),
    Column("BillingPreTaxTotal", PRECISE),
    Column("BillingCurrency", TEXT),
    Column("PricingPreTaxTotal", PRECISE),
    Column("PricingCurrency", TEXT),
    Column("ServiceInfo1", TEXT, required=False, warehouse_name="service_info_1"),
    Column("ServiceInfo2", TEXT, required=False, warehouse_name="service_info_2"),
    Column("Tags", JSON_TEXT, required=False),
    Column("AdditionalInfo", JSON_TEXT),
    Column("EffectiveUnitPrice", PRECISE),
    Column("PCToBCExchangeRate", PRECISE, warehouse_name="pc_to_bc_exchange_rate"),
    Column("PCToBCExchangeRateDate", US_DATETIME, required=False, warehouse_name="pc_to_bc_exchange_rate_date"),
    Column("EntitlementId", TEXT),
    Column("EntitlementDescription", TEXT, required=False),
    Column("PartnerEarnedCreditPercentage", PRECISE, required=False, aliases=("RateOfPartnerEarnedCredit",)),
    Column("CreditPercentage", PRECISE, aliases=("RateOfCredit",)),
    Column("CreditType", TEXT),
    Column("BenefitOrderId", TEXT),
    Column("BenefitId", TEXT, required=False),
    Column("BenefitType", TEXT),
)

# Renamed percentage headers written on a 0..1 scale (0.15 for 15 %): multiplied by this on load.
DAILY_USAGE_RATE_HEADERS: dict[str, int] = {"rateofpartnerearnedcredit": 100, "rateofcredit": 100}

INVOICE_SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("InvoiceNumber", TEXT),
    Column("InvoiceDate", "DATE"),
    Column("BillingPeriodStart", "DATE"),
    Column("BillingPeriodEnd", "DATE"),
    Column("Currency", TEXT),
    # Legacy (D-invoice) figures; NULL on a new-commerce summary.
    Column("LicenseCharges", MONEY, required=False),
    Column("UsageCharges", MONEY, required=False),
    Column("OtherCharges", MONEY, required=False),
    # New-commerce (G-invoice) figures: Credits negative, Subtotal = Charges + Credits; NULL on a
    # legacy summary.
    Column("Charges", MONEY, required=False),
    Column("Credits", MONEY, required=False),
    Column("Subtotal", MONEY, required=False),
    Column("Tax", MONEY),
    Column("Total", MONEY),
)

# The two layouts of invoice_summary.csv: the figures printed on a legacy and on an NCE invoice.
LEGACY_SUMMARY_HEADER: tuple[str, ...] = tuple(
    c.name for c in INVOICE_SUMMARY_COLUMNS if c.name not in ("Charges", "Credits", "Subtotal")
)
NCE_SUMMARY_HEADER: tuple[str, ...] = tuple(
    c.name for c in INVOICE_SUMMARY_COLUMNS if c.name not in ("LicenseCharges", "UsageCharges", "OtherCharges")
)

COLUMNS_BY_KIND: dict[FileKind, tuple[Column, ...]] = {
    FileKind.LICENSE_RECON: LICENSE_RECON_COLUMNS,
    FileKind.USAGE_RECON: USAGE_RECON_COLUMNS,
    FileKind.NCE_RECON: NCE_RECON_COLUMNS,
    FileKind.DAILY_USAGE: DAILY_USAGE_COLUMNS,
    FileKind.INVOICE_SUMMARY: INVOICE_SUMMARY_COLUMNS,
}

# Columns only this kind has: a header carrying all of them is of this kind.
SIGNATURE_COLUMNS: dict[FileKind, tuple[str, ...]] = {
    FileKind.LICENSE_RECON: ("SyndicationPartnerSubscriptionNumber", "TotalForCustomer"),
    FileKind.USAGE_RECON: ("PretaxCharges", "ResourceGuid"),
    FileKind.NCE_RECON: ("BillableQuantity", "EffectiveUnitPrice", "PCToBCExchangeRate"),
    FileKind.DAILY_USAGE: ("UsageDate", "BillingPreTaxTotal", "EntitlementId"),
    FileKind.INVOICE_SUMMARY: ("InvoiceNumber", "BillingPeriodStart", "Total"),
}

# A line missing one of these cannot be billed or reconciled: it is rejected, not loaded.
VALUE_REQUIRED: dict[FileKind, tuple[str, ...]] = {
    FileKind.LICENSE_RECON: (
        "CustomerId",
        "ChargeStartDate",
        "ChargeEndDate",
        "Quantity",
        "UnitPrice",
        "Subtotal",
        "Tax",
        "Currency",
    ),
    FileKind.USAGE_RECON: (
        "CustomerId",
        "InvoiceNumber",
        "ChargeStartDate",
        "ChargeEndDate",
        "PretaxCharges",
        "TaxAmount",
        "Currency",
    ),
    FileKind.NCE_RECON: (
        "CustomerId",
        "InvoiceNumber",
        "ChargeStartDate",
        "Subtotal",
        "Currency",
    ),
    FileKind.DAILY_USAGE: (
        "CustomerId",
        "SubscriptionId",
        "UsageDate",
        "Quantity",
        "BillingPreTaxTotal",
        "BillingCurrency",
    ),
}
