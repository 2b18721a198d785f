"""Run one month in-process through the Dagster definitions and print what a clerk needs."""

from __future__ import annotations

from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.instance import prepare_dagster_home
from pipelines.partitions import billing_period
from pipelines.settings import DataPaths


RUN_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


def run_month(period: str, data_dir: Path) -> int:
    from pipelines.defs.automation.jobs import MONTHLY_CLOSE_JOB
    from pipelines.definitions import defs

    paths = DataPaths(data_dir)
    # CLI runs show in the UI, and wait for the UI's runs in the warehouse pool.
    dagster_home = prepare_dagster_home(paths)
    log_path = paths.logs / f"run-{period}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # dbt's progress and library warnings go to the run's log file; the clerk reads the summary.
    with log_path.open("w", encoding="utf-8") as log, redirect_stdout(log), redirect_stderr(log):
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            # Loaded inside the instance's scope: definitions read their state from its storage.
            job = defs().resolve_job_def(MONTHLY_CLOSE_JOB)
            result = job.execute_in_process(
                partition_key=period, instance=instance, raise_on_error=False, run_config=RUN_LOG_CONFIG
            )
    failures, warnings = _failures(result)
    print(f"csp-recon run {period}  (data: {data_dir}; full log: {log_path})")
    _print_summary(paths, period, ingested=_ingested(result))
    _print_publication(result, paths)
    if warnings:
        print("\nWarnings (not blocking):")
        for warning in warnings:
            print(f"  - {warning}")
    if failures:
        print("\nFAILED:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nOK: every blocking check passed.")
    return 0


def _failures(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    """Blocking failures, then warnings, in the checks' and steps' own words."""
    failures, warnings = [], []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                found = warnings if evaluation.severity == dg.AssetCheckSeverity.WARN else failures
                found.append(f"{evaluation.check_name}: {evaluation.description}")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            described = data.user_failure_data.description if data.user_failure_data else None
            if described or not any(word in (data.error.message if data.error else "") for word in ("blocking", "check")):
                failures.append(f"step {event.step_key}: {described or _root_cause(data.error)}")
    if not result.success and not failures:
        failures.append("the run did not succeed: see the full log")
    return failures, warnings


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, not how Dagster wrapped it."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _ingested(result: dg.ExecuteInProcessResult) -> bool:
    from pipelines.defs.ingest.assets import MANIFEST_KEY

    return any(
        event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key == MANIFEST_KEY
        for event in result.all_events
    )


def _print_summary(paths: DataPaths, period: str, ingested: bool) -> None:
    if not paths.warehouse.exists():
        return
    month = billing_period(period)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = {row[0] for row in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
        if "raw.file_manifest" in tables:
            print("\nFiles:" if ingested else "\nFiles, as loaded before (this run loaded none; the month is unchanged):")
            for name, kind, status, read, loaded, rejected in con.execute(
                """SELECT file_name, file_kind, status, rows_read, rows_loaded, rows_rejected
                   FROM raw.file_manifest WHERE billing_period = ? ORDER BY file_name""",
                [month],
            ).fetchall():
                print(f"  {name:<44} {kind:<16} {status:<12} read {read:>9,}  loaded {loaded:>9,}  rejected {rejected:>6,}")
        if "marts.invoice_reconciliation" in tables:
            print("\nInvoices:")
            for number, currency, status, recon, invoice, difference, tax_difference in con.execute(
                """SELECT invoice_number, currency, status, recon_pretax, invoice_pretax, pretax_difference, tax_difference
                   FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
                [month],
            ).fetchall():
                print(
                    f"  {number:<14} {currency or '':<4} {status:<16} recon pretax {_money(recon)}  "
                    f"invoice pretax {_money(invoice)}  difference {_money(difference)}  tax difference {_money(tax_difference)}"
                )
        if "marts.customer_monthly" in tables:
            print("\nCustomers:")
            for currency, customers, cost, billed, margin in con.execute(
                """SELECT currency, count(DISTINCT customer_id), sum(cost_pretax), sum(billed_pretax), sum(margin)
                   FROM marts.customer_monthly WHERE billing_period = ? GROUP BY currency ORDER BY currency""",
                [month],
            ).fetchall():
                print(f"  {currency}: {customers} customers, cost {_money(cost)}, billed {_money(billed)}, margin {_money(margin)}")


def _print_publication(result: dg.ExecuteInProcessResult, paths: DataPaths) -> None:
    from pipelines.defs.publish.assets import PUBLISHED_WAREHOUSE

    published = any(
        event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key == PUBLISHED_WAREHOUSE
        for event in result.all_events
    )
    if published:
        print(f"\nAnalysts' warehouse updated: {paths.published_warehouse}")
    else:
        print(f"\nAnalysts' warehouse unchanged: this month is not published ({paths.published_warehouse}).")


def _money(value) -> str:
    return "-" if value is None else f"{value:,.2f}"
