"""The new-commerce invoice reconciliation file of one G-invoice (one billing currency).

Every line kind Partner Center writes (recon-formats.md §4, §9, §10): monthly and annual seats,
prorated first charges, addQuantity / removeQuantity refund + recharge pairs and the convert
triple sharing a ReferenceId, cancelImmediate refunds, Azure plan meters (two rows for one meter
when partner-earned credit applies for part of the month), Marketplace seats from third-party
publishers, a reservation, and customer credits. Seats are priced in the billing currency;
Azure, reservations and Marketplace in USD, converted at the month's PCToBCExchangeRate.
Subtotals follow Microsoft's truncation formulas (§4):
  usage:  ROUNDDOWN(ROUNDDOWN(EffectiveUnitPrice x BillableQuantity, 2) x FX, 2)
  seats:  ROUNDDOWN(EffectiveUnitPrice x FX, 2) x BillableQuantity
Volumes are small (a partner's NCE month is thousands of lines), so amounts are Decimals.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from pipelines.formats import NCE_RECON_COLUMNS
from pipelines.generate.book import Customer, LicenseSubscription, Partner, guid, pick
from pipelines.generate.catalog import AZURE_METERS, CurrencyTerms, Meter, Offer
from pipelines.generate.periods import BillingMonth, add_months, us_date
from pipelines.generate.writer import RowLayout, csv_file

CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.000001")
FX_PLACES = Decimal("0.000000001")  # Partner Center writes 9 decimals
PEC = Decimal("0.85")  # partner-earned credit: 15 % off Azure plan meters
PEC_DESCRIPTION = '["15.0% Partner earned credit for services managed"]'
PEC_PART_MONTH_SHARE = 0.2  # meters whose credit applied for part of the month only
MARKETPLACE = (  # third-party SaaS, priced in USD per seat per month
    ("Adobe Inc.", "adobe", "Adobe Acrobat Pro for teams", Decimal("22.99")),
    ("Zoom Video Communications", "zoomvideo", "Zoom One Business", Decimal("18.32")),
    ("Mimecast", "mimecast", "Mimecast Email Security", Decimal("4.15")),
)
RESERVATION = ("Reserved VM Instance, Standard_D2s_v3, EU West, 1 Year", Decimal("836.28"))
AZURE_PLAN_PRODUCT = "DZH318Z0BPS6"
# Optional columns the NCE file has carried since 2021; ProductCategory stays out (rarely seen).
OPTIONAL = (
    "ResellerMpnId",
    "CreditReasonCode",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ReferenceId",
    "ProductQualifiers",
    "PromotionId",
)
# The header's renamed form (Aug 2023): first letter lower-cased, these spelled as announced.
CAMEL_NAMES = {
    "Total": "totalForCustomer",
    "ResellerMpnId": "resellerMpnId",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
}
# Seat events beyond the recurring charges, in turn so a month holds every kind.
EVENTS = ("addQuantity", "removeQuantity", "new", "convert", "cancelImmediate")
_ID_NAMESPACE = uuid.UUID("3d0c5b8e-7f4a-4e7b-9c1d-2a6f8e4b5c71")


def nce_layout() -> RowLayout:
    return RowLayout(NCE_RECON_COLUMNS, include_optional=OPTIONAL)


def written_header(layout: RowLayout, header_form: str) -> list[str]:
    if header_form == "pascal":
        return list(layout.header)
    return [CAMEL_NAMES.get(name, name[0].lower() + name[1:]) for name in layout.header]


def rounddown(amount: Decimal) -> Decimal:
    """Excel's ROUNDDOWN(x, 2): towards zero."""
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def usage_subtotal(unit_price: Decimal, quantity: Decimal, fx: Decimal) -> Decimal:
    return rounddown(rounddown(unit_price * quantity) * fx)


def seat_subtotal(unit_price: Decimal, quantity: Decimal, fx: Decimal) -> Decimal:
    return rounddown(unit_price * fx) * quantity


