"""A run of a month that slips past the CLI's check (a UI run dequeued between the CLI's check
and its launch) never runs beside the other: the run created later stops before touching the
warehouse, says why in a sentence, and leaves the month's data to the run in progress."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from pipelines.defs.ingest.failed_deliveries import settle_month
from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.resources import Warehouse
from pipelines.defs.runs.monthly_run import _failures
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths, Settings

PERIOD = "2026-09"
PARTITIONS = dg.MonthlyPartitionsDefinition(start_date="2026-01", fmt="%Y-%m")


def _add_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, period: str = PERIOD) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="monthly_close", run_id=run_id, tags={MONTH_TAG: period}, status=status))
    return run_id


def _materialise_touching(instance: dg.DagsterInstance, data_dir) -> dg.ExecuteInProcessResult:
    marker = data_dir / "touched"

    @dg.asset(partitions_def=PARTITIONS)
    def touches_the_warehouse(warehouse: Warehouse) -> None:
        marker.write_text("the step ran", encoding="utf-8")

    return dg.materialize(
        [touches_the_warehouse],
        partition_key=PERIOD,
        instance=instance,
        resources={"warehouse": Warehouse(data_dir=str(data_dir))},
        raise_on_error=False,
    )


@pytest.mark.parametrize("status", [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED])
def test_a_run_created_after_one_in_progress_stops_before_any_step_with_a_sentence(tmp_path, status):
    with dg.instance_for_test() as instance:
        earlier = _add_run(instance, status)
        result = _materialise_touching(instance, tmp_path)
        events = [entry.dagster_event for entry in instance.all_logs(result.run_id) if entry.dagster_event]

    assert not result.success
    assert not (tmp_path / "touched").exists()
    failures, _ = _failures(events, False, DataPaths(tmp_path))
    assert failures == [
        f"This run of {PERIOD} stopped before touching the warehouse, because run {earlier} of {PERIOD} "
        f"started first and is {status.value.lower()} (one run per month at a time). "
        "Run the month again once that run has finished."
    ]


@pytest.mark.parametrize(
    ("status", "period"),
    [
        (dg.DagsterRunStatus.SUCCESS, PERIOD),  # finished: nothing to interleave with
        (dg.DagsterRunStatus.FAILURE, PERIOD),
        (dg.DagsterRunStatus.NOT_STARTED, PERIOD),  # created, not started: it checks when it starts
        (dg.DagsterRunStatus.STARTED, "2026-08"),  # another month
    ],
)
def test_a_run_goes_on_beside_finished_queued_or_other_months_runs(tmp_path, status, period):
    with dg.instance_for_test() as instance:
        _add_run(instance, status, period)
        result = _materialise_touching(instance, tmp_path)

    assert result.success
    assert (tmp_path / "touched").read_text(encoding="utf-8") == "the step ran"


def test_a_failed_run_never_settles_a_month_another_run_is_writing(tmp_path):
    settings = Settings(data_dir=tmp_path)
    paths = settings.paths
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    paths.warehouse.write_bytes(b"not a DuckDB file: opening it would raise")
    with dg.instance_for_test() as instance:
        _add_run(instance, dg.DagsterRunStatus.STARTED)
        refused = _add_run(instance, dg.DagsterRunStatus.FAILURE)

        assert settle_month(instance, settings, BillingPeriod.parse(PERIOD), refused) is None
        alone = _add_run(instance, dg.DagsterRunStatus.FAILURE, "2026-08")
        with pytest.raises(Exception):  # noqa: B017 - alone in its month, it does open the warehouse
            settle_month(instance, settings, BillingPeriod.parse("2026-08"), alone)


def test_the_settlement_the_ui_shows_names_hostile_files_as_inert_text():
    from datetime import datetime

    from pipelines.defs.ingest.failed_deliveries import record_settlement
    from pipelines.inert import plain_text
    from pipelines.ingest.quarantine import Delivery, Settlement

    hostile = "[Pay here](https://evil.example)![x](https://evil.example/x.png).csv"
    settlement = Settlement(
        BillingPeriod.parse(PERIOD),
        "restored",
        Delivery(datetime(2026, 10, 2), ("good.csv",)),
        Delivery(None, (hostile,)),
    )
    with dg.instance_for_test() as instance:
        record_settlement(instance, BillingPeriod.parse(PERIOD), str(uuid.uuid4()), settlement)
        [record] = instance.fetch_observations(dg.AssetKey(["raw", "file_manifest"]), limit=1).records
    assert hostile in settlement.sentence
    description = record.asset_observation.description
    assert "](" not in description and "https://" not in description
    assert plain_text(description) == settlement.sentence
