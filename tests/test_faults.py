"""Faults around the analysts' copy: read-write clients, crashed sessions, kills, a full disk.

Every case ends the same way: what analysts read is exactly a publication the pipeline made and
verified (figures computed here from the rows put in the warehouse), and the next publication
works.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.periods import BillingPeriod
from pipelines.publishing import immutable
from pipelines.publishing.warehouse_copy import PublishError, publish_month
from pipelines.settings import REPO_ROOT

AUGUST, SEPTEMBER = date(2026, 8, 1), date(2026, 9, 1)
CUSTOMERS = 18
DUCKDB_1X = REPO_ROOT / ".venv" / "duckdb-1.x"


def _amounts(month: date) -> list[tuple[str, Decimal]]:
    return [(f"c{n:02d}", Decimal(f"{(n + 1) * 99_881 + month.month}.{n:02d}")) for n in range(CUSTOMERS)]


def _expected(*months: date) -> dict[date, tuple[int, Decimal]]:
    return {month: (CUSTOMERS, sum((amount for _, amount in _amounts(month)), Decimal(0))) for month in months}


def _warehouse(path: Path, *months: date) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE SCHEMA IF NOT EXISTS config")
        con.execute(
            "CREATE OR REPLACE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, billed_pretax DECIMAL(24, 6))"
        )
        con.execute(
            "CREATE OR REPLACE TABLE config.customers AS SELECT 'c' || lpad(i::VARCHAR, 2, '0') AS customer_id FROM range(18) t(i)"
        )
        con.executemany(
            "INSERT INTO marts.customer_monthly VALUES (?, ?, ?)",
            [(month, customer, amount) for month in months for customer, amount in _amounts(month)],
        )


def _figures(database: Path) -> dict[date, tuple[int, Decimal]]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "SELECT billing_period, count(*), sum(billed_pretax) FROM marts.customer_monthly GROUP BY 1"
        ).fetchall()
    return {month: (count, total) for month, count, total in rows}


@pytest.fixture
def data(tmp_path):
    source, target = tmp_path / "warehouse.duckdb", tmp_path / "published" / "warehouse.duckdb"
    _warehouse(source, AUGUST)
    publish_month(source, target, BillingPeriod.containing(AUGUST), "run-august")
    _warehouse(source, AUGUST, SEPTEMBER)
    yield source, target
    immutable.release_tree(tmp_path)


ANALYST = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, as the DuckDB CLI and DBeaver open by default
    con.execute("DELETE FROM marts.customer_monthly WHERE customer_id > 'c09'")
    print("written", flush=True)
    sys.stdin.readline()
    """
)


def _analyst(database: Path, python_path: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(python_path)} if python_path else None
    return subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("client", ["duckdb-2", "duckdb-1.x"])
def test_a_read_write_open_of_the_published_copy_fails_and_changes_nothing(data, client):
    _, target = data
    if client == "duckdb-1.x" and not DUCKDB_1X.is_dir():
        pytest.skip("make install puts DuckDB 1.x in .venv/duckdb-1.x")
    before = target.read_bytes()
    analyst = _analyst(target, DUCKDB_1X if client == "duckdb-1.x" else None)
    out, err = analyst.communicate("", timeout=120)
    assert analyst.returncode != 0 and "written" not in out
    assert "Permission denied" in err or "Operation not permitted" in err
    assert target.read_bytes() == before
    assert not target.with_name(target.name + ".wal").exists()
    assert _figures(target) == _expected(AUGUST)


def _legacy_writable(target: Path) -> None:
    """The copy as an earlier release left it: a plain writable file in a writable folder."""
    immutable.writable_folder(target.parent)
    immutable.unlock(target)
    target.chmod(0o644)


def test_a_read_write_session_left_open_on_an_old_copy_never_reaches_the_next(data):
    source, target = data
    _legacy_writable(target)
    analyst = _analyst(target)
    assert analyst.stdout.readline().strip() == "written"
    assert target.with_name(target.name + ".wal").exists()  # the session's change waits in its WAL
    try:
        publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
        assert _figures(target) == _expected(AUGUST, SEPTEMBER)
    finally:
        analyst.send_signal(signal.SIGKILL)
        analyst.wait(timeout=60)
    assert not target.with_name(target.name + ".wal").exists()
    assert _figures(target) == _expected(AUGUST, SEPTEMBER)
    assert immutable.is_immutable(target) or not os.access(target, os.W_OK) or os.geteuid() == 0