def product_id(name: str) -> str:
    """A 12-character product id like CFQ7TTC0LH18, the same for the same product."""
    digits = uuid.uuid5(_ID_NAMESPACE, name).hex.upper()
    return "CFQ7TTC0" + "".join(c for c in digits if c.isalnum())[:4]


def exchange_rate(rng: random.Random, terms: CurrencyTerms) -> Decimal:
    """USD to the billing currency, 9 decimals; exactly 1 when billing in USD."""
    if terms.code == "USD":
        return Decimal(1)
    wiggle = Decimal(int(rng.random() * 20_000_000) - 10_000_000) / Decimal(10**9)
    return (Decimal(terms.per_100_usd) / 100 + wiggle).quantize(FX_PLACES)


@dataclass(frozen=True)
class AzurePlanLine:
    """One Azure plan line as written to the recon file: what its daily rated usage adds up to."""

    customer: Customer
    meter: Meter
    values: dict  # the line's recon values (ProductId, SkuId, AvailabilityId, SubscriptionId, ...)
    start: date
    end: date
    list_price: Decimal  # USD
    effective_price: Decimal  # USD, after partner-earned credit
    quantity: Decimal  # BillableQuantity
    exchange_rate: Decimal
    subtotal: Decimal  # billing currency, truncated to the cent as Microsoft does
    earned_credit: bool


@dataclass
class NceTotals:
    rows: int = 0
    charges: Decimal = Decimal("0.00")
    credits: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")

    @property
    def subtotal(self) -> Decimal:
        return self.charges + self.credits


def write_nce_file(
    path: Path,
    layout: RowLayout,
    header_form: str,
    partner: Partner,
    customers: list[Customer],
    month: BillingMonth,
    invoice_number: str,
    terms: CurrencyTerms,
    rng: random.Random,
    azure_lines: list[AzurePlanLine] | None = None,
) -> NceTotals:
    """`azure_lines`, when given, receives the file's Azure plan lines (for its daily rated usage)."""
    lines = _NceLines(partner, month, invoice_number, terms, rng, azure_lines)
    empty = layout.template({})
    with csv_file(path) as output:
        output.row(written_header(layout, header_form))
        output.prepared_rows(
            layout.filled(empty, values)
            for position, customer in enumerate(customers)
            for values in lines.of_customer(customer, position)
        )
    return lines.totals


def azure_plan_lines(
    partner: Partner, customers: list[Customer], month: BillingMonth, terms: CurrencyTerms, rng: random.Random
) -> list[AzurePlanLine]:
    """The Azure plan lines a month's recon file would hold (same stream, same lines), no file
    written: the consumption an unbilled daily file reports before the invoice exists."""
    found: list[AzurePlanLine] = []
    lines = _NceLines(partner, month, "", terms, rng, found)
    for position, customer in enumerate(customers):
        for _ in lines.of_customer(customer, position):
            pass
    return found


