"""Runs the monthly close for a landing month whose files are new or changed, once they settle."""

import os
import time

import dagster as dg

from pipelines.automation.landing_watch import landed_months
from pipelines.defs.automation.jobs import monthly_close
from pipelines.settings import DataPaths, resolve_data_dir

SETTLE_SECONDS_ENV = "CSP_RECON_SENSOR_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 120


@dg.sensor(
    job=monthly_close,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        f"Watches <data>/landing/<YYYY-MM>/ and runs a month whose files are new or changed, once no file "
        f"has changed for ${SETTLE_SECONDS_ENV} seconds (default {DEFAULT_SETTLE_SECONDS})."
    ),
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    settle_seconds = float(os.environ.get(SETTLE_SECONDS_ENV, DEFAULT_SETTLE_SECONDS))
    now = time.time()
    months = landed_months(DataPaths(resolve_data_dir()).landing_root)
    settling = [month.period for month in months if not month.settled(now, settle_seconds)]
    for month in months:
        if month.settled(now, settle_seconds):
            yield dg.RunRequest(
                run_key=month.run_key,
                partition_key=month.period,
                tags={"csp-recon/landing-fingerprint": month.fingerprint, "csp-recon/files": str(month.files)},
            )
    if settling:
        yield dg.SkipReason(f"Files still changing in {', '.join(settling)}: waiting until they settle.")
