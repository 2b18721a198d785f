"""A failed delivery never replaces the last good month in the pipeline's warehouse: its raw rows
go to `quarantine`, the last good raw rows and marts come back, and the sentence says which
figures are current. Generic over every raw table (RAW_TABLES) and every mart."""

from __future__ import annotations

import csv
import io
from contextlib import redirect_stdout
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.ingest.quarantine import fingerprint, keep_as_last_good, settle_failed_month
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.periods import BillingPeriod

SEPTEMBER, AUGUST = date(2026, 9, 1), date(2026, 8, 1)
SEPTEMBER_PERIOD = BillingPeriod.containing(SEPTEMBER)
LOADED = datetime(2026, 11, 8, 9, 30)


def _deliver(con, month: date, files: dict[str, Decimal], loaded_at: datetime) -> None:
    """A month's delivery: one invoice summary row and one daily usage row per file, and a mart."""
    for table in ("raw.invoice_summary", "raw.daily_usage", "raw.file_manifest", "marts.customer_monthly"):
        con.execute(f"DELETE FROM {table} WHERE billing_period = ?", [month])
    for line, (name, amount) in enumerate(files.items(), start=2):
        con.execute(
            "INSERT INTO raw.invoice_summary (billing_period, source_file, source_line, file_sha256, invoice_number, total) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [month, name, line, f"sha-{name}", f"G{line:09d}", amount],
        )
        con.execute(
            "INSERT INTO raw.daily_usage (billing_period, source_file, source_line, file_sha256) VALUES (?, ?, ?, ?)",
            [month, name, line, f"sha-{name}"],
        )
        con.execute(
            "INSERT INTO raw.file_manifest VALUES (?, ?, 'invoice_summary', 'loaded', NULL, 'EUR', ?, 10, 'utf-8', 1, 1, 0, [], NULL, ?)",
            [month, name, f"sha-{name}", loaded_at],
        )
        con.execute(
            "INSERT INTO marts.customer_monthly (billing_period, customer_id, billed_pretax) VALUES (?, ?, ?)",
            [month, f"c-{name}", amount],
        )


def _figures(con, table: str, month: date = SEPTEMBER) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} WHERE billing_period = ? ORDER BY ALL", [month]).fetchall()


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, billed_pretax DECIMAL(28,2))"
    )
    _deliver(con, AUGUST, {"aug.csv": Decimal("5.00")}, LOADED)
    _deliver(con, SEPTEMBER, {"good.csv": Decimal("100.00")}, LOADED)
    return con


def test_a_failed_delivery_goes_to_quarantine_and_the_last_good_month_comes_back(warehouse):
    con = warehouse
    assert keep_as_last_good(con, SEPTEMBER_PERIOD, "run-good")
    good = {
        table: _figures(con, table)
        for table in ("raw.invoice_summary", "raw.daily_usage", "raw.file_manifest", "marts.customer_monthly")
    }
    august = _figures(con, "marts.customer_monthly", AUGUST)
    _deliver(
        con, SEPTEMBER, {"new-a.csv": Decimal("101.00"), "new-b.csv": Decimal("7.00")}, datetime(2026, 12, 1, 8, 0)
    )

    settlement = settle_failed_month(
        con, SEPTEMBER_PERIOD, "run-bad", ("invoices_reconcile: Invoice G000000002 differs by 1.00",)
    )

    assert settlement.outcome == "restored"
    assert {table: _figures(con, table) for table in good} == good
    assert _figures(con, "marts.customer_monthly", AUGUST) == august  # other months untouched
    quarantined = con.execute(
        "SELECT source_file, total, quarantine_run_id FROM quarantine.quarantined_invoice_summary ORDER BY 1"
    ).fetchall()
    assert quarantined == [
        ("new-a.csv", Decimal("101.000000"), "run-bad"),
        ("new-b.csv", Decimal("7.000000"), "run-bad"),
    ]
    assert con.execute("SELECT count(*) FROM quarantine.quarantined_daily_usage").fetchone() == (2,)
    files, problems = con.execute("SELECT files, problems FROM quarantine.deliveries").fetchone()
    assert files == ["new-a.csv", "new-b.csv"] and problems == [
        "invoices_reconcile: Invoice G000000002 differs by 1.00"
    ]
    assert settlement.sentence == (
        "2026-09 still shows the delivery loaded on 2026-11-08 09:30 UTC (files good.csv); the new delivery (files new-a.csv, "
        "new-b.csv) failed its blocking checks and is in quarantine.quarantined_* for inspection (see quarantine.deliveries)."
    )


def test_settling_twice_changes_nothing_the_second_time(warehouse):
    con = warehouse
    keep_as_last_good(con, SEPTEMBER_PERIOD, "run-good")
    kept = fingerprint(con, SEPTEMBER_PERIOD)
    _deliver(con, SEPTEMBER, {"new.csv": Decimal("1.00")}, datetime(2026, 12, 1))
    assert fingerprint(con, SEPTEMBER_PERIOD) != kept
    settle_failed_month(con, SEPTEMBER_PERIOD, "run-bad", ("x",))
    assert fingerprint(con, SEPTEMBER_PERIOD) == kept
    again = settle_failed_month(con, SEPTEMBER_PERIOD, "run-bad", ("x",))
    assert again.outcome == "unchanged"
    assert "2026-09 shows the delivery loaded on 2026-11-08 09:30 UTC (files good.csv)" in again.sentence
    assert con.execute("SELECT count(*) FROM quarantine.deliveries").fetchone() == (1,)


