"""Monthly partitions: one partition is one invoice month, keyed `YYYY-MM`."""

from __future__ import annotations

from datetime import date

import dagster as dg

PARTITION_FORMAT = "%Y-%m"

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date="2015-01", fmt=PARTITION_FORMAT)


def billing_period(partition_key: str) -> date:
    """The first day of the invoice month, as stored in every `billing_period` column."""
    year, month = partition_key.split("-")
    return date(int(year), int(month), 1)


DBT_MIN_PERIOD_ENV, DBT_MAX_PERIOD_ENV = "CSP_RECON_MIN_PERIOD", "CSP_RECON_MAX_PERIOD"


def dbt_period_env(partition_keys: list[str]) -> dict[str, str]:
    """The billing periods a dbt run replaces (dbt_project/macros/periods.sql reads them)."""
    periods = sorted(billing_period(key) for key in partition_keys)
    return {DBT_MIN_PERIOD_ENV: periods[0].isoformat(), DBT_MAX_PERIOD_ENV: periods[-1].isoformat()}


def months_between(first: str, last: str) -> list[str]:
    """Partition keys from `first` to `last`, both included."""
    start, end = billing_period(first), billing_period(last)
    if start > end:
        raise ValueError(f"{first} is after {last}: give the earlier month first.")
    keys, month = [], start
    while month <= end:
        keys.append(month.strftime(PARTITION_FORMAT))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return keys
