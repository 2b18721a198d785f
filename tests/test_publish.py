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
import tomllib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.cli import main
from pipelines.config import config_dir_in_use
from pipelines.invoicing.issuing import ISSUED_DIR
from pipelines.publishing.immutable import release_tree
from pipelines.settings import REPO_ROOT, DataPaths

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


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """As Partner Center writes them: UTF-8 with a byte-order mark."""
    with path.open("w", encoding="utf-8-sig", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _tamper_summary(month_dir: Path, amount: Decimal, columns: tuple[str, ...] = ("UsageCharges", "Total")) -> str:
    """Raise the first invoice's figures in `columns` by `amount`; returns its number."""
    rows = _summary_rows(month_dir)
    for column in columns:
        rows[0][column] = str(Decimal(rows[0][column]) + amount)
    _write_csv(month_dir / "invoice_summary.csv", rows)
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


CONTOSO = "3eb751bd-dd07-411e-97c2-fefcfffa92af"  # a customer of the sample config, billed in EUR


def _add_a_license_line_for_contoso(month_dir: Path) -> Decimal:
    """Microsoft's corrected license file: one more seat line, for Contoso, on the EUR invoice,
    and the summary raised by its figures. Returns the line's pre-tax subtotal."""
    summary = _summary_rows(month_dir)
    invoice = next(row for row in summary if row["Currency"] == "EUR")
    path = month_dir / f"{invoice['InvoiceNumber']}_LicenseBasedRecon.csv"
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    line = dict(rows[0])
    line |= {
        "CustomerId": CONTOSO,
        "CustomerName": "Contoso Ltd.",
        "SubscriptionId": "0f0e0d0c-0000-4000-8000-00000000c0de",
        "SyndicationPartnerSubscriptionNumber": "0f0e0d0c-0000-4000-8000-00000000beef",
        "UnitPrice": "10.00",
        "Quantity": "3",
        "Amount": "30.00",
        "TotalOtherDiscount": "0.00",
        "Subtotal": "30.00",
        "Tax": "6.90",
        "TotalForCustomer": "36.90",
    }
    _write_csv(path, [*rows, line])
    for column, amount in (("LicenseCharges", "30.00"), ("Tax", "6.90"), ("Total", "36.90")):
        invoice[column] = str(Decimal(invoice[column]) + Decimal(amount))
    _write_csv(month_dir / "invoice_summary.csv", summary)
    return Decimal("30.00")


def _issued(database: Path) -> dict[str, tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "SELECT invoice_number, customer_id, billing_period, document_kind, preceding_invoice, billed_pretax, billed_total "
            "FROM billing.issued_invoices ORDER BY series, sequence"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _published(data_dir: Path, query: str, parameters: list) -> list[tuple]:
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query, parameters).fetchall()


def _close_with_the_job(data_dir: Path, **config) -> bool:
    """The `close_month` job as launched from the UI's launchpad."""
    from pipelines.definitions import defs

    with dg.instance_for_test() as instance:  # loaded inside it: the CLI steps above closed the current one
        job = defs().get_job_def("close_month")
        result = job.execute_in_process(
            run_config={
                "ops": {"close_month_step": {"config": config}},
                "resources": {"warehouse": {"config": {"data_dir": str(data_dir)}}},
            },
            instance=instance,
            raise_on_error=False,
        )
    return result.success


def test_a_billing_team_closes_months_and_corrects_one_while_analysts_follow(three_months, capsys):
    """Issue 14's "done when" end to end: approval refused until the warnings are acknowledged by
    name, issue from the CLI and from the UI's job, a corrected file for the first month issued as
    a credit note and a corrected invoice, and each step at once in the analysts' copy."""
    data_dir, *_ = three_months
    common = ["--data-dir", str(data_dir)]
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DAGSTER_HOME", raising=False)
        assert main(["approve", "--period", FIRST, "--by", "Jane Doe", *common]) == 1
        refusal = capsys.readouterr().err
        assert (
            "acknowledge each failing warning by name" in refusal and "every_customer_has_a_billing_profile" in refusal
        )
        acknowledged = [
            flag for name in ("every_customer_has_a_billing_profile", "no_line_below_cost") if name in refusal
            for flag in ("--acknowledge", name)
        ]  # fmt: skip
        assert main(["approve", "--period", FIRST, "--by", "Jane Doe", *acknowledged, *common]) == 0
        assert main(["issue", "--period", FIRST, "--by", "Jane Doe", *common]) == 0
        sent = {path.name: path.read_bytes() for path in (data_dir / "exports" / FIRST / ISSUED_DIR).iterdir()}
        issued = _issued(data_dir / "warehouse.duckdb")
        original = next(number for number, row in issued.items() if row[0] == CONTOSO)
        assert _published(data_dir, "SELECT x_status FROM marts.billing_periods WHERE billing_period_start = ?", [f"{FIRST}-01"]) == [("issued",)]  # fmt: skip

        job_config = {"period": THIRD, "by": "Jane Doe"}
        names = [flag for flag in acknowledged if flag != "--acknowledge"]
        assert not _close_with_the_job(data_dir, **job_config, action="approve", acknowledge=names), "the spike"
        assert _close_with_the_job(data_dir, **job_config, action="approve", acknowledge=[*names, "no_cost_jump"])
        assert _close_with_the_job(data_dir, **job_config, action="issue")
        assert _published(data_dir, "SELECT x_status FROM marts.billing_periods WHERE billing_period_start = ?", [f"{THIRD}-01"]) == [("issued",)]  # fmt: skip

        cost_before = dict(_published(data_dir, COST_BY_CUSTOMER, [f"{FIRST}-01"]))
        issued = _issued(data_dir / "warehouse.duckdb")
        added = _add_a_license_line_for_contoso(data_dir / "landing" / FIRST)
        assert main(["run", "--period", FIRST, "--correct", *common]) == 0

    after = _issued(data_dir / "warehouse.duckdb")
    credit_note, corrected = (number for number in after if number not in issued)
    assert after[credit_note][2:4] == ("credit_note", original)
    assert after[credit_note][4:] == tuple(-amount for amount in issued[original][4:]), "the original cancelled in full"
    assert after[corrected][:4] == (CONTOSO, date(2026, 8, 1), "invoice", original)
    # Contoso's sample pricing rule: 8 % on Microsoft's cost; reverse charged, so no VAT.
    assert after[corrected][4] - issued[original][4] == added * Decimal("1.08")
    assert after[credit_note][5] + after[corrected][5] == added * Decimal("1.08"), "the two documents net to the change"
    sent_now = {path.name: path.read_bytes() for path in (data_dir / "exports" / FIRST / ISSUED_DIR).iterdir()}
    assert {name: sent_now[name] for name in sent} == sent, "nothing already sent is rewritten"
    assert {f"{credit_note}.pdf", f"{corrected}.pdf"} <= set(sent_now)

    cost_after = dict(_published(data_dir, COST_BY_CUSTOMER, [f"{FIRST}-01"]))
    assert cost_after[CONTOSO] - cost_before.get(CONTOSO, Decimal(0)) == added
    assert {k: v for k, v in cost_after.items() if k != CONTOSO} == {
        k: v for k, v in cost_before.items() if k != CONTOSO
    }

    microsoft = _published(
        data_dir,
        "SELECT document_number, document_date, due_date FROM marts.payables_calendar "
        "WHERE row_kind = 'document' AND document_kind = 'microsoft_invoice' ORDER BY document_number",
        [],
    )
    summaries = {row["InvoiceNumber"]: row["InvoiceDate"] for month in (FIRST, SECOND, THIRD)
                 for row in _summary_rows(data_dir / "landing" / month)}  # fmt: skip
    assert sorted(number for number, *_ in microsoft) == sorted(summaries)
    for number, dated, due in microsoft:
        assert dated == date.fromisoformat(summaries[number]) and due == dated + timedelta(days=60), number
    customer_documents = _published(
        data_dir,
        "SELECT document_number, document_date, due_date FROM marts.payables_calendar "
        "WHERE row_kind = 'document' AND document_kind LIKE 'customer_%' ORDER BY document_number",
        [],
    )
    assert {number for number, *_ in customer_documents} == set(after)
    partner = config_dir_in_use(DataPaths(data_dir)) / "partner.toml"
    terms = tomllib.loads(partner.read_text(encoding="utf-8"))["invoicing"]
    assert all(due == dated + timedelta(days=terms["payment_terms_days"]) for _, dated, due in customer_documents)


COST_BY_CUSTOMER = "SELECT customer_id, cost_pretax FROM marts.customer_monthly WHERE billing_period = ?"
