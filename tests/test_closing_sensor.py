"""The landing sensor and the schedule respect a month's status (issue 14): a changed file for an
issued month starts no run; it raises a visible correction pending instead."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.automation.landing_watch import content_fingerprint
from pipelines.closing.status import MonthStatus, change_status, history, month_state
from pipelines.defs.automation.sensors import build_landing_files_sensor
from pipelines.defs.resources import Warehouse
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths, Settings

OCTOBER = BillingPeriod.parse("2026-10")


def _land(root: Path, period: str, name: str, content: str, age_seconds: float = 3600) -> Path:
    path = root / "landing" / period / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def _issue_october(root: Path) -> None:
    paths = DataPaths(root)
    with duckdb.connect(str(paths.warehouse)) as con:
        change_status(con, OCTOBER, MonthStatus.APPROVED, "Jane Doe", "drafts approved", approved_by="Jane Doe")
        change_status(
            con,
            OCTOBER,
            MonthStatus.ISSUED,
            "Jane Doe",
            "2 invoice(s) issued",
            landing_fingerprint=content_fingerprint(paths.landing(OCTOBER)),
        )


def _evaluate(root: Path, monkeypatch) -> list:
    settings = Settings(data_dir=root, settle_seconds=60)
    context_resources = {"warehouse": Warehouse.from_settings(settings)}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=context_resources)
        return list(build_landing_files_sensor(settings)(context) or [])


def _october(root: Path):
    with duckdb.connect(str(DataPaths(root).warehouse), read_only=True) as con:
        return month_state(con, OCTOBER), history(con, OCTOBER)


def test_a_changed_file_of_an_issued_month_raises_correction_pending_and_starts_no_run(tmp_path, monkeypatch):
    _land(tmp_path, "2026-10", "recon.csv", "as issued")
    _land(tmp_path, "2026-11", "recon.csv", "next month")
    _issue_october(tmp_path)

    unchanged = _evaluate(tmp_path, monkeypatch)
    assert [r.partition_key for r in unchanged if isinstance(r, dg.RunRequest)] == ["2026-11"]
    assert not any(isinstance(r, dg.SkipReason) for r in unchanged)

    _land(tmp_path, "2026-10", "recon.csv", "as issued")  # re-copied: same bytes, new time -> nothing to do
    assert [r.partition_key for r in _evaluate(tmp_path, monkeypatch) if isinstance(r, dg.RunRequest)] == ["2026-11"]
    assert _october(tmp_path)[0].status == MonthStatus.ISSUED

    _land(tmp_path, "2026-10", "recon.csv", "corrected by Microsoft")
    results = _evaluate(tmp_path, monkeypatch)
    assert [r.partition_key for r in results if isinstance(r, dg.RunRequest)] == ["2026-11"], (
        "no run of the issued month"
    )
    [skip] = [r for r in results if isinstance(r, dg.SkipReason)]
    assert (
        "Correction pending for 2026-10" in skip.skip_message
        and "csp-recon run --period 2026-10 --correct" in skip.skip_message
    )
    state, changes = _october(tmp_path)
    assert (
        state.status == MonthStatus.CORRECTION_PENDING
        and "changed after its invoices were issued" in state.pending_reason
    )
    assert changes[-1][1:4] == ("landing sensor", "issued", "correction_pending")

    _evaluate(tmp_path, monkeypatch)  # the next tick records nothing new
    assert len(_october(tmp_path)[1]) == len(changes)


READ_ONLY_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
time.sleep(600)
"""


def test_a_tick_that_cannot_write_the_status_does_not_wait_and_the_next_tick_does(tmp_path, monkeypatch):
    """Another process reading the warehouse lets the sensor see the issued month but not mark it:
    the tick ends at once (a tick has a minute, a held file can stay held much longer) and the
    next tick marks it."""
    _land(tmp_path, "2026-10", "recon.csv", "as issued")
    _issue_october(tmp_path)
    _land(tmp_path, "2026-10", "recon.csv", "corrected by Microsoft")
    reader = subprocess.Popen(
        [sys.executable, "-c", READ_ONLY_HOLD, str(DataPaths(tmp_path).warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
        started = time.monotonic()
        _evaluate(tmp_path, monkeypatch)
        waited = time.monotonic() - started
    finally:
        reader.kill()
        reader.wait(timeout=30)
    assert waited < 30, f"the tick waited {waited:.0f} s for the warehouse"
    assert _october(tmp_path)[0].status == MonthStatus.ISSUED, "nothing was written while the file was held"
    _evaluate(tmp_path, monkeypatch)
    assert _october(tmp_path)[0].status == MonthStatus.CORRECTION_PENDING


def test_the_schedule_skips_an_issued_month(tmp_path, monkeypatch, definitions):
    _land(tmp_path, "2026-10", "recon.csv", "as issued")
    warehouse = {"warehouse": Warehouse(data_dir=str(tmp_path))}
    schedule = definitions.resolve_schedule_def("monthly_close_schedule")
    tick = datetime(2026, 11, 5, 6, tzinfo=UTC)
    repository = definitions.get_repository_def()
    with dg.instance_for_test() as instance:
        [request] = list(
            schedule.evaluate_tick(
                dg.build_schedule_context(
                    instance=instance, scheduled_execution_time=tick, resources=warehouse, repository_def=repository
                )
            ).run_requests
        )
        assert request.partition_key == "2026-10"
        _issue_october(tmp_path)
        skipped = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=tick, resources=warehouse, repository_def=repository
            )
        )
    assert not skipped.run_requests and "2026-10 is issued" in skipped.skip_message


def test_a_failing_step_removes_the_months_drafts_and_keeps_what_was_issued(tmp_path, monkeypatch):
    from pipelines.defs.automation.jobs import drafts_removed_when_a_step_fails, monthly_close
    from pipelines.defs.partitions import MONTH_TAG

    month_dir = tmp_path / "exports" / "2026-10"
    (month_dir / "invoices").mkdir(parents=True)
    (month_dir / "invoices" / "customer.pdf").write_bytes(b"draft of an earlier passing run")
    (month_dir / "invoice_index.csv").write_text("customer_id\n", encoding="utf-8")
    (month_dir / "issued").mkdir()
    (month_dir / "issued" / "FA-000001.pdf").write_bytes(b"sent")

    @dg.op
    def reconcile():
        raise dg.Failure(description="Invoice G0K1EVF78N does not reconcile")

    @dg.job(hooks={drafts_removed_when_a_step_fails})
    def failing_run():
        reconcile()

    assert drafts_removed_when_a_step_fails in monthly_close.hooks
    with dg.instance_for_test() as instance:
        result = failing_run.execute_in_process(
            tags={MONTH_TAG: "2026-10"},
            raise_on_error=False,
            resources={"warehouse": Warehouse(data_dir=str(tmp_path))},
            instance=instance,
        )
    assert not result.success
    assert sorted(path.name for path in month_dir.iterdir()) == ["issued"]
    assert (month_dir / "issued" / "FA-000001.pdf").read_bytes() == b"sent"
