"""Schedule, landing sensor, instance settings and the published copy's month ledger."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.automation.landing_watch import landed_months
from pipelines.defs.automation.schedules import build_monthly_close_schedule
from pipelines.defs.automation.sensors import build_landing_files_sensor
from pipelines.defs.resources import Warehouse
from pipelines.defs.runs.instance import prepare_dagster_home
from pipelines.periods import BillingPeriod
from pipelines.publishing.warehouse_copy import publish_month
from pipelines.settings import CLOSE_DAY_ENV, CLOSE_TIME_ENV, SettingError, Settings


def _land(root: Path, period: str, name: str, content: str, age_seconds: float = 3600) -> Path:
    path = root / "landing" / period / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_fingerprint_changes_with_any_file_change(tmp_path):
    _land(tmp_path, "2026-10", "a.csv", "x")
    landing = tmp_path / "landing"
    first = landed_months(landing)[0]
    _land(tmp_path, "2026-10", "a.csv", "xy")
    resized = landed_months(landing)[0]
    path = _land(tmp_path, "2026-10", "b.csv", "z")
    added = landed_months(landing)[0]
    path.unlink()
    removed = landed_months(landing)[0]
    assert len({first.fingerprint, resized.fingerprint, added.fingerprint}) == 3
    assert removed.fingerprint == resized.fingerprint
    assert first.run_key.startswith("2026-10:")


def test_folders_that_are_not_months_and_hidden_files_are_ignored(tmp_path):
    _land(tmp_path, "2026-13", "a.csv", "x")
    _land(tmp_path, "notes", "a.csv", "x")
    _land(tmp_path, "2026-09", ".a.csv.partial", "x")
    assert landed_months(tmp_path / "landing") == []


def _evaluate(tmp_path: Path, monkeypatch) -> list:
    settings = Settings(data_dir=tmp_path, settle_seconds=60)
    sensor = build_landing_files_sensor(settings)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": Warehouse.from_settings(settings)})
        result = sensor(context)
        return list(result) if result is not None else []


def test_sensor_requests_a_run_per_settled_month_and_waits_for_a_changing_one(tmp_path, monkeypatch):
    _land(tmp_path, "2026-09", "a.csv", "settled")
    _land(tmp_path, "2026-10", "a.csv", "still copying", age_seconds=5)
    results = _evaluate(tmp_path, monkeypatch)
    requests = [r for r in results if isinstance(r, dg.RunRequest)]
    skips = [r for r in results if isinstance(r, dg.SkipReason)]
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2026-09", landed_months(tmp_path / "landing")[0].run_key)
    ]
    assert len(skips) == 1 and "2026-10" in skips[0].skip_message


def test_sensor_run_key_is_stable_until_files_change(tmp_path, monkeypatch):
    _land(tmp_path, "2026-09", "a.csv", "settled")
    first = _evaluate(tmp_path, monkeypatch)[0].run_key
    assert _evaluate(tmp_path, monkeypatch)[0].run_key == first
    _land(tmp_path, "2026-09", "a.csv", "re-delivered, longer")
    assert _evaluate(tmp_path, monkeypatch)[0].run_key != first


def test_the_close_runs_on_the_day_and_time_set():
    settings = Settings.load({CLOSE_DAY_ENV: "9", CLOSE_TIME_ENV: "07:30"})
    assert build_monthly_close_schedule(settings).cron_schedule == "30 7 9 * *"
    with pytest.raises(SettingError, match="1 to 28"):
        Settings.load({CLOSE_DAY_ENV: "31"})
    with pytest.raises(SettingError, match="HH:MM"):
        Settings.load({CLOSE_TIME_ENV: "25:00"})


def test_schedule_closes_last_month(definitions, tmp_path):
    schedule = definitions.resolve_schedule_def("monthly_close_schedule")
    assert schedule.cron_schedule == "0 6 5 * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    # This month's tick: the partitions start no later than last month (first_month's fallback).
    now = datetime.now(UTC)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(now.year, now.month, 5, 6, tzinfo=UTC),
            resources={"warehouse": Warehouse(data_dir=str(tmp_path))},
            repository_def=definitions.get_repository_def(),  # a request names its partition, the repository its job's
        )
        [request] = list(schedule.evaluate_tick(context).run_requests)
    last_month = datetime(now.year - (now.month == 1), (now.month - 2) % 12 + 1, 1)
    assert request.partition_key == f"{last_month:%Y-%m}"


def test_dagster_home_gets_the_committed_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(Settings(data_dir=tmp_path))
    assert home == tmp_path / "dagster_home" and "DAGSTER_HOME" not in os.environ
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_retries_enabled and not instance.run_retries_retry_on_asset_or_op_failure


def _warehouse(path: Path, amounts: dict[date, str]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE SCHEMA IF NOT EXISTS config")
        con.execute(
            "CREATE OR REPLACE TABLE marts.customer_monthly (billing_period DATE, billed_pretax DECIMAL(18, 2))"
        )
        con.execute("CREATE OR REPLACE TABLE config.customers AS SELECT 'c1' AS customer_id")
        con.executemany("INSERT INTO marts.customer_monthly VALUES (?, ?)", list(amounts.items()))


def test_published_months_keep_the_version_that_passed(tmp_path):
    source, target = tmp_path / "warehouse.duckdb", tmp_path / "published" / "warehouse.duckdb"
    august, september = date(2026, 8, 1), date(2026, 9, 1)
    _warehouse(source, {august: "100.00"})
    publish_month(source, target, BillingPeriod.containing(august), "run-1")
    # August is re-run and now holds figures that failed (never published); September passes.
    _warehouse(source, {august: "999.99", september: "200.00"})
    publication = publish_month(source, target, BillingPeriod.containing(september), "run-2")
    with duckdb.connect(str(target), read_only=True) as con:
        rows = con.execute("SELECT billing_period, billed_pretax FROM marts.customer_monthly ORDER BY 1").fetchall()
        runs = con.execute("SELECT run_id FROM meta.published_months ORDER BY billing_period").fetchall()
    assert [(month, str(amount)) for month, amount in rows] == [(august, "100.00"), (september, "200.00")]
    assert [run for (run,) in runs] == ["run-1", "run-2"]
    assert publication.months == [august, september]
    assert publication.tables == {"config.customers": 1, "marts.customer_monthly": 2}
