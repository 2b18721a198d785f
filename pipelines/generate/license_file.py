"""The legacy license-based reconciliation file of one currency for one month.

Each subscription bills its cycle fee (renew fee in its anniversary month; annually billed
subscriptions only then, for the year). The rest of a customer's rows are seat changes and
cancellations: prorated charges for part of the month, and credits carried by a negative
UnitPrice with a positive Quantity, as Partner Center writes them.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

from pipelines.formats import LICENSE_RECON_COLUMNS
from pipelines.generate.amounts import FileTotals, local_price, money_text, round_half_up, scaled_text, tax_cents
from pipelines.generate.book import Customer, LicenseSubscription, Partner, pick
from pipelines.generate.catalog import (
    CANCEL_FEE,
    CYCLE_FEE,
    CYCLE_INSTANCE_PRORATE,
    OFFERS,
    PRORATE_CANCEL,
    PRORATE_PURCHASE,
    RENEW_FEE,
    CurrencyTerms,
)
from pipelines.generate.periods import BillingMonth, add_months, us_date, us_datetime
from pipelines.generate.writer import RowLayout, csv_file

CHARGE_COLUMNS = (
    "ChargeStartDate",
    "ChargeEndDate",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Amount",
    "TotalOtherDiscount",
    "Subtotal",
    "Tax",
    "TotalForCustomer",
)
UNIT_PRICE_PLACES = 4  # prorated unit prices carry 4 decimals, like Partner Center's
UNIT_PRICE_STEPS_PER_CENT = 10 ** (UNIT_PRICE_PLACES - 2)
DISCOUNT_SHARE = 0.06
DISCOUNT_PERCENTS = (5, 10, 15)
SEAT_DRIFT = (0, 0, 0, 0, 1, -1, 2, 3)
# Seat changes and cancellations, weighted by how often they happen.
EVENTS = (PRORATE_PURCHASE,) * 7 + (PRORATE_CANCEL,) * 5 + (CYCLE_INSTANCE_PRORATE,) * 4 + (CANCEL_FEE,) * 4


def license_layout(indirect: bool) -> RowLayout:
    """Direct partners' 27 columns; indirect providers also get ResellerMpnId."""
    return RowLayout(LICENSE_RECON_COLUMNS, include_optional=("ResellerMpnId",) if indirect else ())


class _Charge(NamedTuple):
    subscription: int  # position in the customer's subscriptions
    charge_start: str
    charge_end: str
    charge_type: str
    unit_price: int  # in 1e-4, negative on credits
    quantity: int


def write_license_file(
    path: Path,
    layout: RowLayout,
    partner: Partner,
    customers: list[Customer],
    month: BillingMonth,
    terms: CurrencyTerms,
    rng: random.Random,
) -> FileTotals:
    lines = _LicenseLines(layout, month, terms, rng)
    with csv_file(path) as output:
        output.row(layout.header)
        for customer in customers:
            customer_template = layout.template(
                {
                    "PartnerId": partner.partner_id,
                    "CustomerId": customer.customer_id,
                    "CustomerName": customer.name,
                    "MpnId": partner.mpn_id,
                    "ResellerMpnId": customer.reseller_mpn_id,
                    "Currency": terms.code,
                    "DomainName": customer.domain,
                }
            )
            output.prepared_rows(lines.of_customer(customer_template, customer))
    return lines.totals


