"""Opening the warehouse while another process holds it: wait for it to let go, up to a limit."""

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import LOCK_WAIT_ENV, REPO_ROOT, SettingError, Settings
from pipelines.warehouse_file import WarehouseLocked, connect_waiting, is_lock_conflict
from tests.corpus import generate_month

PERIOD = "2026-10"
# DuckDB names the holder by its executable (the interpreter behind the venv's link).
HOLDER_PROGRAM = Path(sys.executable).resolve().name

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS answer")
    return path


def test_a_held_warehouse_is_opened_once_the_holder_lets_go(warehouse):
    holder = _hold(warehouse, 2.0)
    try:
        with pytest.raises(duckdb.IOException) as refused:
            duckdb.connect(str(warehouse))
        assert is_lock_conflict(refused.value)
        started = time.monotonic()
        with connect_waiting(warehouse, wait_seconds=30) as con:
            waited = time.monotonic() - started
            assert con.execute("SELECT answer FROM t").fetchone() == (42,)
    finally:
        holder.wait(timeout=30)
    assert 0.5 < waited < 30


def test_a_warehouse_held_past_the_limit_is_a_sentence_naming_the_file_and_the_holder(warehouse):
    holder = _hold(warehouse, 20.0)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked) as refused:
            connect_waiting(warehouse, read_only=True, wait_seconds=1.5)
        assert 1.5 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert is_lock_conflict(refused.value) and isinstance(refused.value, duckdb.IOException)
    assert (refused.value.path, refused.value.pid) == (warehouse, holder.pid)
    message = str(refused.value)
    assert message.startswith(
        f"The warehouse {warehouse} is held by another program (process {holder.pid}: {HOLDER_PROGRAM}), "
        "still after waiting 2 s: close it (an analyst's DuckDB CLI, DBeaver or Python session;"
    )
    assert "IO Error" not in message and "Traceback" not in message


def test_the_wait_for_a_held_warehouse_is_configurable(warehouse):
    wait = Settings.load({LOCK_WAIT_ENV: "0.5"}).lock_wait_seconds
    holder = _hold(warehouse, 20.0)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked):
            connect_waiting(warehouse, wait_seconds=wait)
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert Settings.load({}).lock_wait_seconds == 120
    with pytest.raises(SettingError, match=f"{LOCK_WAIT_ENV}=soon: write a number"):
        Settings.load({LOCK_WAIT_ENV: "soon"})


def _cli(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("csp-recon")), *arguments, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env={**environment, LOCK_WAIT_ENV: "2", "CSP_RECON_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_run_and_a_status_while_an_analyst_holds_the_warehouse_say_so_in_a_sentence(tmp_path):
    generate_month(tmp_path, customers=2, license_rows=4, usage_rows=4, seed=3)
    path = tmp_path / "warehouse.duckdb"
    holder = _hold(path, 600.0)  # an analyst's read-write session on the pipeline's own file
    try:
        run = _cli(tmp_path, "run", "--period", PERIOD)
        status = _cli(tmp_path, "status")
    finally:
        holder.kill()
        holder.wait(timeout=30)
    said = f"The warehouse {path} is held by another program (process {holder.pid}: {HOLDER_PROGRAM}), still after"
    assert run.returncode == 1 and said in run.stdout, run.stdout + run.stderr
    assert "FAILED:" in run.stdout and "Traceback" not in run.stdout + run.stderr
    assert status.returncode == 1 and status.stderr.startswith(said) and "Traceback" not in status.stderr
    with duckdb.connect(str(path), read_only=True) as con:  # the held month loaded nothing
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)


def test_other_open_errors_are_not_waited_for(tmp_path):
    started = time.monotonic()
    with pytest.raises(duckdb.IOException) as refused:
        connect_waiting(tmp_path / "missing.duckdb", read_only=True, wait_seconds=30)
    assert not is_lock_conflict(refused.value)
    assert time.monotonic() - started < 5