def test_a_first_ever_month_that_fails_has_no_last_good_data_and_says_so(warehouse):
    con = warehouse
    settlement = settle_failed_month(con, SEPTEMBER_PERIOD, "run-bad", ("x",))
    assert settlement.outcome == "first_delivery"
    assert settlement.sentence.startswith("2026-09 has no earlier delivery that passed its blocking checks")
    assert (
        "the warehouse shows the failed delivery (files good.csv), which is neither invoiced nor published"
        in settlement.sentence
    )
    assert _figures(con, "marts.customer_monthly") == [(SEPTEMBER, "c-good.csv", Decimal("100.00"))]


def test_columns_and_marts_added_since_the_last_good_month_are_followed(warehouse):
    con = warehouse
    keep_as_last_good(con, SEPTEMBER_PERIOD, "run-good")
    # A later version widens a mart's money column, adds a column and builds a new mart.
    con.execute("ALTER TABLE marts.customer_monthly ALTER COLUMN billed_pretax TYPE DECIMAL(38,2)")
    con.execute("ALTER TABLE marts.customer_monthly ADD COLUMN margin DECIMAL(28,6)")
    con.execute("CREATE TABLE marts.new_mart (billing_period DATE, figure INTEGER)")
    con.execute("INSERT INTO marts.new_mart VALUES ('2026-09-01', 1), ('2026-08-01', 2)")
    _deliver(con, SEPTEMBER, {"huge.csv": Decimal("5000000000000.00")}, datetime(2026, 12, 1))
    assert keep_as_last_good(con, SEPTEMBER_PERIOD, "run-good-2")  # the huge month passed: kept in the widened copy
    _deliver(con, SEPTEMBER, {"bad.csv": Decimal("1.00")}, datetime(2026, 12, 2))
    settle_failed_month(con, SEPTEMBER_PERIOD, "run-bad", ("x",))
    assert _figures(con, "marts.customer_monthly") == [(SEPTEMBER, "c-huge.csv", Decimal("5000000000000.00"), None)]
    assert con.execute("SELECT * FROM marts.new_mart ORDER BY 1").fetchall() == [(AUGUST, 2), (SEPTEMBER, 1)]


# --- the whole pipeline: a good delivery, then a tampered one -------------------------------

PERIOD = "2026-09"


def _tamper(month_dir: Path, delta: Decimal) -> str:
    path = month_dir / "invoice_summary.csv"
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    rows[0]["UsageCharges"] = str(Decimal(rows[0]["UsageCharges"]) + delta)
    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows[0]["InvoiceNumber"]


def _query(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def redelivered(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("redelivered")
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
                "23",
            ]
        )
        == 0
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DAGSTER_HOME", raising=False)
        assert main(["run", "--period", PERIOD, "--data-dir", str(data_dir)]) == 0
        good = {
            table: sorted(_query(data_dir, f"SELECT * FROM {table}"), key=repr)
            for table in (
                "raw.usage_recon",
                "raw.invoice_summary",
                "marts.customer_monthly",
                "marts.invoice_reconciliation",
            )
        }
        published = (data_dir / "published" / "warehouse.duckdb").read_bytes()
        invoice = _tamper(data_dir / "landing" / PERIOD, Decimal("1.00"))
        printed = io.StringIO()
        with redirect_stdout(printed):
            code = main(["run", "--period", PERIOD, "--data-dir", str(data_dir)])
    return data_dir, good, published, invoice, code, printed.getvalue()


def test_the_warehouse_keeps_the_last_good_month_after_a_failed_delivery(redelivered):
    data_dir, good, published, invoice, code, _ = redelivered
    assert code == 1
    assert {table: sorted(_query(data_dir, f"SELECT * FROM {table}"), key=repr) for table in good} == good
    assert (data_dir / "published" / "warehouse.duckdb").read_bytes() == published
    # The failed delivery is kept apart, its summary off by the 1.00 put in.
    [(run_id, files)] = _query(data_dir, "SELECT quarantine_run_id, files FROM quarantine.deliveries")
    assert "invoice_summary.csv" in files
    usage = _query(
        data_dir, f"SELECT usage_charges FROM quarantine.quarantined_invoice_summary WHERE invoice_number = '{invoice}'"
    )
    kept = _query(data_dir, f"SELECT usage_charges FROM raw.invoice_summary WHERE invoice_number = '{invoice}'")
    assert usage[0][0] - kept[0][0] == Decimal("1.00")


def test_the_summary_says_which_figures_are_current(redelivered):
    *_, invoice, code, output = redelivered
    assert "Files of the current figures (the last good delivery, back in place of the failed one):" in output
    assert "Current figures: 2026-09 still shows the delivery loaded on " in output
    assert "failed its blocking checks and is in quarantine.quarantined_* for inspection" in output
    assert f"Invoice {invoice}" in output  # the failure names the invoice that did not reconcile
    assert "Analysts' warehouse unchanged" in output


def test_the_ui_says_which_figures_are_current_on_the_months_file_manifest(redelivered):
    import dagster as dg

    data_dir, *_ = redelivered
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        [record] = instance.fetch_observations(dg.AssetKey(["raw", "file_manifest"]), limit=5).records
    observation = record.asset_observation
    assert observation.partition == PERIOD
    assert observation.description.startswith("2026-09 still shows the delivery loaded on ")
    assert "invoice_summary.csv" in observation.metadata["quarantined_files"].value
