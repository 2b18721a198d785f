"""Run one month as a run of the Dagster instance, like a launch from the UI, and print what a clerk needs.

The run is launched from the workspace's code location (`dagster job launch`), so it has the
job's origin and month tag: it shows in the job's Runs tab and can be re-executed from the UI.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.defs.partitions import MONTH_TAG, outside_partitions
from pipelines.defs.runs.instance import prepare_dagster_home, prepare_launch_home
from pipelines.defs.runs.month_runs import IN_PROGRESS, unfinished_runs_of
from pipelines.defs.runs.names import (
    CORRECT_TAG,
    LAUNCHED_BY_CLI,
    LAUNCHED_BY_TAG,
    MANIFEST_KEY,
    MONTH_STATUS,
    MONTHLY_CLOSE_JOB,
    PUBLISHED_WAREHOUSE,
)
from pipelines.defs.runs.progress import LiveProgress, duration_lines, step_times
from pipelines.inert import plain_text, printable
from pipelines.ingest.daily_usage import is_open_month, open_month_sentence
from pipelines.ingest.quarantine import Settlement
from pipelines.periods import BillingPeriod
from pipelines.quality.azure_warnings import summary_lines as azure_summary_lines
from pipelines.runs.lock import MonthBusy, month_lock
from pipelines.settings import DAGSTER_HOME_ENV, REPO_ROOT, DataPaths, Settings, child_environment
from pipelines.warehouse_file import WarehouseLocked, connect_waiting

RUN_LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
WORKER_PID = re.compile(r"Started process for run \(pid: (\d+)\)")
POLL_SECONDS = 0.5
# A run still starting after this long (its process never reported) is taken as dead.
START_TIMEOUT_SECONDS = 180
STOP_GRACE_SECONDS = 20
_FAILURE_PREFIX = f"{dg.Failure.__module__}.{dg.Failure.__qualname__}: "


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or a closed terminal while the run was going."""


def say(text: str = "") -> None:
    """Everything the CLI prints passes here: file and customer names cannot drive the terminal."""
    print(printable(text))


def run_month(period: BillingPeriod, settings: Settings, correct: bool = False) -> int:
    """`correct`: a deliberate run of an issued month that issues its corrections (issue 14).

    The month's run lock is held from the check for other runs until the summary is printed: a
    second `csp-recon run` (or backfill) of the month is refused at once, never interleaved."""
    outside = outside_partitions(period, settings)
    if outside is not None:  # not a partition: Dagster's UI, schedule and backfills know no such month
        say(f"csp-recon run {period}: not started, because {outside}.")
        return 1
    paths = settings.paths
    dagster_home = prepare_dagster_home(settings)
    with ExitStack() as held:
        try:
            held.enter_context(month_lock(paths, period))
        except MonthBusy as busy:
            with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
                runs = unfinished_runs_of(instance, period)
            say(_busy_sentence(period, runs[0] if runs else None, busy))
            return 1
        return _run_locked_month(period, settings, dagster_home, correct)


def _busy_sentence(period: BillingPeriod, run: dg.DagsterRun | None, busy: MonthBusy | None = None) -> str:
    if run is not None:
        why = f"run {run.run_id} of {period} is {run.status.value.lower()}"
    else:
        why = str(busy or f"another run of {period} is in progress")
    return (
        f"csp-recon run {period}: not started, because {why} (one run per month at a time). "
        "Wait for it, or cancel it in the UI, then run again."
    )


def _run_locked_month(period: BillingPeriod, settings: Settings, dagster_home: Path, correct: bool) -> int:
    paths = settings.paths
    log_path = paths.logs / f"run-{period}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        release_dead_runs(instance)
        busy = unfinished_runs_of(instance, period)
        if busy:
            say(_busy_sentence(period, busy[0]))
            return 1
        run_id = str(uuid.uuid4())
        with log_path.open("w", encoding="utf-8") as log:
            launched = _launch(
                MONTHLY_CLOSE_JOB, period, run_id, dagster_home, settings, log, {CORRECT_TAG: "true"} if correct else {}
            )
        if not launched:
            say(f"csp-recon run {period}: the run could not be started; see {log_path}.")
            return 1
        try:
            run = _wait(instance, run_id)
        except Interrupted as stop:
            run = _stop(instance, run_id)
            settlement = _settle(instance, settings, period, run_id)
            say(
                f"csp-recon run {period}: stopped by {stop} (run {run_id} {run.status.value.lower()}); "
                f"customer invoices and the analysts' warehouse are as they were before a step that did not finish. Run it again when ready."
            )
            if settlement is not None:
                say(f"Current figures: {settlement.sentence}")
            return 130
        settlement = None if run.status == dg.DagsterRunStatus.SUCCESS else _settle(instance, settings, period, run_id)
        entries = instance.all_logs(run_id)
    events = [entry.dagster_event for entry in entries if entry.dagster_event]
    failures, notices = _failures(events, run.status == dg.DagsterRunStatus.SUCCESS, paths)
    say(f"csp-recon run {period}  (data: {paths.root}; run {run_id}; full log: {log_path})")
    if settlement is not None and settlement.outcome == "restored":
        heading = "\nFiles of the current figures (the last good delivery, back in place of the failed one):"
    elif _ingested(events):
        heading = "\nFiles:"
    else:
        heading = "\nFiles, as loaded before (this run loaded none; the month is unchanged):"
    try:
        _print_summary(settings, period, heading)
    except WarehouseLocked as locked:
        say(f"\nThe month's figures cannot be shown: {locked}")
    if settlement is not None:
        say(f"\nCurrent figures: {settlement.sentence}")
    _print_publication(events, paths)
    _print_month_status(events)
    say("\nSteps:")
    for line in duration_lines(step_times(entries)):
        say(line)
    if notices:
        say("\nWarnings (not blocking):")
        for notice in notices:
            say(f"  - {notice}")
    if failures:
        say("\nFAILED:")
        for failure in failures:
            say(f"  - {failure}")
        return 1
    say("\nOK: every blocking check passed.")
    return 0