class _LicenseLines:
    """Makes the lines of one file and keeps its totals."""

    def __init__(self, layout: RowLayout, month: BillingMonth, terms: CurrencyTerms, rng: random.Random) -> None:
        self.totals = FileTotals()
        self._layout = layout
        self._charge_positions = layout.positions(CHARGE_COLUMNS)
        self._month = month
        self._tax_basis_points = terms.tax_basis_points
        self._rng = rng
        # Made once per file: every line has a charge period and a price.
        self._day_starts = {day: us_datetime(month.day(day)) for day in range(1, month.days + 1)}
        self._month_end = us_datetime(month.end, 23, 59)
        self._year_end = us_datetime(add_months(month.start, 12) - timedelta(days=1), 23, 59)
        self._unit_price_texts: dict[int, str] = {}
        self._monthly_prices = {
            offer.name: local_price(offer.monthly_price_cents, terms.per_100_usd) * UNIT_PRICE_STEPS_PER_CENT
            for offer in OFFERS
        }

    def of_customer(self, customer_template: list[str], customer: Customer) -> Iterator[list[str]]:
        at_start, at_end, at_type, at_unit_price, at_quantity, at_amount, at_discount, at_subtotal, at_tax, at_total = (
            self._charge_positions
        )
        templates: dict[int, list[str]] = {}
        # Few distinct prices: the offers' monthly prices and their prorations by day.
        unit_price_texts = self._unit_price_texts
        rng = self._rng
        totals = self.totals
        for charge in self._charges(customer):
            if charge.subscription not in templates:
                subscription = customer.license_subscriptions[charge.subscription]
                values = _subscription_values(subscription, self._month)
                templates[charge.subscription] = self._layout.filled(customer_template, values)
            if charge.unit_price not in unit_price_texts:
                unit_price_texts[charge.unit_price] = scaled_text(charge.unit_price, UNIT_PRICE_PLACES, min_places=2)
            amount = round_half_up(charge.unit_price * charge.quantity, UNIT_PRICE_STEPS_PER_CENT)
            subtotal = amount - _discount(amount, rng)
            tax = tax_cents(subtotal, self._tax_basis_points)
            row = templates[charge.subscription].copy()
            row[at_start] = charge.charge_start
            row[at_end] = charge.charge_end
            row[at_type] = charge.charge_type
            row[at_unit_price] = unit_price_texts[charge.unit_price]
            row[at_quantity] = str(charge.quantity)
            row[at_amount] = money_text(amount)
            row[at_discount] = money_text(amount - subtotal)
            row[at_subtotal] = money_text(subtotal)
            row[at_tax] = money_text(tax)
            row[at_total] = money_text(subtotal + tax)
            totals.rows += 1
            totals.pretax_cents += subtotal
            totals.tax_cents += tax
            yield row

    def _charges(self, customer: Customer) -> Iterator[_Charge]:
        """Exactly customer.license_rows charges: the recurring ones, then seat changes."""
        subscriptions = customer.license_subscriptions
        rows_left = customer.license_rows
        for position, subscription in enumerate(subscriptions):
            charge = self._recurring_charge(position, subscription)
            if charge is not None:
                rows_left -= 1
                yield charge
        for _ in range(rows_left):
            position = int(self._rng.random() * len(subscriptions))
            yield self._seat_change(position, subscriptions[position])

    def _recurring_charge(self, position: int, subscription: LicenseSubscription) -> _Charge | None:
        anniversary = subscription.started.month == self._month.start.month
        if subscription.annual_billing and not anniversary:
            return None
        # Seat counts drift a little from month to month.
        seats = max(1, subscription.seats + pick(self._rng, SEAT_DRIFT))
        price = self._monthly_prices[subscription.offer.name]
        month_start = self._day_starts[1]
        if subscription.annual_billing:
            return _Charge(position, month_start, self._year_end, RENEW_FEE, price * 12, seats)
        charge_type = RENEW_FEE if anniversary else CYCLE_FEE
        return _Charge(position, month_start, self._month_end, charge_type, price, seats)

    def _seat_change(self, position: int, subscription: LicenseSubscription) -> _Charge:
        rng = self._rng
        days = self._month.days
        charge_type = pick(rng, EVENTS)
        first_day = 2 + int(rng.random() * (days - 1))
        prorated = round_half_up(self._monthly_prices[subscription.offer.name] * (days - first_day + 1), days)
        seats_changed = 1 + int(rng.random() * min(5, subscription.seats))
        unit_price, quantity = {
            PRORATE_PURCHASE: (prorated, seats_changed),
            CYCLE_INSTANCE_PRORATE: (prorated, subscription.seats),
            PRORATE_CANCEL: (-prorated, seats_changed),
            CANCEL_FEE: (-prorated, subscription.seats),
        }[charge_type]
        return _Charge(position, self._day_starts[first_day], self._month_end, charge_type, unit_price, quantity)


def _discount(amount_cents: int, rng: random.Random) -> int:
    # Drawn for every row, so the random stream does not depend on the amounts.
    percent = pick(rng, DISCOUNT_PERCENTS) if rng.random() < DISCOUNT_SHARE else 0
    if amount_cents <= 0:
        return 0
    return round_half_up(amount_cents * percent, 100)


def _subscription_values(subscription: LicenseSubscription, month: BillingMonth) -> dict[str, str]:
    return {
        "OrderId": subscription.order_id,
        "SubscriptionId": subscription.subscription_id,
        "SyndicationPartnerSubscriptionNumber": subscription.syndication_number,
        "OfferId": subscription.offer_id,
        "DurableOfferId": subscription.durable_offer_id,
        "OfferName": subscription.offer.name,
        "SubscriptionStartDate": us_date(subscription.started),
        "SubscriptionEndDate": us_date(_term_end(subscription, month)),
        "SubscriptionName": subscription.nickname,
        "SubscriptionDescription": subscription.offer.name,
        "BillingCycleType": "Annual" if subscription.annual_billing else "Monthly",
    }


def _term_end(subscription: LicenseSubscription, month: BillingMonth) -> date:
    """The last day of the yearly term running at the end of the month."""
    anniversary = _anniversary(subscription.started, month.end.year)
    if anniversary <= month.end:
        anniversary = _anniversary(subscription.started, month.end.year + 1)
    return anniversary - timedelta(days=1)


def _anniversary(started: date, year: int) -> date:
    if started.month == 2 and started.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return started.replace(year=year)
