"""Which runs of a month are unfinished, and the rule that keeps two of them from interleaving.

The instance's queue starts one run per month at a time (dagster.yaml) and `csp-recon run`
refuses a month with an unfinished run, but the CLI launches past the queue: a UI run dequeued
between the CLI's check and its launch would run beside it. So every step checks, as it takes the
warehouse, that no run of its month created before its own is in progress; if one is, the later
run stops with a sentence before touching the warehouse, and the earlier one goes on alone.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.partitions import MONTH_TAG
from pipelines.periods import BillingPeriod

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
UNFINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *IN_PROGRESS]


def unfinished_runs_of(instance: dg.DagsterInstance, period: BillingPeriod) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={MONTH_TAG: period.key}, statuses=UNFINISHED)))


def runs_in_progress(instance: dg.DagsterInstance, period: BillingPeriod, besides: str) -> list[dg.DagsterRun]:
    """The runs of `period` other than `besides` that are starting, running or being cancelled."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={MONTH_TAG: period.key}, statuses=IN_PROGRESS))
    return [run for run in runs if run.run_id != besides]


def earlier_run_in_progress(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun | None:
    """The first run of `run`'s month created before it and still in progress, if any."""
    period = run.tags.get(MONTH_TAG)
    if not period:
        return None
    records = instance.get_run_records(filters=dg.RunsFilter(tags={MONTH_TAG: period}, statuses=IN_PROGRESS))
    own = instance.get_run_record_by_id(run.run_id)
    if own is None:
        return None
    earlier = [r for r in records if r.dagster_run.run_id != run.run_id and r.create_timestamp < own.create_timestamp]
    return min(earlier, key=lambda r: r.create_timestamp).dagster_run if earlier else None


def interleaving_sentence(period: BillingPeriod, earlier: dg.DagsterRun) -> str:
    return (
        f"This run of {period} stopped before touching the warehouse, because run {earlier.run_id} of {period} "
        f"started first and is {earlier.status.value.lower()} (one run per month at a time). "
        "Run the month again once that run has finished."
    )
