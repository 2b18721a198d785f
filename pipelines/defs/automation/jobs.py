"""The monthly close: every asset and check of one month, the job the CLI, schedule and sensor run."""

from __future__ import annotations

import dagster as dg

from pipelines.partitions import monthly_partitions

MONTHLY_CLOSE_JOB = "monthly_close"

monthly_close = dg.define_asset_job(
    MONTHLY_CLOSE_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=monthly_partitions,
    description="Ingest, transform, check, export and publish one invoice month.",
    # One process per run, not one per step: a small month from the UI takes about as long as
    # from the CLI, and a killed or cancelled run has a single process to account for.
    executor_def=dg.in_process_executor,
)
