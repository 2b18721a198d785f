"""The legacy usage-based reconciliation file of one currency for one month.

One row per Azure subscription x meter x rate tier. Consumption follows each subscription's
stable intensity times a monthly factor, so customers' usage trends instead of jumping.
Now and then a `Cycle discount` line gives back part of the line before it.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from pipelines.formats import USAGE_RECON_COLUMNS
from pipelines.generate.amounts import (
    BASIS_POINTS,
    CENTS_PER_UNIT,
    MICROS_PER_UNIT,
    RATE_SCALE,
    FileTotals,
    effective_rate,
    local_price,
    money_text,
    quantity_text,
    rate_text,
    round_half_up,
    scaled_text,
    tax_cents,
)
from pipelines.generate.book import AzureSubscription, Customer, Partner
from pipelines.generate.catalog import AZURE_METERS, AZURE_SKU, CYCLE_DISCOUNT, USAGE_FEE, CurrencyTerms, Meter
from pipelines.generate.periods import BillingMonth, us_datetime
from pipelines.generate.writer import RowLayout, csv_field, csv_file

# The columns set per meter, per line, and the money columns of a line.
METER_COLUMNS = ("ServiceName", "ServiceType", "ResourceGuid", "ResourceName", "Region", "Unit")
LINE_COLUMNS = (
    "DetailLineItemId",
    "ConsumedQuantity",
    "IncludedQuantity",
    "OverageQuantity",
    "ListPrice",
    "ChargeType",
)
CHARGE_COLUMNS = ("PretaxCharges", "TaxAmount", "PostTaxTotal", "PretaxEffectiveRate", "PostTaxEffectiveRate")
# micros (1e-6) x micros = 1e-12; one cent is 1e10 of those.
PRICE_TIMES_QUANTITY_PER_CENT = 10**10
# cents / micros = 1e4 per unit, and rates are scaled by 1e8.
CENTS_PER_MICRO_AS_RATE = 10**12
IDLE_SHARE = 0.01  # a resource left idle all month still gets its line, with nothing consumed
CYCLE_DISCOUNT_SHARE = 0.02
CYCLE_DISCOUNT_PERCENT = 10
MONTHLY_GROWTH = 0.01
ZERO_RATE = rate_text(0)
_METER_NAMESPACE = uuid.UUID("0b7e4f7c-5a0e-4d3a-8f55-3f4f2f9c6a21")


def usage_layout() -> RowLayout:
    """The required columns plus ResellerMpnId, without the daily-detail extras."""
    return RowLayout(USAGE_RECON_COLUMNS, include_optional=("ResellerMpnId",))


@functools.cache
def resource_guid(resource_name: str, region: str) -> str:
    """Meter GUIDs are per meter and region, the same in every file."""
    return str(uuid.uuid5(_METER_NAMESPACE, f"{resource_name}/{region}"))


class _PricedTier(NamedTuple):  # a tuple: the row loop unpacks it in one step
    number: str  # DetailLineItemId
    price: int  # micros of the billing currency
    price_text: str
    discount_price: int  # negative
    discount_price_text: str
    up_to: int | None  # cumulative micros


@dataclass(frozen=True)
class _PricedMeter:
    """A meter's columns in CSV form and its prices in the billing currency."""

    fields: tuple[str, ...]  # METER_COLUMNS but ResourceGuid and Region, which depend on the region
    region: str | None
    resource_name: str
    busy_month_micros: int
    included_micros: int
    tiers: tuple[_PricedTier, ...]


def _priced(meter: Meter, terms: CurrencyTerms) -> _PricedMeter:
    tiers = []
    for number, tier in enumerate(meter.tiers, start=1):
        price = local_price(tier.list_price_micros, terms.per_100_usd)
        discount = -round_half_up(price * CYCLE_DISCOUNT_PERCENT, 100)
        tiers.append(
            _PricedTier(str(number), price, scaled_text(price, 6), discount, scaled_text(discount, 6), tier.up_to)
        )
    return _PricedMeter(
        fields=tuple(map(csv_field, (meter.service_name, meter.service_type, meter.resource_name, meter.unit))),
        region=meter.region,
        resource_name=meter.resource_name,
        busy_month_micros=meter.monthly_units * MICROS_PER_UNIT,
        included_micros=meter.included_micros,
        tiers=tuple(tiers),
    )


