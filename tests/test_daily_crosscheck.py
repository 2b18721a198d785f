"""The blocking cross-check of the daily rated usage file against the reconciliation file's
Azure plan lines: consistent files pass, a daily row changed by 0.10 fails naming customer,
subscription, meter and both figures, the issuing gate blocks the month, the mismatching lines go
to a CSV, and a month without a daily file is only warned about.

Recon and daily rows are written here in Partner Center's layouts; the expected figures are
hand arithmetic (Microsoft's ROUNDDOWN), written as literal Decimals.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.config.errors import ConfigProblem
from pipelines.config.partner import _allowance
from pipelines.defs.quality.daily_crosscheck import crosscheck_result, daily_crosscheck_problems, write_mismatches_csv
from pipelines.defs.quality.gate import blocking_checks, require_month_passed
from pipelines.defs.resources import Warehouse
from pipelines.generate import generate
from pipelines.periods import BillingPeriod
from pipelines.quality.daily_crosscheck import SKIPPED_NO_FILE, cross_check
from pipelines.quality.gate import judge_month
from pipelines.settings import DataPaths
from tests.corpus import csv_text, load, write_text
from tests.daily_rows import AZURE_PLAN, CUSTOMER_ID, DAILY_HEADER, daily_row
from tests.test_nce_ingest import NCE_HEADER, NCE_SUMMARY_HEADER, nce_row, nce_summary

PERIOD = "2026-10"
BILLING_PERIOD = BillingPeriod.parse(PERIOD)
PEC = '["15.0% Partner earned credit for services managed"]'
VM = "DZH318Z0BQ7C"  # AvailabilityId of the D2 v3 meter
STORAGE = "DZH318Z0BQ9K"


def azure_line(
    subtotal: str,
    quantity: str,
    effective: str,
    *,
    availability: str = VM,
    pec: bool = True,
    fx: str = "1",
    sku_name: str = "D2 v3/D2s v3 - EU West",
    line: int = 1,
    **overrides: str,
) -> dict[str, str]:
    return nce_row(
        CUSTOMER_ID,
        subtotal,
        line=line,
        ProductId="DZH318Z0BPS6",
        SkuId="0001",
        AvailabilityId=availability,
        SkuName=sku_name,
        ProductName="Virtual Machines",
        ChargeType="new",
        UnitPrice="0.096",
        Quantity="1",
        PriceAdjustmentDescription=PEC if pec else "[]",
        PublisherName="Microsoft",
        SubscriptionDescription="Azure plan",
        SubscriptionId=AZURE_PLAN,
        TermAndBillingCycle="",
        EffectiveUnitPrice=effective,
        BillableQuantity=quantity,
        BillingFrequency="",
        PricingCurrency="USD",
        PCToBCExchangeRate=fx,
        MeterDescription="Virtual Machines - D2 v3",
        **overrides,
    )


def land_month(data_dir: Path, recon: list[dict], daily: list[dict] | None) -> None:
    folder = data_dir / "landing" / PERIOD
    write_text(folder / "G000000001_InvoiceReconciliation.csv", csv_text(NCE_HEADER, recon))
    write_text(folder / "invoice_summary.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(recon)]))
    if daily is not None:
        write_text(folder / "G000000001_DailyRatedUsage.csv", csv_text(DAILY_HEADER, daily))
    load(data_dir)


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


# 0.0816 x 48 h = 3.9168 -> ROUNDDOWN 3.91 (FX 1); the daily file keeps 1.9584 + 1.9584.
VM_RECON = [azure_line("3.91", "48", "0.0816")]
VM_DAILY = [daily_row("24", "1.9584"), daily_row("24", "1.9584", day=2)]


CHANGED_DAILY = [VM_DAILY[0], daily_row("24", "2.0584", day=2)]  # the second day's row 0.10 more


@pytest.fixture(scope="module")
def consistent(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("consistent")
    land_month(data_dir, VM_RECON, VM_DAILY)
    return data_dir


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("mismatched")
    land_month(data_dir, VM_RECON, CHANGED_DAILY)
    return data_dir


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A month generated as Partner Center writes it (recon, billed daily files, summary), loaded."""
    data_dir = tmp_path_factory.mktemp("generated")
    (month,) = generate(
        data_dir / "landing",
        BillingPeriod.parse(PERIOD),
        customers=4,
        license_rows=8,
        usage_rows=20,
        commerce="nce",
        header_form="mixed",
        seed=11,
        daily_resources=2,
    )
    load(data_dir)
    return data_dir, month


def test_generated_consistent_files_pass(generated):
    data_dir, month = generated
    with connect(data_dir) as con:
        result = cross_check(con, BILLING_PERIOD)
    assert result.passed and not result.skipped
    assert [invoice.daily_file.name for invoice in month.invoices] == [
        f"{i.invoice_number}_DailyRatedUsage.csv" for i in month.invoices
    ]
    assert result.groups >= 4
    assert result.summary().startswith(f"the daily rated usage agrees with all {result.groups} Azure plan line(s)")