class _NceLines:
    def __init__(
        self,
        partner: Partner,
        month: BillingMonth,
        invoice_number: str,
        terms: CurrencyTerms,
        rng: random.Random,
        azure_lines: list[AzurePlanLine] | None = None,
    ) -> None:
        self.totals = NceTotals()
        self._azure_lines = azure_lines
        self._partner = partner
        self._month = month
        self._invoice = invoice_number
        self._terms = terms
        self._rng = rng
        self._fx = exchange_rate(rng, terms)
        # Thomson Reuters rate of two business days before the previous month's end (§10).
        self._fx_date = us_date(month.start - timedelta(days=3))
        self._tax_rate = Decimal(terms.tax_basis_points) / 10_000
        self._events = 0

    # -- one customer ------------------------------------------------------------------------

    def of_customer(self, customer: Customer, position: int):
        self._customer = customer
        base = {
            "PartnerId": self._partner.partner_id,
            "CustomerId": customer.customer_id,
            "CustomerName": customer.name,
            "CustomerDomainName": customer.domain,
            "CustomerCountry": "US" if self._terms.code == "USD" else "DE",
            "InvoiceNumber": self._invoice,
            "MpnId": self._partner.mpn_id,
            "ResellerMpnId": "0" if customer.reseller_mpn_id == "-1" else customer.reseller_mpn_id,
            "Currency": self._terms.code,
            "PriceAdjustmentDescription": "[]",
            "ProductQualifiers": "[]",
        }
        subscriptions = customer.license_subscriptions
        for subscription in subscriptions:
            yield from self._recurring(base, subscription)
        extra = max(0, customer.license_rows - len(subscriptions))
        while extra > 0 and subscriptions:
            event = EVENTS[self._events % len(EVENTS)]
            self._events += 1
            made = list(self._event(base, event, pick(self._rng, subscriptions)))
            extra -= len(made)
            yield from made
        for azure in customer.azure_subscriptions:
            yield from self._azure_plan(base, azure)
        special = position % 3
        if special == 0:
            yield from self._marketplace(base)
        elif special == 1:
            yield from self._reservation(base)
        if customer.azure_subscriptions and special == 2:
            yield from self._customer_credit(base, customer.azure_subscriptions[0].subscription_id)

    # -- line builders -------------------------------------------------------------------------

    def _line(self, base: dict, values: dict, subtotal: Decimal) -> dict:
        tax = (subtotal * self._tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        line = {
            **base,
            **values,
            "Subtotal": f"{subtotal:.2f}",
            "TaxTotal": f"{tax:.2f}",
            "Total": f"{subtotal + tax:.2f}",
            "OrderId": values.get("OrderId") or guid(self._rng).replace("-", "")[:12],
        }
        line.setdefault("AlternateId", line["OrderId"])
        line.setdefault("OrderDate", us_date(self._month.start))
        totals = self.totals
        totals.rows += 1
        totals.tax += tax
        if subtotal >= 0:
            totals.charges += subtotal
        else:
            totals.credits += subtotal
        return line

    def _seat_values(
        self,
        subscription: LicenseSubscription,
        charge_type: str,
        start: date,
        end: date,
        unit_price: Decimal,
        effective: Decimal,
        quantity: int,
        annual: bool,
    ) -> dict:
        term_start = self._term_start(subscription)
        return {
            "ProductId": product_id(subscription.offer.name),
            "SkuId": "0001",
            "AvailabilityId": product_id(f"{subscription.offer.name}/a"),
            "SkuName": subscription.offer.name,
            "ProductName": subscription.offer.name,
            "ChargeType": charge_type,
            "UnitPrice": str(unit_price),
            "Quantity": str(quantity),
            "PublisherName": "Microsoft Corporation",
            "PublisherId": "",
            "SubscriptionDescription": subscription.nickname,
            "SubscriptionId": subscription.syndication_number,
            "ChargeStartDate": us_date(start),
            "ChargeEndDate": us_date(end),
            "TermAndBillingCycle": "One-Year commitment for yearly billing"
            if annual
            else "One-Year commitment for monthly/yearly billing",
            "EffectiveUnitPrice": str(effective),
            "UnitType": "Licenses",
            "BillableQuantity": str(quantity),
            "BillingFrequency": "Annual" if annual else "Monthly",
            "PricingCurrency": self._terms.code,
            "PCToBCExchangeRate": "1",
            "PCToBCExchangeRateDate": self._fx_date,
            "MeterDescription": "",
            "ReservationOrderId": "",
            "SubscriptionStartDate": us_date(term_start),
            "SubscriptionEndDate": us_date(add_months(term_start, 12) - timedelta(days=1)),
            "OrderId": subscription.order_id[:12],
            "OrderDate": us_date(start),
        }

    def _term_start(self, subscription: LicenseSubscription) -> date:
        """The start of the yearly term running in this month (auto-renewed since purchase)."""
        years = self._month.start.year - subscription.started.year
        start = add_months(subscription.started, 12 * years)
        return add_months(start, -12) if start > self._month.end else start

    def _cycle(self, subscription: LicenseSubscription) -> tuple[date, date]:
        """The charge cycle that starts in this month, on the subscription's day (clamped)."""
        day = min(subscription.started.day, self._month.days)
        start = self._month.day(day)
        return start, add_months(start, 1) - timedelta(days=1)

    def _monthly_price(self, subscription: LicenseSubscription) -> Decimal:
        cents = subscription.offer.monthly_price_cents * self._terms.per_100_usd // 100
        return Decimal(cents) / 100

    def _recurring(self, base: dict, subscription: LicenseSubscription):
        price = self._monthly_price(subscription)
        start, end = self._cycle(subscription)
        anniversary = subscription.started.month == self._month.start.month
        if subscription.annual_billing:
            if not anniversary:
                return
            yearly = price * 12
            end = add_months(start, 12) - timedelta(days=1)
            values = self._seat_values(subscription, "renew", start, end, yearly, yearly, subscription.seats, True)
            yield self._line(base, values, seat_subtotal(yearly, Decimal(subscription.seats), Decimal(1)))
            return
        charge_type = "renew" if anniversary else "cycleCharge"
        values = self._seat_values(subscription, charge_type, start, end, price, price, subscription.seats, False)
        yield self._line(base, values, seat_subtotal(price, Decimal(subscription.seats), Decimal(1)))

    def _prorated(self, price: Decimal, start: date, end: date, cycle_start: date) -> Decimal:
        """UnitPrice / days of the cycle x days billed (§4), kept to 6 places."""
        cycle_days = (add_months(cycle_start, 1) - cycle_start).days
        return (price * ((end - start).days + 1) / cycle_days).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)

    def _event(self, base: dict, event: str, subscription: LicenseSubscription):
        rng = self._rng
        price = self._monthly_price(subscription)
        cycle_start, cycle_end = self._cycle(subscription)
        day = cycle_start + timedelta(days=1 + int(rng.random() * max(1, (cycle_end - cycle_start).days - 1)))
        day = min(day, cycle_end)
        effective = self._prorated(price, day, cycle_end, cycle_start)
        seats = subscription.seats
        reference = guid(rng)
        pair = {"ReferenceId": reference, "OrderDate": us_date(day)}

        def seat(charge_type: str, eup: Decimal, quantity: int, **more) -> dict:
            values = {
                **self._seat_values(subscription, charge_type, day, cycle_end, price, eup, quantity, False),
                **pair,
                **more,
            }
            return self._line(base, values, seat_subtotal(eup, Decimal(quantity), Decimal(1)))

        if event in ("addQuantity", "removeQuantity"):
            change = 1 + int(rng.random() * 3)
            after = seats + change if event == "addQuantity" else max(1, seats - change)
            yield seat(event, -effective, seats)  # refund of the remaining days at the old count
            yield seat(event, effective, after)  # recharge at the new count
        elif event == "new":
            # A subscription bought mid-cycle, coterminous with the others: a prorated first charge.
            quantity = 1 + int(rng.random() * 5)
            yield seat(
                "new",
                effective,
                quantity,
                SubscriptionStartDate=us_date(day),
                ReferenceId="",
                PromotionId=f"{product_id(subscription.offer.name)}:0001:39NFJQT1Q5KL" if rng.random() < 0.5 else "",
            )
        elif event == "convert":
            # Upgrade of some seats: the base charge, the base refund, the new product's charge (§10).
            moved = max(1, seats // 2)
            yield seat("cycleCharge", price, seats, ReferenceId="")
            yield seat("convert", -effective, moved)
            upgrade = Offer(f"{subscription.offer.name} (upgrade)", subscription.offer.monthly_price_cents * 3 // 2)
            target = subscription._replace(
                offer=upgrade, syndication_number=str(uuid.uuid5(_ID_NAMESPACE, subscription.syndication_number))
            )
            upgraded_price = self._monthly_price(target)
            upgraded = self._prorated(upgraded_price, day, cycle_end, cycle_start)
            values = {
                **self._seat_values(target, "convert", day, cycle_end, upgraded_price, upgraded, moved, False),
                **pair,
            }
            yield self._line(base, values, seat_subtotal(upgraded, Decimal(moved), Decimal(1)))
        else:  # cancelImmediate: the unused days refunded
            yield seat("cancelImmediate", -effective, seats, ReferenceId="")

    def _azure_values(
        self,
        azure,
        meter,
        start: date,
        end: date,
        effective: Decimal,
        list_price: Decimal,
        quantity: Decimal,
        description: str,
    ) -> dict:
        return {
            "ProductId": AZURE_PLAN_PRODUCT,
            "SkuId": "0001",
            "AvailabilityId": product_id(f"azure/{meter.resource_name}"),
            "SkuName": f"{meter.resource_name} - {azure.region}",
            "ProductName": meter.service_name,
            "ChargeType": "new",
            "UnitPrice": str(list_price),
            "Quantity": "1",
            "PriceAdjustmentDescription": description,
            "PublisherName": "Microsoft",
            "PublisherId": "",
            "SubscriptionDescription": "Azure plan",
            "SubscriptionId": azure.subscription_id,
            "ChargeStartDate": us_date(start),
            "ChargeEndDate": us_date(end),
            "TermAndBillingCycle": "",
            "EffectiveUnitPrice": str(effective),
            "UnitType": meter.unit,
            "BillableQuantity": str(quantity),
            "BillingFrequency": "",
            "PricingCurrency": "USD",
            "PCToBCExchangeRate": str(self._fx),
            "PCToBCExchangeRateDate": self._fx_date,
            "MeterDescription": f"{meter.service_name} - {meter.service_type} - {meter.resource_name}",
            "ReservationOrderId": "",
            "OrderId": azure.order_id[:12],
            "SubscriptionStartDate": "",
            "SubscriptionEndDate": "",
        }

    def _azure_plan(self, base: dict, azure):
        month, rng = self._month, self._rng
        for index in azure.meter_indexes:
            meter = AZURE_METERS[index]
            list_price = Decimal(meter.tiers[0].list_price_micros) / 1_000_000
            consumed = (
                Decimal(int(meter.monthly_units * azure.intensity * rng.uniform(0.5, 1.2) * 1_000_000)) / 1_000_000
            )
            if rng.random() < PEC_PART_MONTH_SHARE:
                # Credit lost mid-month (the partner's admin access removed): two rows for one meter.
                switch = month.day(2 + int(rng.random() * (month.days - 2)))
                share = Decimal((switch - month.start).days) / month.days
                before = (consumed * share).quantize(PRICE_PLACES)
                parts = [
                    (month.start, switch - timedelta(days=1), list_price * PEC, before, PEC_DESCRIPTION),
                    (switch, month.end, list_price, consumed - before, "[]"),
                ]
            else:
                parts = [(month.start, month.end, list_price * PEC, consumed, PEC_DESCRIPTION)]
            for start, end, effective, quantity, description in parts:
                values = self._azure_values(
                    azure, meter, start, end, effective.normalize(), list_price, quantity.normalize(), description
                )
                subtotal = usage_subtotal(effective, quantity, self._fx)
                if self._azure_lines is not None:
                    self._azure_lines.append(
                        AzurePlanLine(
                            self._customer,
                            meter,
                            values,
                            start,
                            end,
                            list_price,
                            effective.normalize(),
                            quantity.normalize(),
                            self._fx,
                            subtotal,
                            description == PEC_DESCRIPTION,
                        )
                    )
                yield self._line(base, values, subtotal)

    def _marketplace(self, base: dict):
        publisher, publisher_id, product, price = pick(self._rng, MARKETPLACE)
        seats = 1 + int(self._rng.random() * 20)
        start, end = self._month.start, self._month.end
        values = {
            "ProductId": product_id(product),
            "SkuId": "0001",
            "AvailabilityId": product_id(f"{product}/a"),
            "SkuName": product,
            "ProductName": product,
            "ChargeType": "cycleCharge",
            "UnitPrice": str(price),
            "Quantity": str(seats),
            "PublisherName": publisher,
            "PublisherId": publisher_id,
            "SubscriptionDescription": product,
            "SubscriptionId": guid(self._rng),
            "ChargeStartDate": us_date(start),
            "ChargeEndDate": us_date(end),
            "TermAndBillingCycle": "1 Month Subscription",
            "EffectiveUnitPrice": str(price),
            "UnitType": "Seat",
            "BillableQuantity": str(seats),
            "BillingFrequency": "Monthly",
            "PricingCurrency": "USD",
            "PCToBCExchangeRate": str(self._fx),
            "PCToBCExchangeRateDate": self._fx_date,
            "MeterDescription": "",
            "ReservationOrderId": "",
            "SubscriptionStartDate": us_date(start),
            "SubscriptionEndDate": us_date(end),
        }
        yield self._line(base, values, seat_subtotal(price, Decimal(seats), self._fx))

    def _reservation(self, base: dict):
        name, monthly = RESERVATION
        start, end = self._month.start, self._month.end
        values = {
            "ProductId": "DZH318Z0BQ3Q",
            "SkuId": "00DX",
            "AvailabilityId": product_id("reservation/a"),
            "SkuName": name,
            "ProductName": "Virtual Machines DSv3 Series",
            "ChargeType": "cycleCharge",
            "UnitPrice": str(monthly),
            "Quantity": "1",
            "PublisherName": "Microsoft",
            "PublisherId": "",
            "SubscriptionDescription": name,
            "SubscriptionId": guid(self._rng),
            "ChargeStartDate": us_date(start),
            "ChargeEndDate": us_date(end),
            "TermAndBillingCycle": "1 Year Reservation, billed monthly",
            "EffectiveUnitPrice": str(monthly),
            "UnitType": "1 Hour",
            "BillableQuantity": "1",
            "BillingFrequency": "Monthly",
            "PricingCurrency": "USD",
            "PCToBCExchangeRate": str(self._fx),
            "PCToBCExchangeRateDate": self._fx_date,
            "MeterDescription": "",
            "ReservationOrderId": "RIOderId" + guid(self._rng),
            "SubscriptionStartDate": us_date(start),
            "SubscriptionEndDate": us_date(add_months(start, 12) - timedelta(days=1)),
        }
        yield self._line(base, values, seat_subtotal(monthly, Decimal(1), self._fx))

    def _customer_credit(self, base: dict, subscription_id: str):
        amount = Decimal(10 + int(self._rng.random() * 90))
        values = {
            "ProductId": AZURE_PLAN_PRODUCT,
            "SkuId": "0001",
            "AvailabilityId": product_id("credit/a"),
            "SkuName": "Azure plan",
            "ProductName": "Azure plan",
            "ChargeType": "customerCredit",
            "UnitPrice": str(-amount),
            "Quantity": "1",
            "PublisherName": "Microsoft",
            "PublisherId": "",
            "SubscriptionDescription": "Azure plan",
            "SubscriptionId": subscription_id,
            "ChargeStartDate": us_date(self._month.start),
            "ChargeEndDate": us_date(self._month.end),
            "TermAndBillingCycle": "",
            "EffectiveUnitPrice": str(-amount),
            "UnitType": "",
            "BillableQuantity": "1",
            "BillingFrequency": "",
            "PricingCurrency": "USD",
            "PCToBCExchangeRate": str(self._fx),
            "PCToBCExchangeRateDate": self._fx_date,
            "MeterDescription": "",
            "ReservationOrderId": "",
            "CreditReasonCode": "Azure Credit Offer",
            "SubscriptionStartDate": "",
            "SubscriptionEndDate": "",
        }
        yield self._line(base, values, usage_subtotal(-amount, Decimal(1), self._fx))
