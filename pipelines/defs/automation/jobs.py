"""The monthly close: every asset and check of one month, the job the CLI, schedule and sensor run."""

from __future__ import annotations

import dagster as dg

from pipelines.closing.drafts import remove_drafts
from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.resources import Warehouse
from pipelines.defs.runs.names import MONTHLY_CLOSE_JOB
from pipelines.periods import BillingPeriod


@dg.failure_hook(name="drafts_removed_when_a_step_fails", required_resource_keys={"warehouse"})
def drafts_removed_when_a_step_fails(context: dg.HookContext) -> None:
    """A failing run leaves no drafts of an earlier passing run: the exports folder matches the month."""
    run = context.instance.get_run_by_id(context.run_id)
    key = run.tags.get(MONTH_TAG) if run else None
    if not key:
        return
    period = BillingPeriod.parse(key)
    warehouse: Warehouse = context.resources.warehouse
    if remove_drafts(warehouse.paths, period):
        context.log.warning(
            f"Step {context.step_key} failed: the draft invoices of {period} were removed (no stale drafts)."
        )


monthly_close = dg.define_asset_job(
    MONTHLY_CLOSE_JOB,
    selection=dg.AssetSelection.all(),  # monthly partitions, as every asset of it has
    description="Ingest, transform, check, export and publish one invoice month.",
    # One process per run, not one per step: a small month from the UI takes about as long as
    # from the CLI, and a killed or cancelled run has a single process to account for.
    executor_def=dg.in_process_executor,
    hooks={drafts_removed_when_a_step_fails},
)