def _charge_columns(
    price_times_quantity: int, consumed: int, tax_basis_points: int
) -> tuple[int, int, tuple[str, ...]]:
    """Pretax and tax cents, and the texts of the CHARGE_COLUMNS."""
    pretax = round_half_up(price_times_quantity, PRICE_TIMES_QUANTITY_PER_CENT)
    tax = tax_cents(pretax, tax_basis_points)
    texts = (
        money_text(pretax),
        money_text(tax),
        money_text(pretax + tax),
        rate_text(effective_rate(pretax, consumed)),
        rate_text(effective_rate(pretax + tax, consumed)),
    )
    return pretax, tax, texts


def write_usage_file(
    path: Path,
    layout: RowLayout,
    partner: Partner,
    customers: list[Customer],
    month: BillingMonth,
    invoice_number: str,
    terms: CurrencyTerms,
    rng: random.Random,
) -> FileTotals:
    lines = _UsageLines(layout, terms, rng)
    charge_start = us_datetime(month.start)
    charge_end = us_datetime(month.end, 23, 59)
    with csv_file(path) as output:
        output.row(layout.header)
        for customer in customers:
            customer_template = layout.template(
                {
                    "PartnerId": partner.partner_id,
                    "PartnerName": partner.name,
                    "PartnerBillableAccountId": partner.billable_account_id,
                    "CustomerCompanyName": customer.name,
                    "MpnId": partner.mpn_id,
                    "ResellerMpnId": customer.reseller_mpn_id,
                    "InvoiceNumber": invoice_number,
                    "ChargeStartDate": charge_start,
                    "ChargeEndDate": charge_end,
                    "SubscriptionDescription": "Microsoft Azure",
                    "Sku": AZURE_SKU,
                    "Currency": terms.code,
                    "CustomerId": customer.customer_id,
                    "DomainName": customer.domain,
                    "BillingCycleType": "Monthly",
                }
            )
            month_factor = rng.uniform(0.85, 1.15) * (1 + MONTHLY_GROWTH * month.sequence)
            subscriptions = customer.azure_subscriptions
            share, extra = divmod(customer.usage_rows, len(subscriptions) or 1)
            for position, subscription in enumerate(subscriptions):
                template = layout.filled(
                    customer_template,
                    {
                        "SubscriptionId": subscription.subscription_id,
                        "SubscriptionName": subscription.nickname,
                        "OrderId": subscription.order_id,
                    },
                )
                rows = share + (1 if position < extra else 0)
                output.prepared_rows(islice(lines.of_subscription(template, subscription, month_factor), rows))
    return lines.totals


