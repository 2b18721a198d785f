"""Billing months and the US date text Partner Center writes (`10/1/2026 0:00`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from pipelines.periods import validate_period


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
    start: date
    end: date
    sequence: int  # 0 for the first generated month: drives the customers' slow growth

    @property
    def period(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return self.end.day

    @property
    def invoice_date(self) -> date:
        return add_months(self.start, 1)

    def day(self, number: int) -> date:
        return self.start.replace(day=number)


def billing_months(first_period: str, count: int) -> list[BillingMonth]:
    year, month = (int(part) for part in validate_period(first_period).split("-"))
    months = []
    for sequence in range(count):
        start = add_months(date(year, month, 1), sequence)
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        months.append(BillingMonth(start, end, sequence))
    return months
