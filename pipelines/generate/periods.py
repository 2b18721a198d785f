"""Billing months and the US date text Partner Center writes (`10/1/2026 0:00`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from pipelines.periods import BillingPeriod


def us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def us_datetime(day: date, hour: int = 0, minute: int = 0) -> str:
    return f"{day.month}/{day.day}/{day.year} {hour}:{minute:02d}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 -> Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class BillingMonth:
    period: BillingPeriod
    sequence: int  # 0 for the first generated month: drives the customers' slow growth

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end

    @property
    def days(self) -> int:
        return self.end.day

    @property
    def invoice_date(self) -> date:
        return add_months(self.start, 1)

    def day(self, number: int) -> date:
        return self.start.replace(day=number)


def billing_months(first: BillingPeriod, count: int) -> list[BillingMonth]:
    return [BillingMonth(first.shifted(sequence), sequence) for sequence in range(count)]