def test_consistent_hand_made_files_pass_within_microsofts_truncation(consistent):
    with connect(consistent) as con:
        result = cross_check(con, BILLING_PERIOD)
    assert result.passed and result.groups == 1 and result.mismatches == ()


def test_a_daily_row_changed_by_ten_cents_fails_naming_subscription_meter_and_both_figures(mismatched):
    with connect(mismatched) as con:
        result = cross_check(con, BILLING_PERIOD)
        gate_sentences = daily_crosscheck_problems(con, BILLING_PERIOD)
    assert not result.passed
    expected = (
        f"customer Société Dupont, SA ({CUSTOMER_ID}), subscription {AZURE_PLAN}, meter 'D2 v3/D2s v3 - EU West' "
        "(with partner-earned credit, EUR, invoice G000000001): daily pre-tax 4.0168 vs reconciliation Subtotal 3.91 "
        "(difference 0.1068, tolerance under 0.0100)"
    )
    assert result.sentences() == [expected] and gate_sentences == [expected]
    (mismatch,) = result.mismatches
    assert (mismatch.daily_pretax, mismatch.recon_subtotal, mismatch.difference) == (
        Decimal("4.0168"),
        Decimal("3.91"),
        Decimal("0.1068"),
    )


def test_the_gate_blocks_the_months_invoices_on_a_mismatch(mismatched):
    assert "daily_usage_crosscheck" in dict(blocking_checks(DataPaths(mismatched)))
    crosscheck_only = [
        (name, judge) for name, judge in blocking_checks(DataPaths(mismatched)) if name == "daily_usage_crosscheck"
    ]
    with connect(mismatched) as con:
        verdict = judge_month(con, BILLING_PERIOD, crosscheck_only)
    assert not verdict.passed and verdict.problems[0].startswith("daily_usage_crosscheck: customer Société Dupont, SA")
    with pytest.raises(dg.Failure) as failure:
        require_month_passed(Warehouse(data_dir=str(mismatched)), BILLING_PERIOD, "Customer invoices")
    assert "Customer invoices for 2026-10 not produced" in failure.value.description
    assert "daily pre-tax 4.0168 vs reconciliation Subtotal 3.91" in failure.value.description


def test_the_gate_entry_passes_consistent_files(consistent):
    crosscheck_only = [
        (name, judge) for name, judge in blocking_checks(DataPaths(consistent)) if name == "daily_usage_crosscheck"
    ]
    with connect(consistent) as con:
        assert judge_month(con, BILLING_PERIOD, crosscheck_only).passed


def test_quantities_must_agree_and_unmatched_groups_on_either_side_fail(tmp_path):
    recon = [
        *VM_RECON,
        azure_line("0.90", "20", "0.045", availability=STORAGE, sku_name="LRS Data Stored - EU West", line=2),
    ]
    daily = [
        daily_row("24", "1.9584"),
        daily_row("23.5", "1.9584", day=2),  # 47.5 h of 48
        daily_row("1", "0.05", availability="DZH318Z0BZZZ", MeterName="Premium SSD"),  # no recon line
    ]
    land_month(tmp_path, recon, daily)
    with connect(tmp_path) as con:
        result = cross_check(con, BILLING_PERIOD)
    problems = sorted(m.problem for m in result.mismatches)
    assert problems == [
        "1 daily rated usage row(s) (pre-tax 0.05, quantity 1) have no Azure plan line in the reconciliation file",
        "daily quantity 47.5 vs reconciliation BillableQuantity 48",
        "the reconciliation file bills Subtotal 0.90 for quantity 20, but no daily rated usage row has this Azure plan line",
    ]
    meters = {m.availability_id: m.meter for m in result.mismatches}
    assert meters == {VM: "D2 v3/D2s v3 - EU West", STORAGE: "LRS Data Stored - EU West", "DZH318Z0BZZZ": "Premium SSD"}


def test_partner_earned_credit_segments_are_compared_apart(tmp_path):
    # Credit for 10 of 48 hours: 0.0816 x 10 = 0.816 -> 0.81; 0.096 x 38 = 3.648 -> 3.64.
    recon = [azure_line("0.81", "10", "0.0816"), azure_line("3.64", "38", "0.096", pec=False, line=2)]
    daily = [daily_row("10", "0.816"), daily_row("38", "3.648", day=2, pec="0")]
    land_month(tmp_path, recon, daily)
    with connect(tmp_path) as con:
        assert cross_check(con, BILLING_PERIOD).passed
    swapped = tmp_path / "swapped"
    land_month(swapped, recon, [daily_row("10", "0.816"), daily_row("38", "3.648", day=2, pec="15")])
    with connect(swapped) as con:
        result = cross_check(con, BILLING_PERIOD)
    assert len(result.mismatches) == 2  # the credited segment is off, the uncredited one has no rows