def test_a_crashed_read_write_session_never_reaches_the_next_publication(data):
    source, target = data
    _legacy_writable(target)
    analyst = _analyst(target)
    assert analyst.stdout.readline().strip() == "written"
    analyst.send_signal(signal.SIGKILL)
    analyst.wait(timeout=60)
    wal = target.with_name(target.name + ".wal")
    assert wal.exists()
    # What the issue saw: every reader now gets the crashed session's 10 customers.
    assert _figures(target)[AUGUST][0] == 10
    publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    assert not wal.exists()
    assert _figures(target) == _expected(AUGUST, SEPTEMBER)


def test_a_copy_written_to_after_publication_is_refused_with_a_sentence(data):
    source, target = data
    before = _figures(target)
    _legacy_writable(target)
    with duckdb.connect(str(target)) as con:
        con.execute("UPDATE marts.customer_monthly SET billed_pretax = 0 WHERE customer_id = 'c01'")
    with pytest.raises(PublishError) as refused:
        publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    assert "was changed after it was published" in str(refused.value)
    assert "is unchanged: it still holds 2026-08" in str(refused.value)
    assert sorted(_figures(target)) == sorted(before)


def test_a_publication_that_does_not_match_the_warehouse_is_not_swapped_in(data, monkeypatch):
    source, target = data
    before = target.read_bytes()
    from pipelines.publishing import warehouse_copy

    real = warehouse_copy._replace_month

    def losing_rows(con, table, period):
        count = real(con, table, period)
        con.execute(f"DELETE FROM pub.{table} WHERE rowid IN (SELECT min(rowid) FROM pub.{table})")
        return count

    monkeypatch.setattr(warehouse_copy, "_replace_month", losing_rows)
    with pytest.raises(PublishError) as refused:
        publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    message = str(refused.value)
    assert "failed its verification, so it was not published" in message
    assert "marts.customer_monthly (2026-08): rows is 17 in the new copy but 18 in the previous copy" in message
    assert "The analysts' copy" in message and "is unchanged: it still holds 2026-08." in message
    assert target.read_bytes() == before
    assert not list(target.parent.rglob("*.partial"))


# Where a publication is killed: (function in warehouse_copy's namespace, call that kills).
KILL_POINTS = [
    ("_copy_with_digest", 1),  # while copying the previous copy
    ("_update_copy", 1),  # while writing the month into the new file
    ("_verify", 1),
    ("_stage_parquet", 1),
    ("_switch", 1),  # the new version exists, the stable name not yet moved
    ("_remove_older", 1),  # after the switch: the new copy is published
]

