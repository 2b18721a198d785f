"""A CLI run is a run of the instance (code location origin, month tag), one run per month at a
time, and a run killed mid-step never blocks the next one. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.runs.instance import prepare_dagster_home
from pipelines.defs.runs.monthly_run import worker_pid
from pipelines.settings import REPO_ROOT, DataPaths

PERIOD = "2026-10"
RUN_TIMEOUT = 1200  # a loaded CI machine runs a small month in minutes
CODE_LOCATION = "csp_recon"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("runs")
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                PERIOD,
                "--customers",
                "3",
                "--license-rows",
                "8",
                "--usage-rows",
                "12",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    # The instance's storage exists before the test polls it beside a starting CLI (SQLite
    # storage created by two processes at once can get two schema heads).
    home = prepare_dagster_home(DataPaths(data_dir))
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return data_dir


def _environment(data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return {**environment, "CSP_RECON_DATA_DIR": str(data_dir)}


def _cli(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("csp-recon")), "run", "--period", PERIOD, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=_environment(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _instance(data_dir: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(data_dir / "dagster_home"))


def _running_step_pid(data_dir: Path, timeout: float = 300) -> tuple[str, int]:
    """The run of the month and its worker's pid, once a step has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _instance(data_dir) as instance:
            for run in instance.get_runs(
                filters=dg.RunsFilter(tags={MONTH_TAG: PERIOD}, statuses=[dg.DagsterRunStatus.STARTED])
            ):
                pid = worker_pid(instance, run.run_id)
                started = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
                if pid and started:
                    return run.run_id, pid
        time.sleep(1)
    raise TimeoutError("no run of the month reached a step")


def _finish(process: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def _stop(data_dir: Path, process: subprocess.Popen, run_id: str, pid: int, stop: signal.Signals) -> dict:
    """Stop a CLI run whose step is running: what it said and what it left behind."""
    if stop == signal.SIGKILL:  # the worker and the CLI die without a word: nothing can clean up
        os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait(timeout=30)
        return {"run_id": run_id}
    process.send_signal(stop)
    code, output = _finish(process, timeout=90)
    with _instance(data_dir) as instance:
        finished = instance.get_run_by_id(run_id).is_finished
        holding = run_id in instance.event_log_storage.get_concurrency_run_ids()
    return {"run_id": run_id, "code": code, "output": output, "finished": finished, "holding": holding}


def _started(data_dir: Path) -> tuple[subprocess.Popen, str, int]:
    process = _cli(data_dir)
    return process, *_running_step_pid(data_dir)


@pytest.fixture(scope="module")
def stopped_runs(data_dir) -> dict:
    """One month, run after run: a second run refused while the first runs, then the first stopped
    by SIGTERM, one stopped by a closed terminal (SIGHUP), one killed (SIGKILL), and a last run
    that must succeed after all of them: one full run rather than one after each stop."""
    first, run_id, pid = _started(data_dir)
    code, output = _finish(_cli(data_dir), timeout=120)
    stops: dict = {"refused": {"run_id": run_id, "code": code, "output": output}}
    stops[signal.SIGTERM] = _stop(data_dir, first, run_id, pid, signal.SIGTERM)
    for stop in (signal.SIGHUP, signal.SIGKILL):
        stops[stop] = _stop(data_dir, *_started(data_dir), stop)
    stops["next"] = _finish(_cli(data_dir))
    return stops


def test_a_second_run_of_a_month_in_progress_is_refused_with_a_sentence(stopped_runs):
    refused = stopped_runs["refused"]
    assert refused["code"] == 1
    assert (
        f"not started, because run {refused['run_id']} of {PERIOD} is started (one run per month at a time)"
        in refused["output"]
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP-closed-terminal"])
def test_a_stopped_run_says_so_and_frees_its_slot(stopped_runs, stop):
    stopped = stopped_runs[stop]
    assert stopped["code"] == 130
    assert f"stopped by {stop.name} (run {stopped['run_id']}" in stopped["output"]
    assert stopped["finished"] and not stopped["holding"]


def test_the_run_after_stopped_and_killed_runs_succeeds_and_the_killed_one_is_failed(stopped_runs, data_dir):
    code, output = stopped_runs["next"]
    assert code == 0, output
    assert "OK: every blocking check passed." in output
    with _instance(data_dir) as instance:
        killed = instance.get_run_by_id(stopped_runs[signal.SIGKILL]["run_id"])
        assert killed.status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_run_ids()


def test_a_cli_run_has_the_code_location_origin_and_the_month_tag(stopped_runs, data_dir):
    with _instance(data_dir) as instance:
        runs = instance.get_runs(
            filters=dg.RunsFilter(job_name="monthly_close", statuses=[dg.DagsterRunStatus.SUCCESS])
        )
        assert runs
        latest = runs[0]
        assert latest.tags[MONTH_TAG] == PERIOD
        assert latest.remote_job_origin is not None
        assert latest.remote_job_origin.location_name == CODE_LOCATION
