"""A billing period's arithmetic, against calendar facts written out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.periods import BillingPeriod, months_between
from pipelines.quality.report_html import history_window


def test_a_period_is_its_key_and_its_first_day():
    period = BillingPeriod.parse("2026-10")
    assert (period.key, str(period), period.start) == ("2026-10", "2026-10", date(2026, 10, 1))
    assert BillingPeriod.parse("2026-02").start == date(2026, 2, 1)
    assert BillingPeriod.containing(date(2026, 10, 31)) == period


@pytest.mark.parametrize(
    ("key", "last_day", "next_start"),
    [
        ("2026-01", date(2026, 1, 31), date(2026, 2, 1)),
        ("2026-02", date(2026, 2, 28), date(2026, 3, 1)),
        ("2028-02", date(2028, 2, 29), date(2028, 3, 1)),  # a leap year
        ("2100-02", date(2100, 2, 28), date(2100, 3, 1)),  # a century, not a leap year
        ("2026-04", date(2026, 4, 30), date(2026, 5, 1)),
        ("2026-12", date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_a_period_ends_on_its_last_calendar_day(key, last_day, next_start):
    period = BillingPeriod.parse(key)
    assert (period.end, period.next_start) == (last_day, next_start)


def test_periods_shift_across_years_both_ways():
    december = BillingPeriod.parse("2026-12")
    assert december.shifted(1).key == "2027-01"
    assert december.shifted(-12).key == "2025-12"
    assert december.shifted(-13).key == "2025-11"
    assert december.shifted(25).key == "2029-01"
    assert BillingPeriod.parse("2026-01").shifted(-1).key == "2025-12"


def test_ranges_of_months_include_both_ends_and_cross_years():
    def keys(first: str, last: str) -> list[str]:
        return [period.key for period in months_between(BillingPeriod.parse(first), BillingPeriod.parse(last))]

    assert keys("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert keys("2026-10", "2026-10") == ["2026-10"]
    with pytest.raises(ValueError, match="2027-01 is after 2026-12: give the earlier month first"):
        keys("2027-01", "2026-12")


def test_the_report_history_is_the_months_ending_with_the_period_oldest_first():
    january = BillingPeriod.parse("2027-01")
    assert history_window(january, 3) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert history_window(january, 1) == [date(2027, 1, 1)]


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-10", "2026/10", "2026-1", ""])
def test_a_key_that_is_no_month_is_refused_with_how_to_write_it(bad):
    with pytest.raises(ValueError, match="is not a billing month: write it as YYYY-MM"):
        BillingPeriod.parse(bad)


def test_a_period_starts_on_the_first():
    with pytest.raises(ValueError, match="starts on the first of a month"):
        BillingPeriod(date(2026, 10, 15))
