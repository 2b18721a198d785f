"""kill -9 at each step that writes a month into the pipeline's warehouse, 20 kills in all: the
month's load, keeping it as the last good month, settling a failed delivery, recording dbt
verdicts. After each kill the month is wholly one delivery or the other (never a mix), the last
good month still comes back exactly, and the step run again completes.

One generated month, loaded once; every kill works on a copy of that warehouse, in a forked child
that SIGKILLs itself at a chosen statement of the step (counted by a proxy around its DuckDB
connection). Kills around the analysts' copy are in test_faults.py, kills of whole CLI
runs in test_runs.py.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.ingest.month import load_month
from pipelines.ingest.quarantine import fingerprint, keep_as_last_good, settle_failed_month
from pipelines.periods import BillingPeriod
from pipelines.quality.dbt_results import RESULTS_TABLE, record_results
from pipelines.settings import DataPaths

PERIOD, MONTH = "2026-09", date(2026, 9, 1)
BILLING_PERIOD = BillingPeriod.containing(MONTH)
# Where in each step a kill lands: fractions of the statements the step issues.
KILLS = {"ingest": 6, "keep_as_last_good": 5, "settle": 6, "record_verdicts": 3}
RESULTS = {"results": [{"unique_id": f"test.csp_recon.t{n}", "status": "pass", "failures": 0} for n in range(40)]}


class Killing:
    """A step's connection: SIGKILL right after its `kill_at`-th statement (0: never; count them)."""

    def __init__(self, con, kill_at: int):
        self.con, self.kill_at, self.count = con, kill_at, 0

    def _after(self, result):
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    def execute(self, *args):
        return self._after(self.con.execute(*args))

    def executemany(self, *args):
        return self._after(self.con.executemany(*args))

    def __getattr__(self, name):
        return getattr(self.con, name)


def _run_step(step: str, con, data_dir: Path) -> None:
    if step == "ingest":
        load_month(con, DataPaths(data_dir), BILLING_PERIOD)
    elif step == "keep_as_last_good":
        keep_as_last_good(con, BILLING_PERIOD, "run-keep")
    elif step == "settle":
        settle_failed_month(con, BILLING_PERIOD, "run-failed", ("invoices_reconcile: off by 1.00",))
    else:
        record_results(con, BILLING_PERIOD, "fp-new", RESULTS, "run-record")


def _step(states, step: str, kill_at: int, warehouse: Path) -> tuple[bool, int]:
    """(killed, statements issued) of the step run in a forked child, on `warehouse`: forked, not a
    new interpreter, so that twenty kills cost seconds."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(reading)
            proxy = Killing(duckdb.connect(str(warehouse)), kill_at)
            _run_step(step, proxy, states["data_dir"])
            proxy.con.close()
            os.write(writing, str(proxy.count).encode())
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        issued = pipe.read()
    _, status = os.waitpid(child, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert killed or os.WEXITSTATUS(status) == 0, f"the {step} step failed in its child (status {status})"
    return killed, int(issued or 0)


def _tamper(month_dir: Path) -> None:
    path = month_dir / "invoice_summary.csv"
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    rows[0]["UsageCharges"] = str(Decimal(rows[0]["UsageCharges"]) + Decimal("1.00"))
    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _build_marts(con) -> None:
    """Marts from the month's raw rows, as dbt would rebuild them after a new delivery."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE TABLE IF NOT EXISTS marts.customer_monthly (billing_period DATE, customer_id VARCHAR, cost_pretax DECIMAL(28,6))"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS marts.invoice_reconciliation (billing_period DATE, invoice_number VARCHAR, invoice_pretax DECIMAL(28,6))"
    )
    con.execute("DELETE FROM marts.customer_monthly WHERE billing_period = ?", [MONTH])
    con.execute("DELETE FROM marts.invoice_reconciliation WHERE billing_period = ?", [MONTH])
    con.execute(
        "INSERT INTO marts.customer_monthly SELECT billing_period, customer_id, sum(pretax_charges) FROM raw.usage_recon "
        "WHERE billing_period = ? GROUP BY ALL",
        [MONTH],
    )
    con.execute(
        "INSERT INTO marts.invoice_reconciliation SELECT billing_period, invoice_number, usage_charges + license_charges "
        "FROM raw.invoice_summary WHERE billing_period = ?",
        [MONTH],
    )


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """Warehouse files: `good` (the month passed and is kept as last good), `delivered` (a failed
    delivery loaded and its marts built on top of `good`), and the data dir with that delivery."""
    root = tmp_path_factory.mktemp("kills")
    data_dir = root / "data"
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
                "7",
            ]
        )
        == 0
    )
    paths = DataPaths(data_dir)
    good, delivered = root / "good.duckdb", root / "delivered.duckdb"
    with duckdb.connect(str(good)) as con:
        load_month(con, paths, BILLING_PERIOD)
        _build_marts(con)
        keep_as_last_good(con, BILLING_PERIOD, "run-good")
        good_print = fingerprint(con, BILLING_PERIOD)
    _tamper(paths.landing(BILLING_PERIOD))
    shutil.copyfile(good, delivered)
    with duckdb.connect(str(delivered)) as con:
        load_month(con, paths, BILLING_PERIOD)
        _build_marts(con)
        delivered_print = fingerprint(con, BILLING_PERIOD)
    assert good_print != delivered_print
    return {
        "root": root,
        "data_dir": data_dir,
        "good": good,
        "delivered": delivered,
        "good_print": good_print,
        "delivered_print": delivered_print,
    }


