"""The monthly close on a fixed day: last month's partition, once Microsoft's invoice is out.

Legacy invoices are available 2 to 4 days after the billing date, so the default is the 5th at
06:00 UTC; partners waiting for new-commerce invoices (ready by the 8th) set the day to 9.
A month already issued is not run again (its changes are corrections, run deliberately).
"""

from datetime import date

import dagster as dg

from pipelines.defs.automation.jobs import monthly_close
from pipelines.defs.automation.sensors import final_months
from pipelines.defs.resources import Warehouse
from pipelines.periods import BillingPeriod
from pipelines.settings import CLOSE_DAY_ENV, CLOSE_TIME_ENV, Settings, process_settings


def month_before(day: date) -> BillingPeriod:
    return BillingPeriod.containing(day).shifted(-1)


def build_monthly_close_schedule(settings: Settings) -> dg.ScheduleDefinition:
    day, hour, minute = settings.close_day, settings.close_hour, settings.close_minute

    @dg.schedule(
        job=monthly_close,
        name="monthly_close_schedule",
        cron_schedule=f"{minute} {hour} {day} * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Closes last month on day {day} at {hour:02d}:{minute:02d} UTC (set {CLOSE_DAY_ENV} and "
            f"{CLOSE_TIME_ENV}); skips a month already issued."
        ),
    )
    def monthly_close_schedule(context: dg.ScheduleEvaluationContext, warehouse: Warehouse):
        period = month_before(context.scheduled_execution_time.date())
        if period in final_months(warehouse.paths):
            return dg.SkipReason(
                f"{period} is issued: not run again (a change to it is a correction: "
                f"csp-recon run --period {period} --correct)."
            )
        return dg.RunRequest(partition_key=period.key, run_key=period.key)

    return monthly_close_schedule


monthly_close_schedule = build_monthly_close_schedule(process_settings())
