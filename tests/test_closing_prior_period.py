"""Prior-period corrections (issue 14): a new-commerce file holding only late credits of an
earlier month is loaded (a legacy one is still refused, tests/test_ingest_errors.py), and such a
line is billed on the current month's invoice, saying it corrects an earlier period."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import duckdb

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.ingest.month import load_month as ingest_month
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.invoicing import load_month
from pipelines.invoicing.html_invoice import render_html
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.closing_warehouse import REVERSE_ID, customers, new_data_dir, seats, set_month

OCTOBER = "2026-10"
OCTOBER_PERIOD = BillingPeriod.parse(OCTOBER)
# A credit of one September seat (22.00), billed on October's invoice.
LATE_CREDIT = ("Microsoft 365 Business Premium", "sub-1", "2026-09-01", "2026-09-30", "1", "-22.00")


def test_a_file_of_late_credits_for_an_earlier_month_is_loaded(tmp_path):
    landing = tmp_path / "landing"
    assert main(["generate", "--out", str(landing), "--period", OCTOBER, "--customers", "2", "--license-rows", "3",
                 "--usage-rows", "2", "--currencies", "EUR", "--seed", "3"]) == 0  # fmt: skip
    month_dir = landing / OCTOBER
    [recon] = month_dir.glob("*_InvoiceReconciliation.csv")
    with recon.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    credit = dict(rows[0], ChargeType="customerCredit", ChargeStartDate="9/1/2026", ChargeEndDate="9/30/2026",
                  UnitPrice="-10", Quantity="1", Subtotal="-10.00", TaxTotal="-1.90", Total="-11.90", BillableQuantity="1")  # fmt: skip
    with (month_dir / "LateCredits_September.csv").open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow(credit)

    paths = DataPaths(tmp_path.resolve())
    with duckdb.connect(str(paths.warehouse)) as con:
        ensure_raw_schema(con)
        loaded = ingest_month(con, paths, OCTOBER_PERIOD)
        found = con.execute(
            "SELECT charge_start_date::DATE, subtotal FROM raw.nce_recon WHERE source_file = 'LateCredits_September.csv'"
        ).fetchall()
    outcome = next(f for f in loaded.files if f.name == "LateCredits_September.csv")
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == ("loaded", 1, 1, 0)
    assert found == [(date(2026, 9, 1), Decimal("-10.00"))]


def test_a_late_credit_lands_on_the_current_invoice_as_a_correction_of_its_period(tmp_path):
    month_customers = customers([seats(33, OCTOBER)], [seats(5, OCTOBER), LATE_CREDIT])
    paths = new_data_dir(tmp_path, month_customers)
    set_month(paths, OCTOBER, month_customers)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, OCTOBER_PERIOD, load_config(tmp_path / "config").partner)
    contoso = next(c for c in month.customers if c.customer_id == REVERSE_ID)
    [invoice] = contoso.invoices
    assert invoice.billed_pretax == Decimal("88.00")  # 5 x 22.00 - 22.00
    credit = next(line for line in invoice.lines if line.amount < 0)
    assert (credit.amount, credit.period_kind, credit.period_start, credit.period_end) == (
        Decimal("-22.00"),
        "prior_period",
        date(2026, 9, 1),
        date(2026, 9, 30),
    )
    html = render_html(month, contoso)
    assert "correction of an earlier period" in html
    assert "Service period: 1 September 2026 - 30 September 2026 (correction of an earlier period)" in html
