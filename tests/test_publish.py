"""The analysts' warehouse: replaced atomically under a reader, only with months that passed.

A reader process holds the published copy open for a whole run: the run succeeds, the reader
keeps its consistent old view, and the next connection sees the new month.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.publishing.immutable import release_tree
from pipelines.settings import DATA_DIR_ENV, REPO_ROOT

FIRST, SECOND, THIRD = "2026-08", "2026-09", "2026-10"
DUCKDB_1X = REPO_ROOT / ".venv" / "duckdb-1.x"

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "SELECT strftime(billing_period, '%Y-%m'), sum(billed_pretax) FROM marts.customer_monthly GROUP BY 1 ORDER BY 1"
    print(con.execute(query).fetchall(), flush=True)
    sys.stdin.readline()
    print(con.execute(query).fetchall(), flush=True)
    """
)


def _summary_rows(month_dir: Path) -> list[dict[str, str]]:
    with (month_dir / "invoice_summary.csv").open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


def _tamper_summary(month_dir: Path, amount: Decimal) -> str:
    """Raise the first invoice's pretax figures by `amount`; returns its number."""
    rows = _summary_rows(month_dir)
    for column in ("UsageCharges", "Total"):
        rows[0][column] = str(Decimal(rows[0][column]) + amount)
    with (month_dir / "invoice_summary.csv").open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows[0]["InvoiceNumber"]


def _billed_by_month(database: Path) -> dict[str, Decimal]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "SELECT strftime(billing_period, '%Y-%m'), sum(billed_pretax) FROM marts.customer_monthly GROUP BY 1"
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def three_months(tmp_path_factory: pytest.TempPathFactory):
    """Two months backfilled, then a third run while a reader holds the published copy."""
    data_dir = tmp_path_factory.mktemp("published")
    landing = data_dir / "landing"
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(landing),
                "--period",
                FIRST,
                "--months",
                "3",
                "--customers",
                "5",
                "--license-rows",
                "20",
                "--usage-rows",
                "60",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    published = data_dir / "published" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DATA_DIR_ENV, str(data_dir))
        env.delenv("DAGSTER_HOME", raising=False)
        backfill_exit = main(["backfill", "--from", FIRST, "--to", SECOND, "--data-dir", str(data_dir)])
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(published)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        before = reader.stdout.readline()
        run_exit = main(["run", "--period", THIRD, "--data-dir", str(data_dir)])
        after, _ = reader.communicate("done\n", timeout=60)
    yield data_dir, backfill_exit, run_exit, before, after
    release_tree(data_dir)  # so that pytest can remove its temporary folders


def test_backfill_publishes_each_month(three_months):
    data_dir, backfill_exit, *_ = three_months
    assert backfill_exit == 0
    assert (data_dir / "exports" / FIRST / "invoices").is_dir() and (
        data_dir / "exports" / SECOND / "invoices"
    ).is_dir()


def test_run_succeeds_while_a_reader_holds_the_published_copy(three_months):
    data_dir, _, run_exit, before, after = three_months
    assert run_exit == 0
    # The reader's connection keeps the copy it opened: two months, the same figures to the end.
    assert before == after
    assert FIRST in before and SECOND in before and THIRD not in before
    published = _billed_by_month(data_dir / "published" / "warehouse.duckdb")
    assert sorted(published) == [FIRST, SECOND, THIRD]
    assert published == _billed_by_month(data_dir / "warehouse.duckdb")


def test_published_copy_lists_its_months_and_has_parquet_marts(three_months):
    data_dir, *_ = three_months
    published = data_dir / "published"
    with duckdb.connect(str(published / "warehouse.duckdb"), read_only=True) as con:
        months = [
            row[0]
            for row in con.execute(
                "SELECT strftime(billing_period, '%Y-%m') FROM meta.published_months ORDER BY 1"
            ).fetchall()
        ]
        marts_rows = con.execute("SELECT count(*) FROM marts.fct_charges").fetchone()[0]
        trends = con.execute("SELECT count(*) FROM marts.customer_trends WHERE previous_period IS NOT NULL").fetchone()[
            0
        ]
    assert months == [FIRST, SECOND, THIRD]
    assert trends > 0
    with duckdb.connect() as con:
        parquet_rows = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(published / "parquet" / "fct_charges" / "*.parquet")]
        ).fetchone()[0]
    assert parquet_rows == marts_rows
    assert sorted(p.stem for p in (published / "parquet" / "fct_charges").iterdir()) == [FIRST, SECOND, THIRD]
    assert (published / "parquet" / "customer_trends.parquet").is_file()
    assert not list(published.glob(".*partial"))


@pytest.mark.skipif(
    not DUCKDB_1X.is_dir() and not os.environ.get("CI"), reason="make install puts DuckDB 1.x in .venv/duckdb-1.x"
)
def test_duckdb_1x_opens_the_published_copy(three_months):
    data_dir, *_ = three_months
    published = data_dir / "published" / "warehouse.duckdb"
    script = (
        "import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__); "
        "print(con.execute(\"SELECT strftime(billing_period, '%Y-%m'), sum(billed_pretax) FROM marts.customer_monthly GROUP BY 1 ORDER BY 1\").fetchall()); "
        "print(con.execute('SELECT count(*) FROM marts.customer_trends').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(published)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(DUCKDB_1X)},
        check=True,
    )
    version, figures, trends = result.stdout.splitlines()
    assert version.startswith("1.")
    expected = sorted(_billed_by_month(published).items())
    assert figures == repr(expected)
    assert int(trends) > 0


def test_failing_month_leaves_the_published_copy_as_it_was(three_months, monkeypatch):
    data_dir, *_ = three_months
    published = data_dir / "published" / "warehouse.duckdb"
    before = published.read_bytes()
    invoice = _tamper_summary(data_dir / "landing" / SECOND, Decimal("1.00"))
    (data_dir / "exports" / SECOND).rename(data_dir / "exports-previous")
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    assert main(["run", "--period", SECOND, "--data-dir", str(data_dir)]) == 1
    assert published.read_bytes() == before
    assert not (data_dir / "exports" / SECOND / "invoices").exists()
    # The pipeline's warehouse keeps the month as it passed; the failing delivery is in quarantine.
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        status, difference = con.execute(
            "SELECT status, pretax_difference FROM marts.invoice_reconciliation WHERE invoice_number = ?", [invoice]
        ).fetchone()
        current, quarantined = (
            con.execute(f"SELECT usage_charges FROM {table} WHERE invoice_number = ?", [invoice]).fetchone()[0]
            for table in ("raw.invoice_summary", "quarantine.quarantined_invoice_summary")
        )
    assert (status, difference) == ("matched", Decimal("0.00"))
    assert abs(quarantined - current) == Decimal("1.00")