def test_truncation_bound_widens_with_the_exchange_rate_only(tmp_path):
    # 0.0816 x 48 = 3.9168 USD -> 3.91 x 0.9 = 3.519 -> 3.51 EUR; unrounded 3.9168 x 0.9 = 3.52512: 0.01512 apart,
    # within 0.01 x (1 + 0.9) = 0.019, though more than a cent.
    recon = [azure_line("3.51", "48", "0.0816", fx="0.9")]
    land_month(tmp_path, recon, [daily_row("48", "3.52512", PCToBCExchangeRate="0.9")])
    with connect(tmp_path) as con:
        assert cross_check(con, BILLING_PERIOD).passed
    same_currency = tmp_path / "fx1"
    land_month(same_currency, [azure_line("3.51", "48", "0.0816")], [daily_row("48", "3.52512")])
    with connect(same_currency) as con:
        (mismatch,) = cross_check(con, BILLING_PERIOD).mismatches
    assert mismatch.tolerance == Decimal("0.01")


def test_the_partners_allowance_widens_the_tolerance(mismatched):
    with duckdb.connect(str(mismatched / "warehouse.duckdb")) as con:
        assert not cross_check(con, BILLING_PERIOD).passed  # no configuration loaded: no allowance
        con.execute("BEGIN TRANSACTION")  # the shared month is left as it was
        con.execute("CREATE SCHEMA IF NOT EXISTS config")
        con.execute("CREATE TABLE config.partner_settings AS SELECT 0.50::DECIMAL(28, 2) AS daily_usage_allowance")
        result = cross_check(con, BILLING_PERIOD)
        assert result.passed and result.allowance == Decimal("0.50")
        assert not cross_check(con, BILLING_PERIOD, allowance=Decimal("0.09")).passed
        con.execute("ROLLBACK")


@pytest.mark.parametrize("value", ["-1", "0.005", "lots", True, "1e9"])
def test_an_allowance_that_is_no_amount_is_said_so(value):
    problems: list[ConfigProblem] = []
    assert _allowance(value, problems) == Decimal("0.00")
    (problem,) = problems
    assert problem.field == "[reconciliation] daily_usage_allowance"
    assert "write an amount in the billing currency from 0 to 1,000,000 with at most 2 decimals" in problem.message


def test_allowance_values_are_read_exactly():
    assert _allowance("0.5", []) == Decimal("0.50") and _allowance(500, []) == Decimal("500.00")
    assert _allowance(0.1, []) == Decimal("0.10") and _allowance(None, []) == Decimal("0.00")


def test_mismatching_lines_go_to_a_csv_with_names_made_inert(tmp_path, consistent):
    recon = [azure_line("3.91", "48", "0.0816", CustomerName='=HYPERLINK("http://x")')]
    land_month(tmp_path, recon, CHANGED_DAILY)
    with connect(tmp_path) as con:
        result = cross_check(con, BILLING_PERIOD)
    written = write_mismatches_csv(result, tmp_path / "exports" / PERIOD)
    with written.open(encoding="utf-8-sig", newline="") as source:
        (row,) = list(csv.DictReader(source))
    assert row["customer_name"] == '\'=HYPERLINK("http://x")'
    assert (row["recon_subtotal"], row["daily_pretax"], row["difference"]) == (
        "3.910000",
        "4.016800000000000000",
        "0.106800000000000000",
    )
    assert row["subscription_id"] == AZURE_PLAN and row["meter"] == "D2 v3/D2s v3 - EU West"
    with connect(consistent) as con:
        assert write_mismatches_csv(cross_check(con, BILLING_PERIOD), written.parent) is None
    assert not written.exists()  # an earlier run's list does not outlive the fix


def test_a_month_without_a_daily_file_is_skipped_with_a_warning_and_does_not_block(tmp_path):
    land_month(tmp_path, VM_RECON, None)
    with connect(tmp_path) as con:
        result = cross_check(con, BILLING_PERIOD)
        assert daily_crosscheck_problems(con, BILLING_PERIOD) == []
    assert result.skipped == SKIPPED_NO_FILE == "cross-check skipped: no daily rated usage file"
    assert result.summary() == "cross-check skipped: no daily rated usage file"


def test_the_dagster_check_warns_when_skipped_and_fails_with_the_csv_and_a_safe_table_on_a_mismatch(tmp_path):
    skipped = tmp_path / "skipped"
    land_month(skipped, VM_RECON, None)
    warning = crosscheck_result(Warehouse(data_dir=str(skipped)), BILLING_PERIOD)
    assert (warning.passed, warning.severity) == (False, dg.AssetCheckSeverity.WARN)  # visible, never blocking
    assert warning.description == "cross-check skipped: no daily rated usage file"
    recon = [azure_line("3.91", "48", "0.0816", CustomerName="[click](http://evil.example) | *x*")]
    land_month(tmp_path, recon, CHANGED_DAILY)
    failed = crosscheck_result(Warehouse(data_dir=str(tmp_path)), BILLING_PERIOD)
    assert (failed.passed, failed.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert failed.description.startswith(
        "1 of 1 Azure plan group\\(s\\) disagree with the daily rated usage; first: customer \\[click\\]\\(http:&#47;&#47;"
    )
    assert failed.metadata["csv"].path == str(tmp_path / "exports" / PERIOD / "daily_usage_crosscheck.csv")
    table = failed.metadata["mismatching_lines"].value
    assert "\\[click\\]\\(http:&#47;&#47;evil.example\\) \\| \\*x\\*" in table and "](http" not in table