def _settle(instance: dg.DagsterInstance, settings: Settings, period: BillingPeriod, run_id: str) -> Settlement | None:
    """A run that did not succeed: the month back to its last good delivery, the failed one kept apart."""
    from pipelines.defs.ingest.failed_deliveries import record_settlement, settle_month

    try:
        settlement = settle_month(instance, settings, period, run_id)
    except duckdb.Error as error:
        say(
            f"\nThe failed delivery of {period} could not be set aside ({_disk_full_or(error, settings.paths)}): "
            f"the warehouse may show it until the month runs again."
        )
        return None
    if settlement is not None:
        record_settlement(instance, period, run_id, settlement)
    return settlement


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's process id, from the run's own "Started process" event."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = WORKER_PID.search(entry.dagster_event.message or "") if entry.dagster_event else None
        if found:
            return int(found.group(1))
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def run_is_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """A started run whose process is gone, or one that never reported a process in time."""
    if run.status not in (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING):
        return False
    pid = worker_pid(instance, run.run_id)
    if pid is not None:
        return not _alive(pid)
    record = instance.get_run_record_by_id(run.run_id)
    started = record.create_timestamp.timestamp() if record else time.time()
    return time.time() - started > START_TIMEOUT_SECONDS


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail every run whose process is gone and free the pool slots it held, then the slots of
    finished runs: a killed run never blocks the next one."""
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        if run_is_dead(instance, run):
            instance.report_run_failed(
                run,
                "The run's process is gone (killed, terminal closed or disk full): marked failed and its warehouse slot freed.",
            )
            released.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            holder = instance.get_run_by_id(run_id)
            if holder is None or holder.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return released


def _launch(
    job: str,
    period: BillingPeriod,
    run_id: str,
    home: Path,
    settings: Settings,
    log,
    tags: dict[str, str] | None = None,
) -> bool:
    """`dagster job launch` through a home sharing the instance's storage: the run gets the code
    location's origin, as from the UI, and starts at once."""
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "job",
        "launch",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-j",
        job,
        "--run-id",
        run_id,
        "--tags",
        json.dumps({MONTH_TAG: period.key, LAUNCHED_BY_TAG: LAUNCHED_BY_CLI, **(tags or {})}),
        "--config-json",
        json.dumps(RUN_LOG_CONFIG),
    ]
    # The run's code location and worker rebuild these settings (Settings.load), nothing else.
    environment = child_environment({**settings.environment(), DAGSTER_HOME_ENV: str(prepare_launch_home(home))})
    # Its own session: Ctrl-C reaches this process, which stops the run and says so.
    launch = subprocess.run(
        command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return launch.returncode == 0


def _interrupt(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def _run(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    """The run this command launched: the instance keeps it from its launch on."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise LookupError(f"run {run_id} is not in the instance")
    return run


def _wait(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    """Until the run finishes, or its process is found gone (then it is failed and its slot freed)."""
    handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        with LiveProgress(instance, run_id) as progress:
            while True:
                run = _run(instance, run_id)
                if run.is_finished:
                    return run
                if run_is_dead(instance, run):
                    release_dead_runs(instance)
                    return _run(instance, run_id)
                progress.update()
                time.sleep(POLL_SECONDS)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _stop(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    """SIGTERM to the run's process (Dagster then fails the step and ends the run), SIGKILL if it
    does not end within the grace period; its slots are freed either way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pid = worker_pid(instance, run_id)
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        run = _run(instance, run_id)
        if not run.is_finished:
            instance.report_run_canceled(run, "Stopped from the command line.")
        release_dead_runs(instance)
        return _run(instance, run_id)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# How a full disk reads in DuckDB's, dbt's and the OS's errors.
DISK_FULL = ("No space left on device", "Could not write all bytes", "disk is full", "Errno 28")


def _disk_full_or(error, paths: DataPaths) -> str:
    """A full disk in the clerk's words; any other error as it is."""
    text = str(error).strip()
    if any(marker in text for marker in DISK_FULL):
        return f"the disk holding the data directory {paths.root} is full: free some space, then run the month again"
    return text or "unknown error"


def _failures(events: list[dg.DagsterEvent], success: bool, paths: DataPaths) -> tuple[list[str], list[str]]:
    """Blocking failures, then warnings, in the checks' and steps' own words."""
    failures: list[str] = []
    warnings: list[str] = []
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                found = warnings if evaluation.severity == dg.AssetCheckSeverity.WARN else failures
                found.append(f"{evaluation.check_name}: {plain_text(evaluation.description)}")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            described = data.user_failure_data.description if data.user_failure_data else None
            if described or not any(
                word in (data.error.message if data.error else "") for word in ("blocking", "check")
            ):
                failures.append(f"step {event.step_key}: {_disk_full_or(described or _root_cause(data.error), paths)}")
    if not success and not failures:
        ended = next((e for e in reversed(events) if e.event_type == dg.DagsterEventType.RUN_FAILURE), None)
        if ended is not None:
            failures.append(_run_failure_reason(ended))
    if not success and not failures:
        failures.append("the run did not succeed: see the full log")
    return failures, warnings


def _run_failure_reason(ended: dg.DagsterEvent) -> str:
    """Why a run failed outside any step (a resource refused to start it), else Dagster's line."""
    data = ended.job_failure_data
    if data is not None and data.error is not None:
        return _root_cause(data.error)
    return ended.message or "the run did not succeed: see the full log"


def _root_cause(error) -> str:
    """The innermost error's message: what went wrong, not how Dagster wrapped it (a Failure's
    sentence without the class name)."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip().removeprefix(_FAILURE_PREFIX)


def _ingested(events: list[dg.DagsterEvent]) -> bool:
    return any(
        event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key == MANIFEST_KEY
        for event in events
    )


def _print_summary(settings: Settings, period: BillingPeriod, files_heading: str) -> None:
    paths = settings.paths
    if not paths.warehouse.exists():
        return
    with connect_waiting(paths.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds) as con:
        tables = {
            row[0]
            for row in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        }
        if "raw.file_manifest" in tables:
            say(files_heading)
            for name, kind, status, read, loaded, rejected in con.execute(
                """SELECT file_name, file_kind, status, rows_read, rows_loaded, rows_rejected
                   FROM raw.file_manifest WHERE billing_period = ? ORDER BY file_name""",
                [period.start],
            ).fetchall():
                say(
                    f"  {name:<44} {kind:<16} {status:<12} read {read:>9,}  loaded {loaded:>9,}  rejected {rejected:>6,}"
                )
        if "marts.invoice_reconciliation" in tables:
            say("\nInvoices:")
            invoices = con.execute(
                """SELECT invoice_number, currency, status, recon_pretax, invoice_pretax, pretax_difference, tax_difference
                   FROM marts.invoice_reconciliation WHERE billing_period = ? ORDER BY invoice_number""",
                [period.start],
            ).fetchall()
            if not invoices and "raw.file_manifest" in tables and is_open_month(con, period):
                say(f"  {open_month_sentence(period)}")
            for number, currency, status, recon, invoice, difference, tax_difference in invoices:
                say(
                    f"  {number:<14} {currency or '':<4} {status:<16} recon pretax {_money(recon)}  "
                    f"invoice pretax {_money(invoice)}  difference {_money(difference)}  tax difference {_money(tax_difference)}"
                )
        if "marts.customer_monthly" in tables:
            say("\nCustomers:")
            for currency, customers, cost, billed, margin in con.execute(
                """SELECT currency, count(DISTINCT customer_id), sum(cost_pretax), sum(billed_pretax), sum(margin)
                   FROM marts.customer_monthly WHERE billing_period = ? GROUP BY currency ORDER BY currency""",
                [period.start],
            ).fetchall():
                say(
                    f"  {currency}: {customers} customers, cost {_money(cost)}, billed {_money(billed)}, margin {_money(margin)}"
                )
        for line in azure_summary_lines(con, period, paths):  # budgets and spikes, before the invoice exists
            say(line)


def _print_publication(events: list[dg.DagsterEvent], paths: DataPaths) -> None:
    published = any(
        event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key == PUBLISHED_WAREHOUSE
        for event in events
    )
    if published:
        say(f"\nAnalysts' warehouse updated: {paths.published_warehouse}")
    else:
        say(f"\nAnalysts' warehouse unchanged: this month is not published ({paths.published_warehouse}).")


def _print_month_status(events: list[dg.DagsterEvent]) -> None:
    """What the run did to the month's status (issue 14): drafts, open again, correction pending or corrected."""
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key == MONTH_STATUS:
            said = event.step_materialization_data.materialization.metadata.get("what_happened")
            if said is not None:
                say(f"\nMonth status: {said.value}")


def _money(value) -> str:
    return "-" if value is None else f"{value:,.2f}"
