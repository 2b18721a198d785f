"""The new-commerce daily rated usage file: the Azure plan lines of the recon, per resource and day.

Billed (one file per G-invoice, InvoiceNumber set) or unbilled (the open month's running
estimate, blank InvoiceNumber, days through a given date). Consistent with the invoice
reconciliation file as Microsoft's rounding makes it (recon-formats.md §4, §5, §8):

- each recon Azure plan line (customer x SubscriptionId x ProductId x SkuId x AvailabilityId x
  partner-earned-credit segment) is spread over every day of its charge period and several
  resources of the plan's Azure subscriptions (EntitlementId), resource groups and tags;
- the daily Quantity sums exactly to the line's BillableQuantity;
- the daily BillingPreTaxTotal keeps 15 decimals (not cent-exact) and sums to a total that,
  truncated to the cent, is the line's Subtotal.

Rows are written as they are made (tens of millions for a benchmark month): one template per
resource, then per day only the date and three numbers, computed in integers (quantities in
units of 10^-9, amounts in 10^-15) split by integer weights, the last day taking the remainder.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from pipelines.formats import DAILY_USAGE_COLUMNS
from pipelines.generate.book import Partner
from pipelines.generate.nce_file import AzurePlanLine, rounddown
from pipelines.generate.periods import BillingMonth, add_months, us_date
from pipelines.generate.writer import RowLayout, csv_file
from pipelines.periods import BillingPeriod

QUANTITY_DIGITS = 9  # daily Quantity decimals
AMOUNT_DIGITS = 15  # daily BillingPreTaxTotal / PricingPreTaxTotal decimals (15 seen, §5)
QUANTITY_UNIT = 10**QUANTITY_DIGITS
AMOUNT_UNIT = 10**AMOUNT_DIGITS
AMOUNT_PLACES = Decimal(1).scaleb(-AMOUNT_DIGITS)
# (whole, fraction) of a non-negative count of 10^-digits as decimal text with all its places.
QUANTITY_TEXT = f"%d.%0{QUANTITY_DIGITS}d"
AMOUNT_TEXT = f"%d.%0{AMOUNT_DIGITS}d"
EARNED_CREDIT_PERCENT = 15
DEFAULT_RESOURCES_PER_LINE = 2  # per Azure plan line and day: ~70k rows per currency of a default month
# The Azure subscriptions (EntitlementId) under one Azure plan, and the resource groups of each.
ENTITLEMENTS_PER_PLAN = (1, 3)
RESOURCE_GROUPS = ("rg-prod-web", "RG-Shared-Services", "rg-dev", "rg-data-Analytics", "NetworkWatcherRG")
TAG_SETS = (
    {"env": "prod", "costCenter": "CC-1042"},
    {"env": "dev", "owner": "ops@contoso.example"},
    {"project": "Apollo", "env": "test"},
)
# The portal's CSV headers use Tier2MpnId, Unit and the 0..100 percentages; the renamed (camelCase)
# headers of Aug 2023 write the percentages on a 0..1 scale (recon-formats.md §6).
PASCAL_NAMES = {"ResellerMpnId": "Tier2MpnId"}
CAMEL_NAMES = {
    "ResellerMpnId": "resellerMpnId",
    "Unit": "unitOfMeasure",
    "PartnerEarnedCreditPercentage": "rateOfPartnerEarnedCredit",
    "CreditPercentage": "rateOfCredit",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
    "ResourceURI": "resourceUri",
}
_NAMESPACE = uuid.UUID("0b6f3a52-9d1e-4c8a-8f27-5e3d1c9a7b64")
PER_ROW = ("UsageDate", "Quantity", "BillingPreTaxTotal", "PricingPreTaxTotal")


DAILY_WEIGHT_FLOOR, DAILY_WEIGHT_SPREAD = 800, 400


def daily_file_name(invoice_number: str) -> str:
    return f"{invoice_number}_DailyRatedUsage.csv"


def unbilled_file_name(period: BillingPeriod, currency: str) -> str:
    return f"Unbilled_DailyRatedUsage_{period}_{currency}.csv"


def daily_layout() -> RowLayout:
    return RowLayout(DAILY_USAGE_COLUMNS, include_optional=[column.name for column in DAILY_USAGE_COLUMNS])


def written_header(layout: RowLayout, header_form: str) -> list[str]:
    if header_form == "pascal":
        return [PASCAL_NAMES.get(name, name) for name in layout.header]
    return [CAMEL_NAMES.get(name, name[0].lower() + name[1:]) for name in layout.header]


@dataclass
class DailyTotals:
    rows: int = 0
    quantity: Decimal = Decimal(0)
    pretax: Decimal = Decimal(0)


def group_total(line: AzurePlanLine) -> Decimal:
    """The unrounded pre-tax of a recon line's daily rows: EffectiveUnitPrice x quantity x FX when
    Microsoft's truncation of it is the line's Subtotal; otherwise (the inner ROUNDDOWN cut a
    cent more) the Subtotal plus that product's fraction of a cent. Either way it truncates to
    the Subtotal."""
    exact = (line.effective_price * line.quantity * line.exchange_rate).quantize(AMOUNT_PLACES, rounding=ROUND_DOWN)
    if rounddown(exact) == line.subtotal:
        return exact
    return line.subtotal + (exact - rounddown(exact))


def write_daily_file(
    path: Path,
    header_form: str,
    partner: Partner,
    lines: list[AzurePlanLine],
    month: BillingMonth,
    invoice_number: str,
    currency: str,
    rng: random.Random,
    resources_per_line: int = DEFAULT_RESOURCES_PER_LINE,
    through: date | None = None,
) -> DailyTotals:
    """The daily file of `lines` (one currency's recon Azure plan lines). `through` makes it the
    unbilled file of the open month: days up to that date only, no invoice number."""
    layout = daily_layout()
    writer = _DailyRows(layout, header_form, partner, month, invoice_number, currency, rng, resources_per_line, through)
    with csv_file(path) as output:
        output.row(written_header(layout, header_form))
        output.prepared_rows(row for line in lines for row in writer.of_line(line))
    return writer.totals


class _DailyRows:
    def __init__(
        self,
        layout: RowLayout,
        header_form: str,
        partner: Partner,
        month: BillingMonth,
        invoice_number: str,
        currency: str,
        rng: random.Random,
        resources_per_line: int,
        through: date | None,
    ) -> None:
        self.totals = DailyTotals()
        self._layout = layout
        self._camel = header_form != "pascal"
        self._partner = partner
        self._month = month
        self._invoice = invoice_number
        self._currency = currency
        self._rng = rng
        self._resources = max(1, resources_per_line)
        self._through = through
        self._positions = layout.positions(PER_ROW)
        self._date_text: dict[date, str] = {}

    def _date(self, day: date) -> str:
        """US M/D/YYYY in the portal's form, ISO 8601 with Z in the renamed (API-like) one."""
        text = self._date_text.get(day)
        if text is None:
            text = f"{day.isoformat()}T00:00:00Z" if self._camel else us_date(day)
            self._date_text[day] = text
        return text

    def _percent(self, percent: int) -> str:
        return f"{Decimal(percent) / 100:.2f}" if self._camel else str(percent)

    def _entitlements(self, subscription_id: str) -> list[tuple[str, str]]:
        """The Azure subscriptions of one Azure plan: (EntitlementId, EntitlementDescription)."""
        count = ENTITLEMENTS_PER_PLAN[0] + int(uuid.uuid5(_NAMESPACE, subscription_id).int % ENTITLEMENTS_PER_PLAN[1])
        names = ("Production", "Development", "Shared services")
        return [
            (str(uuid.uuid5(_NAMESPACE, f"{subscription_id}/{index}")), f"Azure subscription - {names[index]}")
            for index in range(count)
        ]

    def _templates(self, line: AzurePlanLine) -> list[list[str]]:
        values, meter, customer = line.values, line.meter, line.customer
        rng = self._rng
        region = values["SkuName"].rsplit(" - ", 1)[-1]
        shared = {
            "PartnerId": self._partner.partner_id,
            "PartnerName": self._partner.name,
            "CustomerId": customer.customer_id,
            "CustomerName": customer.name,
            "CustomerDomainName": customer.domain,
            "CustomerCountry": "US" if self._currency == "USD" else "DE",
            "MpnId": self._partner.mpn_id,
            "ResellerMpnId": "" if customer.reseller_mpn_id in ("-1", "0") else customer.reseller_mpn_id,
            "InvoiceNumber": self._invoice,
            "ProductId": values["ProductId"],
            "SkuId": values["SkuId"],
            "AvailabilityId": values["AvailabilityId"],
            "SkuName": values["SkuName"],
            "ProductName": values["ProductName"],
            "PublisherName": "Microsoft",
            "PublisherId": "",
            "SubscriptionDescription": "Azure plan",
            "SubscriptionId": values["SubscriptionId"],
            "ChargeStartDate": self._date(self._month.start),
            "ChargeEndDate": self._date(add_months(self._month.start, 1)),
            "MeterType": meter.unit,
            "MeterCategory": meter.service_name,
            "MeterId": str(uuid.uuid5(_NAMESPACE, values["AvailabilityId"])),
            "MeterSubCategory": meter.service_type,
            "MeterName": meter.resource_name,
            "MeterRegion": meter.region or region,
            "Unit": meter.unit,
            "ResourceLocation": region.replace(" ", "").upper(),
            "ChargeType": "new",
            "UnitPrice": str(line.list_price),
            "UnitType": meter.unit,
            "BillingCurrency": self._currency,
            "PricingCurrency": "USD",
            "ServiceInfo1": "",
            "ServiceInfo2": "",
            "EffectiveUnitPrice": str(line.effective_price),
            "PCToBCExchangeRate": str(line.exchange_rate),
            "PCToBCExchangeRateDate": self._date(self._month.start - timedelta(days=3)),
            "PartnerEarnedCreditPercentage": self._percent(EARNED_CREDIT_PERCENT if line.earned_credit else 0),
            "CreditPercentage": self._percent(0),
            "CreditType": "Credit Not Applied",
            "BenefitOrderId": "",
            "BenefitId": "",
            "BenefitType": "",
        }
        provider = {
            "Virtual Machines": "Microsoft.Compute",
            "Storage": "Microsoft.Storage",
            "SQL Database": "Microsoft.Sql",
        }
        templates = []
        entitlements = self._entitlements(values["SubscriptionId"])
        for index in range(self._resources):
            entitlement_id, entitlement_name = entitlements[index % len(entitlements)]
            group = RESOURCE_GROUPS[int(rng.random() * len(RESOURCE_GROUPS))]
            service = provider.get(meter.service_name, "Microsoft.Web")
            name = f"{meter.service_name.split()[0].lower()}-{index + 1:02d}"
            tags = TAG_SETS[int(rng.random() * len(TAG_SETS))]
            shape = rng.random()
            # Microsoft's Tags are JSON-ish: an object, an object without braces, or nothing.
            tags_text = json.dumps(tags) if shape < 0.6 else (json.dumps(tags)[1:-1] if shape < 0.8 else "")
            additional = json.dumps({"ServiceType": meter.resource_name, "UsageType": meter.service_type})
            templates.append(
                self._layout.template(
                    {
                        **shared,
                        "ConsumedService": service,
                        "ResourceGroup": group,
                        "ResourceURI": f"/subscriptions/{entitlement_id}/resourceGroups/{group}/providers/{service}/{name}",
                        "Tags": tags_text,
                        "AdditionalInfo": additional,
                        "EntitlementId": entitlement_id,
                        "EntitlementDescription": entitlement_name,
                    }
                )
            )
        return templates

    def of_line(self, line: AzurePlanLine) -> Iterator[list[str]]:
        days = [line.start + timedelta(days=offset) for offset in range((line.end - line.start).days + 1)]
        templates = self._templates(line)
        rng = self._rng
        cells = [(template, day) for day in days for template in templates]
        # A resource's use moves by up to a fifth from day to day, as steady workloads do, so the
        # spike warnings of a generated month stay for what a test plants, not for noise.
        weights = [DAILY_WEIGHT_FLOOR + int(rng.random() * DAILY_WEIGHT_SPREAD) for _ in cells]
        total_weight = sum(weights)
        quantity = int(line.quantity * QUANTITY_UNIT)
        amount = int(group_total(line) * AMOUNT_UNIT)
        pricing = int((line.effective_price * line.quantity).quantize(AMOUNT_PLACES, rounding=ROUND_DOWN) * AMOUNT_UNIT)
        through = self._through
        q_left, a_left, p_left = quantity, amount, pricing
        rows = written_quantity = written_amount = 0
        last = len(cells) - 1
        date_at, quantity_at, billing_at, pricing_at = self._positions
        quantity_text, amount_text = QUANTITY_TEXT, AMOUNT_TEXT
        for index, ((template, day), weight) in enumerate(zip(cells, weights)):
            if index == last:
                q, a, p = q_left, a_left, p_left
            else:
                q, a, p = (
                    quantity * weight // total_weight,
                    amount * weight // total_weight,
                    pricing * weight // total_weight,
                )
                q_left, a_left, p_left = q_left - q, a_left - a, p_left - p
            if through is not None and day > through:
                continue
            rows += 1
            row = template.copy()
            row[date_at] = self._date(day)
            row[quantity_at] = quantity_text % divmod(q, QUANTITY_UNIT)
            row[billing_at] = amount_text % divmod(a, AMOUNT_UNIT)
            row[pricing_at] = amount_text % divmod(p, AMOUNT_UNIT)
            written_quantity, written_amount = written_quantity + q, written_amount + a
            yield row
        self.totals.rows += rows
        self.totals.quantity += Decimal(written_quantity) / QUANTITY_UNIT
        self.totals.pretax += Decimal(written_amount) / AMOUNT_UNIT
