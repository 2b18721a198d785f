"""One run per month at a time from the command line: a second `csp-recon run` (or backfill) of a
month is refused at once with a sentence, while another month runs; a run whose process is killed
never leaves the month locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.runs.instance import prepare_dagster_home
from pipelines.periods import BillingPeriod
from pipelines.runs.lock import MonthBusy, lock_file, month_lock
from pipelines.settings import REPO_ROOT, DataPaths
from tests.corpus import generate_month

PERIOD, OTHER = "2026-10", "2026-11"
RUN_TIMEOUT = 1200  # a loaded CI machine runs a small month in minutes
REFUSED_WITHIN = 60  # seconds: the CLI's start-up, not a wait for the lock

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipelines.periods import BillingPeriod
    from pipelines.runs.lock import month_lock
    from pipelines.settings import DataPaths
    with month_lock(DataPaths(Path(sys.argv[1])), BillingPeriod.parse(sys.argv[2])):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


def _environment(data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return {**environment, "CSP_RECON_DATA_DIR": str(data_dir)}


def _cli(data_dir: Path, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("csp-recon")), *arguments, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=_environment(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _instance_ready(data_dir: Path) -> None:
    """The instance's storage exists before two CLIs open it at once (SQLite schema heads)."""
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(DataPaths(data_dir)))):
        pass


def _runs_of(data_dir: Path, period: str) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(tags={MONTH_TAG: period})))


@pytest.fixture
def holder(tmp_path):
    """Another process holding the run lock of PERIOD, as a running `csp-recon run` does."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), PERIOD],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


@pytest.mark.parametrize(
    "command",
    [("run", "--period", PERIOD), ("backfill", "--from", PERIOD, "--to", PERIOD)],
    ids=["run", "backfill"],
)
def test_a_run_of_a_month_another_process_runs_is_refused_at_once_with_a_sentence(tmp_path, holder, command):
    _instance_ready(tmp_path)
    started = time.monotonic()
    process = _cli(tmp_path, *command)
    output, _ = process.communicate(timeout=REFUSED_WITHIN)
    assert time.monotonic() - started < REFUSED_WITHIN
    assert process.returncode == 1, output
    assert (
        f"csp-recon run {PERIOD}: not started, because another run of {PERIOD} is in progress "
        f"(process {holder.pid}) (one run per month at a time)."
    ) in output
    assert "Traceback" not in output
    assert _runs_of(tmp_path, PERIOD) == []  # nothing was launched
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").glob(f"run-{PERIOD}-*.log"))


def test_the_lock_of_a_killed_run_is_released_by_the_kernel_and_other_months_are_free(tmp_path, holder):
    paths = DataPaths(tmp_path)
    period, other = BillingPeriod.parse(PERIOD), BillingPeriod.parse(OTHER)
    with month_lock(paths, other):  # another month runs meanwhile
        with pytest.raises(MonthBusy) as busy:
            with month_lock(paths, period):
                pass
    assert (busy.value.period, busy.value.holder) == (period, holder.pid)
    holder.send_signal(signal.SIGKILL)  # no clean-up can run: the kernel drops the lock
    holder.wait(timeout=30)
    assert lock_file(paths, period) == tmp_path / "locks" / f"run-{PERIOD}.lock"
    assert lock_file(paths, period).exists()
    with month_lock(paths, period) as held:
        assert held.read_text(encoding="ascii").strip() == str(os.getpid())
    assert lock_file(paths, period).read_text(encoding="ascii") == ""


def test_two_runs_of_a_month_started_together_one_runs_the_other_is_refused(tmp_path):
    generate_month(tmp_path, customers=3, license_rows=8, usage_rows=12)
    _instance_ready(tmp_path)
    first, second = _cli(tmp_path, "run", "--period", PERIOD), _cli(tmp_path, "run", "--period", PERIOD)
    try:
        outputs = {}
        for process in (first, second):
            outputs[process.pid] = process.communicate(timeout=RUN_TIMEOUT)[0]
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    codes = sorted(process.returncode for process in (first, second))
    assert codes == [0, 1], outputs
    refused = next(outputs[process.pid] for process in (first, second) if process.returncode == 1)
    ran = next(outputs[process.pid] for process in (first, second) if process.returncode == 0)
    assert f"csp-recon run {PERIOD}: not started, because " in refused
    assert "(one run per month at a time)" in refused and "Traceback" not in refused
    assert "OK: every blocking check passed." in ran
    runs = _runs_of(tmp_path, PERIOD)
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]
