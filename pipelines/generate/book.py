"""The partner's customer book: customers, their currency and their subscriptions.

Built once per run from the seed, so every generated month bills the same customers and
subscriptions (month-over-month trends make sense). Each customer's identity comes from its
own random stream: a customer keeps its id and name whatever the row counts asked for.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple, TypeVar

from pipelines.generate.catalog import (
    AZURE_METERS,
    AZURE_WORKLOADS,
    CUSTOMER_NAMES,
    NAME_FORMS,
    NAME_STEMS,
    OFFERS,
    PARTNER_NAME,
    SUBSCRIPTION_NICKNAMES,
    Offer,
    currency_terms,
)

# A new subscription's first license rows are its cycle fees; about a third more rows are
# seat changes and cancellations, so there are fewer subscriptions than rows.
LICENSE_ROWS_PER_SUBSCRIPTION = 1.4
# An Azure subscription runs one workload of 8-10 meters, some of them tiered: about ten lines
# a month, so its meters rarely come round twice.
USAGE_ROWS_PER_SUBSCRIPTION = 10
EARLIEST_START = date(2019, 1, 1)
START_SPAN_DAYS = 7 * 365
ANNUAL_BILLING_SHARE = 0.15
MAX_SEATS = 60
T = TypeVar("T")
_GUID_FIXED_BITS = 0xF000 << 64 | 0xC000 << 48
_GUID_VERSION_4 = 0x4000 << 64 | 0x8000 << 48
_METER_INDEX = {meter.resource_name: index for index, meter in enumerate(AZURE_METERS)}
_WORKLOAD_METERS = tuple(tuple(sorted(_METER_INDEX[resource] for resource in workload)) for workload in AZURE_WORKLOADS)
# Offer ids are fixed per offer, like the price list's; uuid5 keeps them stable and real-looking.
_OFFER_NAMESPACE = uuid.UUID("6f1c9d1e-2b7a-4c55-9a43-0c1f5e2d8b10")
_OFFER_IDS = {offer.name: str(uuid.uuid5(_OFFER_NAMESPACE, f"offer/{offer.name}")).upper() for offer in OFFERS}
_DURABLE_OFFER_IDS = {
    offer.name: str(uuid.uuid5(_OFFER_NAMESPACE, f"durable/{offer.name}")).upper() for offer in OFFERS
}


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    billable_account_id: str
    mpn_id: str


# Subscriptions are NamedTuples, not frozen dataclasses: a benchmark book makes hundreds of
# thousands, and a frozen dataclass takes four times as long to create.
class LicenseSubscription(NamedTuple):
    subscription_id: str  # the billing platform's id
    syndication_number: str  # the Partner Center subscription GUID
    order_id: str
    offer: Offer
    offer_id: str
    durable_offer_id: str
    nickname: str
    started: date
    annual_billing: bool
    seats: int


class AzureSubscription(NamedTuple):
    subscription_id: str
    order_id: str
    nickname: str
    region: str
    meter_indexes: tuple[int, ...]  # into catalog.AZURE_METERS, in catalog order
    intensity: float  # share of a busy subscription's consumption


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    domain: str
    currency: str
    reseller_mpn_id: str
    license_subscriptions: tuple[LicenseSubscription, ...]
    azure_subscriptions: tuple[AzureSubscription, ...]
    license_rows: int  # per month
    usage_rows: int  # per month


@dataclass(frozen=True)
class Book:
    partner: Partner
    customers: tuple[Customer, ...]

    def customers_billed_in(self, currency: str) -> list[Customer]:
        return [customer for customer in self.customers if customer.currency == currency]


# A 2,000,000-row benchmark book holds ~300,000 subscriptions: the helpers below draw with a
# single random() or getrandbits() call, where randint, choice and uuid.UUID cost microseconds.


def pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def guid(rng: random.Random) -> str:
    """A random GUID in lower case, with the version (4) and variant bits uuid4 has."""
    bits = rng.getrandbits(128) & ~_GUID_FIXED_BITS | _GUID_VERSION_4
    digits = "%032x" % bits
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def order_id(rng: random.Random) -> str:
    """18 digits, like Partner Center's order ids."""
    return str(10**17 + rng.getrandbits(64) % (9 * 10**17))