KILLED_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pipelines.periods import BillingPeriod
    from pipelines.publishing import warehouse_copy
    name, source, target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    real = getattr(warehouse_copy, name)
    def killed(*args, **kwargs):
        if name in ("_switch", "_remove_older", "_copy_with_digest"):
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    setattr(warehouse_copy, name, killed)
    warehouse_copy.publish_month(source, target, BillingPeriod.parse("2026-09"), "run-killed")
    """
)


@pytest.mark.parametrize("point", [name for name, _ in KILL_POINTS])
def test_a_publication_killed_at_any_moment_leaves_a_whole_copy_and_the_next_works(data, point):
    source, target = data
    result = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLISH, point, str(source), str(target)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    after_kill = _figures(target)
    expected = _expected(AUGUST, SEPTEMBER) if point == "_remove_older" else _expected(AUGUST)
    assert after_kill == expected
    publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    assert _figures(target) == _expected(AUGUST, SEPTEMBER)
    assert not list(target.parent.rglob("*.partial"))
    versions = [path for path in (target.parent / "versions").iterdir() if path.suffix == ".duckdb"]
    assert len(versions) == 1 and versions[0].stat().st_ino == target.stat().st_ino


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _mount_tmpfs(folder: Path, size_bytes: int) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )


def test_a_full_disk_during_publication_leaves_the_previous_copy(tmp_path):
    source = tmp_path / "warehouse.duckdb"
    _warehouse(source, AUGUST)
    with duckdb.connect(str(source)) as con:  # bulk so that a second copy cannot fit
        con.execute(
            "INSERT INTO marts.customer_monthly SELECT DATE '2026-09-01', 'bulk' || (i % 997), (i % 100000) / 100 FROM range(2000000) t(i)"
        )
    trial = tmp_path / "trial" / "warehouse.duckdb"
    publish_month(source, trial, BillingPeriod.containing(AUGUST), "run-trial")
    august_only = _folder_size(trial.parent)
    publish_month(source, trial, BillingPeriod.containing(SEPTEMBER), "run-trial")
    with_september = _folder_size(trial.parent)
    immutable.release_tree(trial.parent)
    small_disk = tmp_path / "small"
    if not _mount_tmpfs(small_disk, august_only + with_september // 2):
        pytest.skip("a small tmpfs cannot be mounted here (needs root and mount rights)")
    try:
        target = small_disk / "published" / "warehouse.duckdb"
        publish_month(source, target, BillingPeriod.containing(AUGUST), "run-august")
        before = target.read_bytes()
        with pytest.raises(PublishError) as refused:
            publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
        message = str(refused.value)
        assert "Publishing 2026-09 failed: the disk holding the analysts' copy is full" in message
        assert "is unchanged: it still holds 2026-08." in message
        assert "Traceback" not in message and "Error:" not in message
        assert target.read_bytes() == before
        assert _figures(target) == _expected(AUGUST)
        assert not list(target.parent.rglob("*.partial"))
    finally:
        immutable.release_tree(small_disk)
        subprocess.run(["umount", str(small_disk)], check=False)


def _parquet_total(path: Path) -> tuple[int, Decimal]:
    with duckdb.connect() as con:
        count, total = con.execute("SELECT count(*), sum(billed_pretax) FROM read_parquet(?)", [str(path)]).fetchone()
    return count, total


def test_published_parquet_files_are_read_only_and_a_re_run_replaces_them(data):
    source, target = data
    publication = publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    folder = target.parent / "parquet"
    september = folder / "customer_monthly" / "2026-09.parquet"
    assert _parquet_total(september) == _expected(SEPTEMBER)[SEPTEMBER]
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    folders = [folder, *(path for path in folder.rglob("*") if path.is_dir())]
    assert [path.relative_to(folder).as_posix() for path in files] == [
        "customer_monthly/2026-08.parquet",
        "customer_monthly/2026-09.parquet",
    ]
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {"0o444"}
    assert {oct(path.stat().st_mode & 0o777) for path in folders} == {"0o555"}
    if publication.immutable or os.geteuid() != 0:
        # What an analyst's tool would try: overwrite, delete, or add a file beside the month's.
        with pytest.raises(PermissionError):
            september.open("r+b")
        with pytest.raises(PermissionError):
            september.unlink()
        if os.geteuid() != 0:
            with pytest.raises(PermissionError):
                (september.parent / "mine.parquet").write_bytes(b"x")
    assert _parquet_total(september) == _expected(SEPTEMBER)[SEPTEMBER]

    # A re-run of September after a corrected file: its Parquet file is replaced, sealed again.
    with duckdb.connect(str(source)) as con:
        con.execute(
            "UPDATE marts.customer_monthly SET billed_pretax = billed_pretax + 1 WHERE billing_period = ?", [SEPTEMBER]
        )
    publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september-again")
    count, total = _expected(SEPTEMBER)[SEPTEMBER]
    assert _parquet_total(september) == (count, total + count)
    assert oct(september.stat().st_mode & 0o777) == "0o444"
    assert {oct(path.stat().st_mode & 0o777) for path in folders} == {"0o555"}
    assert immutable.is_immutable(september) == publication.immutable
    assert not list(folder.rglob("*.partial"))

    # The tests' clean-up (and an administrator) can still remove the tree once released.
    immutable.release_tree(target.parent)
    september.unlink()
    assert not september.exists()


def test_nothing_can_be_put_beside_the_published_copy_and_a_re_run_still_publishes(data):
    """A WAL beside the copy is replayed by DuckDB onto every reader's view (a read-only one
    too): the folder is sealed between publications, opened only by the next one."""
    source, target = data
    publication = publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september")
    wal = target.with_name(target.name + ".wal")
    for folder in (target.parent, target.parent / "versions"):
        assert oct(folder.stat().st_mode & 0o777) == "0o555", folder
    if not publication.immutable and os.geteuid() == 0:
        pytest.skip("root ignores the folder's mode and this file system has no immutable flag")
    with pytest.raises(PermissionError):
        wal.write_bytes(b"planted")
    with pytest.raises(PermissionError):
        (target.parent / "versions" / "warehouse.duckdb.wal").write_bytes(b"planted")
    assert _figures(target) == _expected(AUGUST, SEPTEMBER), "readers read the sealed folder"
    with duckdb.connect(str(source)) as con:
        con.execute(
            "UPDATE marts.customer_monthly SET billed_pretax = billed_pretax + 1 WHERE billing_period = ?", [SEPTEMBER]
        )
    publish_month(source, target, BillingPeriod.containing(SEPTEMBER), "run-september-again")
    count, total = _expected(SEPTEMBER)[SEPTEMBER]
    assert _figures(target)[SEPTEMBER] == (count, total + count)
    assert oct(target.parent.stat().st_mode & 0o777) == "0o555" and not wal.exists()
