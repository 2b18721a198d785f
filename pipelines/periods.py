"""A billing period: one invoice month, the value every month travels as inside the library.

At the edges it is its key, `YYYY-MM` (CLI flags, partition keys, run tags, month folders, Dagster
run config), parsed once there with `BillingPeriod.parse`; in the warehouse it is its first day,
`period.start`, in every `billing_period` column. The month arithmetic lives here alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

PERIOD_KEY_FORMAT = "%Y-%m"
PERIOD_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def validate_period(period: str) -> str:
    if not PERIOD_PATTERN.match(period):
        raise ValueError(f"'{period}' is not a billing month: write it as YYYY-MM, e.g. 2026-10.")
    return period


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """One invoice month, by its first day."""

    start: date

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"a billing period starts on the first of a month, not on {self.start:%Y-%m-%d}")

    @classmethod
    def parse(cls, key: str) -> BillingPeriod:
        """The period of a `YYYY-MM` key; a sentence saying how to write it otherwise."""
        validate_period(key)
        return cls(date(int(key[:4]), int(key[5:]), 1))

    @classmethod
    def containing(cls, day: date) -> BillingPeriod:
        return cls(day.replace(day=1))

    @property
    def key(self) -> str:
        return self.start.strftime(PERIOD_KEY_FORMAT)

    @property
    def next_start(self) -> date:
        """The first day of the following month: a charge in the period is before it."""
        return self.shifted(1).start

    @property
    def end(self) -> date:
        """The period's last day."""
        return self.next_start - timedelta(days=1)

    def shifted(self, months: int) -> BillingPeriod:
        """The period `months` later (earlier when negative)."""
        year, month_index = divmod(self.start.year * 12 + self.start.month - 1 + months, 12)
        return BillingPeriod(date(year, month_index + 1, 1))

    def __str__(self) -> str:
        return self.key


def months_between(first: BillingPeriod, last: BillingPeriod) -> list[BillingPeriod]:
    """The periods from `first` to `last`, both included."""
    if first > last:
        raise ValueError(f"{first} is after {last}: give the earlier month first.")
    periods, period = [], first
    while period <= last:
        periods.append(period)
        period = period.shifted(1)
    return periods
