"""Runs the monthly close for a landing month whose files are new or changed, once they settle.

An issued month is never run from here: a changed file for it is recorded as a correction
pending (`billing.month_status`, `csp-recon status`, this sensor's skip reason), to be run
deliberately with `csp-recon run --period P --correct`.
"""

import time

import dagster as dg
import duckdb

from pipelines.automation.landing_watch import content_fingerprint, landed_months
from pipelines.closing.month import mark_correction_pending
from pipelines.closing.status import FINAL, all_states
from pipelines.defs.automation.jobs import monthly_close
from pipelines.defs.resources import Warehouse
from pipelines.periods import BillingPeriod
from pipelines.settings import SETTLE_SECONDS_ENV, DataPaths, Settings, process_settings

SENSOR_ACTOR = "landing sensor"


def final_months(paths: DataPaths) -> dict[BillingPeriod, str | None]:
    """Issued months (or with a correction pending) -> the landing files' fingerprint they were issued from."""
    if not paths.warehouse.exists():
        return {}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        states = all_states(con)
    return {state.period: state.landing_fingerprint for state in states if state.status in FINAL}


def correction_pending_reason(period: BillingPeriod, files: int) -> str:
    return (
        f"landing files of {period} changed after its invoices were issued ({files} file(s)): correction pending, "
        f"not run; run it deliberately with `csp-recon run --period {period} --correct`"
    )


def build_landing_files_sensor(settings: Settings) -> dg.SensorDefinition:
    settle_seconds = settings.settle_seconds

    @dg.sensor(
        job=monthly_close,
        name="landing_files_sensor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Watches <data>/landing/<YYYY-MM>/ and runs a month whose files are new or changed, once no file "
            f"has changed for {settle_seconds:g} seconds (${SETTLE_SECONDS_ENV}). An issued month is "
            "not run: a changed file marks it correction pending."
        ),
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        now = time.time()
        paths = warehouse.paths
        months = landed_months(paths.landing_root)
        settling = [month.period for month in months if not month.settled(now, settle_seconds)]
        try:
            final = final_months(paths)
        except duckdb.IOException:  # a run holds the warehouse: judge the months on the next tick
            yield dg.SkipReason("The warehouse is in use by a run: months are looked at again on the next tick.")
            return
        pending = []
        for month in months:
            if not month.settled(now, settle_seconds):
                continue
            if month.period not in final:
                yield dg.RunRequest(
                    run_key=month.run_key,
                    partition_key=month.period.key,
                    tags={"csp-recon/landing-fingerprint": month.fingerprint, "csp-recon/files": str(month.files)},
                )
                continue
            issued_from = final[month.period]
            if issued_from is not None and content_fingerprint(paths.landing(month.period)) == issued_from:
                continue  # re-copied or touched, same content: nothing changed
            reason = correction_pending_reason(month.period, month.files)
            try:
                # No wait: a tick has a minute at most, and a run holding the file ends later.
                outcome = mark_correction_pending(paths, month.period, reason, SENSOR_ACTOR, wait_seconds=0)
            except duckdb.IOException:
                outcome = None
            if outcome is not None and outcome.changed:
                context.log.warning(reason)
            pending.append(month.period)
        messages = []
        if pending:
            messages.append(
                f"Correction pending for {', '.join(map(str, pending))}: files changed after the month was issued; no run started "
                f"(run it deliberately: csp-recon run --period {pending[0]} --correct)."
            )
        if settling:
            messages.append(f"Files still changing in {', '.join(map(str, settling))}: waiting until they settle.")
        if messages:
            yield dg.SkipReason(" ".join(messages))

    return landing_files_sensor


landing_files_sensor = build_landing_files_sensor(process_settings())
