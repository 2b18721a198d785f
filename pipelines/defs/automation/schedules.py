"""The monthly close on a fixed day: last month's partition, once Microsoft's invoice is out.

Legacy invoices are available 2 to 4 days after the billing date, so the default is the 5th at
06:00 UTC; partners waiting for new-commerce invoices (ready by the 8th) set the day to 9.
A month already issued is not run again (its changes are corrections, run deliberately).
"""

import os
from datetime import date

import dagster as dg

from pipelines.defs.automation.jobs import monthly_close
from pipelines.defs.automation.sensors import final_months
from pipelines.partitions import PARTITION_FORMAT
from pipelines.settings import DataPaths, resolve_data_dir

DAY_ENV, TIME_ENV = "CSP_RECON_CLOSE_DAY", "CSP_RECON_CLOSE_TIME_UTC"
DEFAULT_DAY, DEFAULT_TIME = 5, "06:00"


def close_timing(environ: dict[str, str]) -> tuple[int, int, int]:
    """(day, hour, minute) in UTC, like the partitions, from the environment, checked so a typo fails at load time."""
    day = int(environ.get(DAY_ENV, DEFAULT_DAY))
    if not 1 <= day <= 28:
        raise ValueError(f"{DAY_ENV}={day}: choose a day from 1 to 28, which every month has.")
    hour_text, _, minute_text = environ.get(TIME_ENV, DEFAULT_TIME).partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{TIME_ENV}={environ[TIME_ENV]}: write the time as HH:MM, 24-hour clock.")
    return day, hour, minute


def month_before(day: date) -> str:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1).strftime(PARTITION_FORMAT)


_day, _hour, _minute = close_timing(dict(os.environ))


@dg.schedule(
    job=monthly_close,
    name="monthly_close_schedule",
    cron_schedule=f"{_minute} {_hour} {_day} * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Closes last month on day {_day} at {_hour:02d}:{_minute:02d} UTC (set {DAY_ENV} and {TIME_ENV}); skips a month already issued.",
)
def monthly_close_schedule(context: dg.ScheduleEvaluationContext):
    period = month_before(context.scheduled_execution_time.date())
    if period in final_months(DataPaths(resolve_data_dir())):
        return dg.SkipReason(
            f"{period} is issued: not run again (a change to it is a correction: csp-recon run --period {period} --correct)."
        )
    return monthly_close.run_request_for_partition(partition_key=period, run_key=period)
