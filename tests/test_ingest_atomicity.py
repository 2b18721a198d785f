"""A month is replaced in one transaction or not at all: a failure half-way through the replace
(an exception, or the process killed outright) leaves the previous data exactly as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from corpus import (
    FailingConnection,
    data_paths,
    generate_month,
    landed_files,
    load,
    manifest,
    snapshot,
    write_csv,
)

import pipelines.ingest.month as month_module
from pipelines.ingest.month import load_month
from pipelines.periods import BillingPeriod

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def replaced_month(tmp_path):
    """September and October loaded; then a different October lands (more rows, other amounts,
    one usage file gone, one bad line). Returns the data dir and the snapshot before the reload."""
    october = generate_month(tmp_path, seed=3, customers=4, license_rows=10, usage_rows=20)
    generate_month(tmp_path, seed=3, customers=4, license_rows=10, usage_rows=20, period="2026-09")
    load(tmp_path, "2026-09")
    load(tmp_path)
    before = snapshot(tmp_path)
    assert all(before[t] for t in ("raw.license_recon", "raw.usage_recon", "raw.invoice_summary", "raw.file_manifest"))

    for path in october.iterdir():
        path.unlink()
    generate_month(tmp_path, seed=4, customers=5, license_rows=30, usage_rows=50)
    files = landed_files(october)
    usage = files[("usage_recon", "EUR")]
    usage.rows[0]["PretaxCharges"] = "12,50"
    write_csv(usage.path, usage.header, usage.rows)
    files[("usage_recon", "USD")].path.rename(october / "renamed usage.csv")
    return tmp_path, before


# Points inside the replace, from the first DELETE to the COMMIT itself.
FAIL_BEFORE = [
    "DELETE FROM raw.usage_recon",  # after the license rows of the month were deleted
    "INSERT INTO raw.usage_recon",  # after every delete and the license inserts
    "INSERT INTO raw.rejected_rows",  # after the recon rows went in
    "INSERT INTO raw.invoice_summary",
    "INSERT INTO raw.file_manifest",  # the last statement before COMMIT
    "COMMIT",
]


@pytest.mark.parametrize("trigger", FAIL_BEFORE)
def test_an_error_half_way_through_the_replace_leaves_the_previous_month(replaced_month, trigger):
    data_dir, before = replaced_month
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        failing = FailingConnection(con, trigger)
        with pytest.raises(RuntimeError, match="simulated failure"):
            load_month(failing, data_paths(data_dir), BillingPeriod.parse("2026-10"))
    statements = failing.statements
    began = statements.index("BEGIN TRANSACTION")
    assert statements[-2].startswith(trigger) and statements[-1] == "ROLLBACK"
    assert statements[began + 1].startswith("DELETE FROM raw.license_recon"), (
        "the failure comes after rows were deleted"
    )
    assert snapshot(data_dir) == before

    # The same connection's work is gone too, and the next load goes through.
    load(data_dir)
    assert snapshot(data_dir) != before
    assert manifest(data_dir)["renamed usage.csv"]["status"] == "loaded"


def test_an_error_after_some_files_were_inserted_leaves_the_previous_month(replaced_month, monkeypatch):
    """The replace step's own helper fails on the second file: the first file's rows and rejects
    were already inserted."""
    data_dir, before = replaced_month
    real = month_module.insert_rejected_rows
    calls = []

    def failing_insert(con, read, billing_period):
        calls.append(read.scanned.name)
        real(con, read, billing_period)
        if len(calls) == 2:
            inserted = con.execute(
                "SELECT count(*) FROM raw.usage_recon WHERE billing_period = DATE '2026-10-01'"
            ).fetchone()[0]
            assert inserted > 0, "the failure must come after rows of the new month went in"
            raise OSError("disk full")

    monkeypatch.setattr(month_module, "insert_rejected_rows", failing_insert)
    with pytest.raises(OSError, match="disk full"):
        load(data_dir)
    assert len(calls) == 2
    assert snapshot(data_dir) == before


def test_a_killed_process_mid_replace_leaves_the_previous_month(replaced_month):
    """SIGKILL inside the transaction, after a large insert (more than one DuckDB row group, so
    data blocks reach the file before COMMIT): reopening the warehouse shows the old month."""
    data_dir, before = replaced_month
    october = data_dir / "landing" / "2026-10"
    for path in october.iterdir():
        path.unlink()
    generate_month(data_dir, seed=8, customers=6, license_rows=500, usage_rows=130_000, currencies="EUR")
    child = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(TESTS_DIR)!r})
        import duckdb
        from pathlib import Path
        from corpus import FailingConnection, data_paths
        from pipelines.ingest.month import load_month
        from pipelines.periods import BillingPeriod

        data_dir = Path({str(data_dir)!r})
        con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
        failing = FailingConnection(con, "INSERT INTO raw.file_manifest", kill=True)
        load_month(failing, data_paths(data_dir), BillingPeriod.parse("2026-10"))
        print("the load finished: it should have been killed")
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert result.returncode == -9, result.stdout + result.stderr

    assert snapshot(data_dir) == before
    # The warehouse is not left locked or damaged: the next load goes through.
    load(data_dir)
    usage_file = next(p.name for p in october.iterdir() if "Usage" in p.name)
    assert manifest(data_dir)[usage_file]["rows_loaded"] == 130_000


def test_a_file_that_cannot_be_read_leaves_the_previous_month(replaced_month):
    data_dir, before = replaced_month
    october = data_dir / "landing" / "2026-10"
    license_file = landed_files(october)[("license_recon", "EUR")]
    write_csv(license_file.path, [name for name in license_file.header if name != "CustomerId"], license_file.rows)

    with pytest.raises(month_module.IngestError, match="CustomerId"):
        load(data_dir)
    assert snapshot(data_dir) == before
