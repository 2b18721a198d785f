"""Opening the warehouse while another process holds it: wait for it to let go, up to a limit."""

import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.warehouse_file import connect_waiting, is_lock_conflict

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


def test_a_warehouse_held_past_the_limit_fails_with_duckdbs_lock_error(warehouse):
    holder = _hold(warehouse, 20.0)
    try:
        started = time.monotonic()
        with pytest.raises(duckdb.IOException) as refused:
            connect_waiting(warehouse, read_only=True, wait_seconds=1.5)
        assert is_lock_conflict(refused.value)
        assert 1.5 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_other_open_errors_are_not_waited_for(tmp_path):
    started = time.monotonic()
    with pytest.raises(duckdb.IOException) as refused:
        connect_waiting(tmp_path / "missing.duckdb", read_only=True, wait_seconds=30)
    assert not is_lock_conflict(refused.value)
    assert time.monotonic() - started < 5