class _UsageLines:
    """Makes the lines of one file and keeps its totals: a line is counted as it is made,
    and only as many are made as the writer takes."""

    def __init__(self, layout: RowLayout, terms: CurrencyTerms, rng: random.Random) -> None:
        self.totals = FileTotals()
        self._priced_meters = [_priced(meter, terms) for meter in AZURE_METERS]
        self._meter_positions = layout.positions(METER_COLUMNS)
        self._line_positions = layout.positions(LINE_COLUMNS)
        self._charge_positions = layout.positions(CHARGE_COLUMNS)
        self._meter_fields: dict[tuple[int, str], tuple[str, ...]] = {}
        self._tax_basis_points = terms.tax_basis_points
        self._rng = rng

    def _meter_rows(self, template: list[str], subscription: AzureSubscription) -> list[tuple[_PricedMeter, list[str]]]:
        """The subscription's meters, each with a row template holding its METER_COLUMNS."""
        meters = []
        for index in subscription.meter_indexes:
            priced = self._priced_meters[index]
            region = priced.region or subscription.region
            key = (index, region)
            if key not in self._meter_fields:
                service, service_type, resource, unit = priced.fields
                guid = resource_guid(priced.resource_name, region)
                self._meter_fields[key] = (service, service_type, guid, resource, csv_field(region), unit)
            row = template.copy()
            for position, value in zip(self._meter_positions, self._meter_fields[key]):
                row[position] = value
            meters.append((priced, row))
        return meters

    def of_subscription(
        self, template: list[str], subscription: AzureSubscription, month_factor: float
    ) -> Iterator[list[str]]:
        """Endless: meter after meter, round again for as long as rows are taken."""
        at_tier, at_consumed, at_included, at_overage, at_price, at_charge_type = self._line_positions
        at_pretax, at_tax, at_post_tax, at_pretax_rate, at_post_tax_rate = self._charge_positions
        rng = self._rng
        tax_basis_points = self._tax_basis_points
        one_cent = PRICE_TIMES_QUANTITY_PER_CENT
        totals = self.totals
        scale = subscription.intensity * month_factor
        template = template.copy()
        template[at_charge_type] = USAGE_FEE
        meters = self._meter_rows(template, subscription)
        while True:
            for priced, meter_row in meters:
                busy = priced.busy_month_micros
                if rng.random() < IDLE_SHARE:
                    consumed = 0
                else:
                    consumed = min(busy, int(busy * scale * (0.7 + 0.6 * rng.random())))
                allowance = priced.included_micros
                tier_floor = 0
                for number, price, price_text, discount_price, discount_price_text, up_to in priced.tiers:
                    tier_top = consumed if up_to is None or consumed < up_to else up_to
                    portion = tier_top - tier_floor
                    row = meter_row.copy()
                    row[at_tier] = number
                    row[at_consumed] = consumed_text = quantity_text(portion)
                    row[at_price] = price_text
                    if allowance:
                        included = min(portion, allowance)
                        allowance -= included
                        overage = portion - included
                        row[at_included] = quantity_text(included)
                        row[at_overage] = quantity_text(overage)
                    else:  # most meters include nothing: spare formatting the same number twice
                        overage = portion
                        row[at_included] = "0"
                        row[at_overage] = consumed_text
                    # _charge_columns inlined, as this runs for every line. Nothing here is
                    # negative, so rounding n / d half up is (2n + d) // 2d.
                    pretax = (2 * price * overage + one_cent) // (2 * one_cent)
                    tax = (2 * pretax * tax_basis_points + BASIS_POINTS) // (2 * BASIS_POINTS)
                    post_tax = pretax + tax
                    row[at_pretax] = "%d.%02d" % divmod(pretax, CENTS_PER_UNIT)
                    row[at_tax] = "%d.%02d" % divmod(tax, CENTS_PER_UNIT)
                    row[at_post_tax] = "%d.%02d" % divmod(post_tax, CENTS_PER_UNIT)
                    if portion:
                        pretax_rate = (2 * pretax * CENTS_PER_MICRO_AS_RATE + portion) // (2 * portion)
                        post_tax_rate = (2 * post_tax * CENTS_PER_MICRO_AS_RATE + portion) // (2 * portion)
                        row[at_pretax_rate] = "%d.%08d" % divmod(pretax_rate, RATE_SCALE)
                        row[at_post_tax_rate] = "%d.%08d" % divmod(post_tax_rate, RATE_SCALE)
                    else:
                        row[at_pretax_rate] = row[at_post_tax_rate] = ZERO_RATE
                    totals.rows += 1
                    totals.pretax_cents += pretax
                    totals.tax_cents += tax
                    yield row
                    if pretax > 0 and rng.random() < CYCLE_DISCOUNT_SHARE:
                        yield self._cycle_discount(row, discount_price, discount_price_text, overage, portion)
                    if tier_top == consumed:
                        break
                    tier_floor = tier_top

    def _cycle_discount(
        self, charged: list[str], price: int, price_text: str, overage: int, consumed: int
    ) -> list[str]:
        """A line giving back part of the `charged` line: the same quantities at a negative price."""
        _, _, _, _, at_price, at_charge_type = self._line_positions
        row = charged.copy()
        row[at_price] = price_text
        row[at_charge_type] = CYCLE_DISCOUNT
        pretax, tax, texts = _charge_columns(price * overage, consumed, self._tax_basis_points)
        for position, text in zip(self._charge_positions, texts):
            row[position] = text
        self.totals.rows += 1
        self.totals.pretax_cents += pretax
        self.totals.tax_cents += tax
        return row
