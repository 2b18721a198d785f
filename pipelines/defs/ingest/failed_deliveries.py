"""After a run of a month fails: the month's warehouse goes back to its last good delivery and the
failed one is kept apart (pipelines/ingest/quarantine.py), whoever started the run.

`csp-recon run` settles its own runs when they end; this sensor settles the runs the UI, the
schedule or the landing sensor started. Either way the outcome is recorded on the month's
`raw/file_manifest` partition, so the UI says which figures are current.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.quality.gate import judge_month_now
from pipelines.defs.resources import Warehouse
from pipelines.defs.runs.month_runs import runs_in_progress
from pipelines.defs.runs.names import LAUNCHED_BY_CLI, LAUNCHED_BY_TAG, MANIFEST_KEY
from pipelines.inert import inert_markdown
from pipelines.ingest.quarantine import Settlement, settle_failed_month
from pipelines.periods import BillingPeriod
from pipelines.settings import Settings
from pipelines.warehouse_file import connect_waiting

# Runs `csp-recon run` launched carry this tag: it settles them itself.


def settle_month(
    instance: dg.DagsterInstance, settings: Settings, period: BillingPeriod, run_id: str
) -> Settlement | None:
    """None when the month's blocking checks pass on its current data (nothing to settle), or when
    another run of the month is in progress: the month's data is that run's, not this one's."""
    paths = settings.paths
    if not paths.warehouse.exists() or runs_in_progress(instance, period, besides=run_id):
        return None
    verdict = judge_month_now(settings, period)
    if verdict.passed:
        return None
    with connect_waiting(paths.warehouse, wait_seconds=settings.lock_wait_seconds) as con:
        return settle_failed_month(con, period, run_id, verdict.problems)


def record_settlement(instance: dg.DagsterInstance, period: BillingPeriod, run_id: str, settlement: Settlement) -> None:
    """The outcome on the month's file manifest in the UI (its Events and partition view)."""
    metadata = {"failed_run": run_id, "current_files": ", ".join(settlement.current.files) or "none"}
    if settlement.failed is not None:
        metadata["quarantined_files"] = ", ".join(settlement.failed.files)
    instance.report_runless_asset_event(
        dg.AssetObservation(
            # The UI renders an event's description as markdown; the files' names are untrusted.
            asset_key=MANIFEST_KEY,
            partition=period.key,
            description=inert_markdown(settlement.sentence),
            metadata=metadata,
        )
    )


@dg.run_failure_sensor(
    name="failed_delivery_quarantine",
    description="After a failed run of a month: its last good delivery comes back and the failed one goes to quarantine.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
)
def failed_delivery_quarantine(context: dg.RunFailureSensorContext, warehouse: Warehouse):
    run = context.dagster_run
    key = run.tags.get(MONTH_TAG)
    if not key or run.tags.get(LAUNCHED_BY_TAG) == LAUNCHED_BY_CLI:
        return
    period = BillingPeriod.parse(key)
    settlement = settle_month(context.instance, warehouse.settings, period, run.run_id)
    if settlement is not None:
        context.log.info(settlement.sentence)
        record_settlement(context.instance, period, run.run_id, settlement)