STARTS = {"ingest": "good", "keep_as_last_good": "delivered", "settle": "delivered", "record_verdicts": "good"}


@pytest.fixture(scope="module")
def statements(states):
    """How many statements each step issues, counted on an unkilled run of it."""
    counted = {}
    for step, start in STARTS.items():
        copy = states["root"] / f"count-{step}.duckdb"
        shutil.copyfile(states[start], copy)
        killed, counted[step] = _step(states, step, 0, copy)
        assert not killed and counted[step] > KILLS[step]
    return counted


CASES = [(step, n) for step, kills in KILLS.items() for n in range(kills)]
assert len(CASES) == 20


@pytest.mark.parametrize(("step", "nth"), CASES, ids=[f"{step}-{nth}" for step, nth in CASES])
def test_a_step_killed_at_any_statement_leaves_a_whole_month_and_runs_again(states, statements, step, nth, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(states[STARTS[step]], warehouse)
    total = statements[step]
    kill_at = max(1, round(total * (nth + 1) / (KILLS[step] + 1)))
    killed, _ = _step(states, step, kill_at, warehouse)
    assert killed

    with duckdb.connect(str(warehouse)) as con:
        now = fingerprint(con, BILLING_PERIOD)
        if step == "ingest":
            # Never half a delivery: the previous one untouched, or the new one whole (kill after COMMIT).
            raw = _raw_rows(con)
            assert raw in (_raw_rows_of(states["good"]), _raw_rows_of(states["delivered"]))
            if raw == _raw_rows_of(states["good"]):
                assert now == states["good_print"]
            load_month(con, DataPaths(states["data_dir"]), BILLING_PERIOD)
            assert _raw_rows(con) == _raw_rows_of(states["delivered"])
        elif step == "keep_as_last_good":
            # Whatever the kill left, a failure now brings back exactly the rows last kept whole.
            kept = con.execute("SELECT fingerprint FROM last_good.months WHERE billing_period = ?", [MONTH]).fetchone()[
                0
            ]
            assert kept in (states["good_print"], states["delivered_print"])
            con.execute("DELETE FROM marts.customer_monthly WHERE billing_period = ?", [MONTH])
            settle_failed_month(con, BILLING_PERIOD, "run-later", ("x",))
            assert fingerprint(con, BILLING_PERIOD) == kept
        elif step == "settle":
            assert now in (states["good_print"], states["delivered_print"])
            settlement = settle_failed_month(con, BILLING_PERIOD, "run-again", ("x",))
            assert fingerprint(con, BILLING_PERIOD) == states["good_print"]
            assert settlement.outcome in ("restored", "unchanged")
            quarantined = con.execute("SELECT count(*) FROM quarantine.quarantined_usage_recon").fetchone()[0]
            assert (
                quarantined
                == con.execute("SELECT count(*) FROM raw.usage_recon WHERE billing_period = ?", [MONTH]).fetchone()[0]
            )
        else:
            exists = con.execute(
                "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'dbt_test_results'"
            ).fetchone()
            count = con.execute(f"SELECT count(*) FROM {RESULTS_TABLE}").fetchone()[0] if exists else 0
            assert count in (0, len(RESULTS["results"]))  # no verdict, or all of them
            record_results(con, BILLING_PERIOD, "fp-new", RESULTS, "run-again")
            assert con.execute(f"SELECT count(*) FROM {RESULTS_TABLE}").fetchone()[0] == len(RESULTS["results"])


RAW_CONTENT = ("raw.license_recon", "raw.usage_recon", "raw.invoice_summary", "raw.rejected_rows")


def _raw_rows(con) -> dict[str, list[tuple]]:
    """The month's raw rows (the manifest's load times aside: a new file is stamped when loaded)."""
    return {
        table: con.execute(f"SELECT * FROM {table} WHERE billing_period = ? ORDER BY ALL", [MONTH]).fetchall()
        for table in RAW_CONTENT
    }


def _raw_rows_of(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _raw_rows(con)
