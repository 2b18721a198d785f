"""Monthly partitions: one partition is one invoice month, keyed `YYYY-MM`."""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipelines.periods import PERIOD_KEY_FORMAT, PERIOD_PATTERN, BillingPeriod
from pipelines.settings import FIRST_MONTH_ENV, Settings, process_settings

MONTH_TAG = "dagster/partition"


def first_month(settings: Settings) -> str:
    """`$CSP_RECON_FIRST_MONTH`, else the earliest `<data>/landing/<YYYY-MM>/` folder, else last month:
    the UI then shows as missing only months the partner could have run."""
    if settings.first_month:
        return settings.first_month
    root = settings.paths.landing_root
    landed = (
        sorted(entry.name for entry in root.iterdir() if entry.is_dir() and PERIOD_PATTERN.match(entry.name))
        if root.is_dir()
        else []
    )
    if landed:
        return landed[0]
    return BillingPeriod.containing(date.today()).shifted(-1).key


def partitions_for(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(start_date=first_month(settings), fmt=PERIOD_KEY_FORMAT)


monthly_partitions = partitions_for(process_settings())


def outside_partitions(period: BillingPeriod, settings: Settings) -> str | None:
    """Why `period` is no month the pipeline can run (the UI's partitions: from the first month to
    the last ended one), in a clerk's words; None when it is one."""
    keys = partitions_for(settings).get_partition_keys()
    if period.key in keys:
        return None
    first = first_month(settings)
    if period.key < first:
        if settings.first_month:
            why = f"{FIRST_MONTH_ENV} is {first}: set it to {period} or earlier to run this month"
        else:
            why = (
                f"the earliest month folder in the landing folder: set {FIRST_MONTH_ENV}={period} to run earlier months"
            )
        return f"{period} is before the first month the pipeline runs, {first} ({why})"
    latest = f"the latest month that can run is {keys[-1]}" if keys else f"no month has ended since {first}"
    return f"{period} has not ended yet: {latest}"


# Every asset of the job has this policy: a backfill of N months is N runs, each a whole month
# (mixed policies split a backfill into interleaved runs per policy).
ONE_MONTH_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
