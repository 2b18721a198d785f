"""Monthly partitions: one partition is one invoice month, keyed `YYYY-MM`."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

from pipelines.settings import PERIOD_PATTERN, DataPaths, resolve_data_dir, validate_period

PARTITION_FORMAT = "%Y-%m"
FIRST_MONTH_ENV = "CSP_RECON_FIRST_MONTH"
MONTH_TAG = "dagster/partition"


def first_month(environ: dict[str, str] | None = None, landing_root=None) -> str:
    """`$CSP_RECON_FIRST_MONTH`, else the earliest `<data>/landing/<YYYY-MM>/` folder, else last month:
    the UI then shows as missing only months the partner could have run."""
    environ = dict(os.environ) if environ is None else environ
    chosen = environ.get(FIRST_MONTH_ENV)
    if chosen:
        try:
            return validate_period(chosen)
        except ValueError as error:
            raise ValueError(f"{FIRST_MONTH_ENV}: {error}") from None
    root = (
        landing_root
        if landing_root is not None
        else DataPaths(resolve_data_dir(environ.get("CSP_RECON_DATA_DIR"))).landing_root
    )
    landed = (
        sorted(entry.name for entry in root.iterdir() if entry.is_dir() and PERIOD_PATTERN.match(entry.name))
        if root.is_dir()
        else []
    )
    if landed:
        return landed[0]
    today = date.today()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1).strftime(PARTITION_FORMAT)


monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=first_month(), fmt=PARTITION_FORMAT)


def outside_partitions(
    period: str, partitions: dg.MonthlyPartitionsDefinition | None = None, environ: dict[str, str] | None = None
) -> str | None:
    """Why `period` is no month the pipeline can run (the UI's partitions: from the first month to
    the last ended one), in a clerk's words; None when it is one."""
    partitions = partitions or monthly_partitions
    environ = dict(os.environ) if environ is None else environ
    keys = partitions.get_partition_keys()
    if period in keys:
        return None
    first = partitions.start.strftime(PARTITION_FORMAT)
    if period < first:
        if environ.get(FIRST_MONTH_ENV):
            why = f"{FIRST_MONTH_ENV} is {first}: set it to {period} or earlier to run this month"
        else:
            why = (
                f"the earliest month folder in the landing folder: set {FIRST_MONTH_ENV}={period} to run earlier months"
            )
        return f"{period} is before the first month the pipeline runs, {first} ({why})"
    latest = f"the latest month that can run is {keys[-1]}" if keys else f"no month has ended since {first}"
    return f"{period} has not ended yet: {latest}"


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


# Every asset of the job has this policy: a backfill of N months is N runs, each a whole month
# (mixed policies split a backfill into interleaved runs per policy).
ONE_MONTH_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