def split_rows(total: int, weights: list[int]) -> list[int]:
    """`total` rows shared in proportion to `weights`, every share at least one row while rows
    last; leftovers go to the largest remainders, ties to the earlier share."""
    if total < len(weights):
        return [1 if index < total else 0 for index in range(len(weights))]
    spare = total - len(weights)
    weight_sum = sum(weights)
    shares = [spare * weight // weight_sum for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda index: (-(spare * weights[index] % weight_sum), index))
    for index in by_remainder[: spare - sum(shares)]:
        shares[index] += 1
    return [1 + share for share in shares]


def customer_name(index: int) -> str:
    if index < len(CUSTOMER_NAMES):
        return CUSTOMER_NAMES[index]
    composed = index - len(CUSTOMER_NAMES)
    combinations = len(NAME_STEMS) * len(NAME_FORMS)
    stem, form = divmod(composed % combinations, len(NAME_FORMS))
    name = f"{NAME_STEMS[stem]} {NAME_FORMS[form]}"
    return name if composed < combinations else f"{name} {composed // combinations + 1}"


# Letters NFKD does not decompose into ASCII.
_ASCII_SPELLING = str.maketrans(
    {"Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Þ": "Th", "þ": "th", "Ł": "L", "ł": "l", "ß": "ss", "đ": "d"}
)


def tenant_domain(name: str, index: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.translate(_ASCII_SPELLING)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]", "", ascii_name.lower())[:24]
    return f"{slug}{index + 1 if index >= len(CUSTOMER_NAMES) else ''}.onmicrosoft.com"


def build_book(
    seed: int,
    customer_count: int,
    currencies: tuple[str, ...],
    license_rows: int,
    usage_rows: int,
    first_month: date,
    indirect: bool,
) -> Book:
    partner_rng = random.Random(f"{seed}/partner")
    partner = Partner(
        partner_id=guid(partner_rng),
        name=PARTNER_NAME,
        billable_account_id=str(partner_rng.randrange(10**9, 10**10)),
        mpn_id=str(partner_rng.randrange(10**6, 10**7)),
    )
    resellers = [str(partner_rng.randrange(10**6, 10**7)) for _ in range(4)]

    identity_rngs = [random.Random(f"{seed}/customer/{index}") for index in range(customer_count)]
    sizes = [rng.choice((1, 1, 2, 3, 5, 8)) for rng in identity_rngs]
    license_quota: dict[int, int] = {}
    usage_quota: dict[int, int] = {}
    for position, _currency in enumerate(currencies):
        # Customers bill round-robin over the currencies, each in exactly one.
        members = list(range(position, customer_count, len(currencies)))
        weights = [sizes[index] for index in members]
        license_quota.update(zip(members, split_rows(license_rows, weights)))
        usage_quota.update(zip(members, split_rows(usage_rows, weights)))

    customers = []
    for index, identity in enumerate(identity_rngs):
        currency = currencies[index % len(currencies)]
        name = customer_name(index)
        customer_id = guid(identity)
        reseller = identity.choice(resellers + ["-1"])
        subscriptions_rng = random.Random(f"{seed}/customer/{index}/subscriptions")
        customers.append(
            Customer(
                customer_id=customer_id,
                name=name,
                domain=tenant_domain(name, index),
                currency=currency,
                reseller_mpn_id=reseller if indirect else "-1",
                license_subscriptions=_license_subscriptions(subscriptions_rng, license_quota[index], first_month),
                azure_subscriptions=_azure_subscriptions(subscriptions_rng, usage_quota[index], currency),
                license_rows=license_quota[index],
                usage_rows=usage_quota[index],
            )
        )
    return Book(partner, tuple(customers))


def _license_subscriptions(rng: random.Random, rows: int, first_month: date) -> tuple[LicenseSubscription, ...]:
    count = math.ceil(rows / LICENSE_ROWS_PER_SUBSCRIPTION)
    subscriptions = []
    for _ in range(count):
        offer = pick(rng, OFFERS)
        # Independent of the first month, so months generated in separate runs agree; only a
        # subscription that would start after its first bill starts shortly before instead.
        # Both are always drawn so the ids that follow do not depend on the first month.
        started = EARLIEST_START + timedelta(days=int(rng.random() * START_SPAN_DAYS))
        recently = first_month - timedelta(days=1 + int(rng.random() * 365))
        nickname = pick(rng, SUBSCRIPTION_NICKNAMES)
        subscriptions.append(
            LicenseSubscription(
                subscription_id=guid(rng),
                syndication_number=guid(rng),
                order_id=order_id(rng),
                offer=offer,
                offer_id=_OFFER_IDS[offer.name],
                durable_offer_id=_DURABLE_OFFER_IDS[offer.name],
                nickname=offer.name if rng.random() < 0.7 else f"{offer.name} ({nickname})",
                started=started if started < first_month else recently,
                annual_billing=rng.random() < ANNUAL_BILLING_SHARE,
                seats=1 + int(rng.random() ** 3 * MAX_SEATS),  # mostly small
            )
        )
    return tuple(subscriptions)


def _azure_subscriptions(rng: random.Random, rows: int, currency: str) -> tuple[AzureSubscription, ...]:
    regions = currency_terms(currency).regions
    count = math.ceil(rows / USAGE_ROWS_PER_SUBSCRIPTION)
    subscriptions = []
    for _ in range(count):
        subscriptions.append(
            AzureSubscription(
                subscription_id=guid(rng),
                order_id=order_id(rng),
                nickname=f"Azure - {pick(rng, SUBSCRIPTION_NICKNAMES)}",
                region=pick(rng, regions),
                meter_indexes=pick(rng, _WORKLOAD_METERS),
                intensity=rng.uniform(0.05, 1.0),
            )
        )
    return tuple(subscriptions)
