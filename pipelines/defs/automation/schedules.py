"""The monthly close on a fixed day: last month's partition, once Microsoft's invoice is out.

Legacy invoices are available 2 to 4 days after the billing date, so the default is the 5th at
06:00 UTC; partners waiting for new-commerce invoices (ready by the 8th) set the day to 9.
"""

import os

import dagster as dg

from pipelines.defs.automation.jobs import monthly_close

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


_day, _hour, _minute = close_timing(dict(os.environ))

monthly_close_schedule = dg.build_schedule_from_partitioned_job(
    monthly_close,
    name="monthly_close_schedule",
    day_of_month=_day,
    hour_of_day=_hour,
    minute_of_hour=_minute,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Closes last month on day {_day} at {_hour:02d}:{_minute:02d} UTC (set {DAY_ENV} and {TIME_ENV}).",
)
