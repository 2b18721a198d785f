"""Every data-quality check passes on a clean month and fails on a tampered copy of it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.defs.ingest.checks import conservation_breaks
from pipelines.defs.quality.reconciliation import every_line_priced, invoices_match, marts_tie_out
from pipelines.defs.quality.warnings import cost_jumps, unknown_charge_types, usage_over_budget
from pipelines.periods import BillingPeriod
from pipelines.quality import gx_suites
from pipelines.quality.gx_suites import (
    SuiteError,
    load_suite,
    month_frame,
    resolve_placeholders,
    suite_names,
    validate,
    validate_month,
)

MONTH = date(2026, 10, 1)
PERIOD = BillingPeriod.containing(MONTH)


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("quality")
    # The seeds' sample customers (seed 7), so budgets and billing profiles apply.
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                "2026-10",
                "--license-rows",
                "30",
                "--usage-rows",
                "80",
            ]
        )
        == 0
    )
    main(["run", "--period", "2026-10", "--data-dir", str(data_dir)])
    return data_dir / "warehouse.duckdb"


@pytest.fixture
def warehouse(clean_warehouse: Path, tmp_path: Path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(clean_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        yield con


BLOCKING = [
    (
        invoices_match,
        "UPDATE marts.invoice_reconciliation SET status = 'mismatch', pretax_difference = -1 "
        "WHERE invoice_number = (SELECT min(invoice_number) FROM marts.invoice_reconciliation)",
    ),
    (
        marts_tie_out,
        "UPDATE marts.customer_monthly SET cost_pretax = cost_pretax + 0.01 WHERE customer_id = (SELECT min(customer_id) FROM marts.customer_monthly)",
    ),
    (
        every_line_priced,
        "UPDATE marts.fct_charges SET pricing_rule_id = NULL WHERE charge_id = (SELECT min(charge_id) FROM marts.fct_charges)",
    ),
    (
        every_line_priced,
        "UPDATE marts.fct_charges SET billed_pretax = 5 WHERE charge_id = (SELECT min(charge_id) FROM marts.fct_charges WHERE cost_pretax < 0)",
    ),
]
WARNINGS = [
    (
        unknown_charge_types,
        "UPDATE marts.fct_charges SET charge_type = 'Mystery fee' WHERE charge_id = (SELECT min(charge_id) FROM marts.fct_charges)",
    ),
    (usage_over_budget, "UPDATE config.customers SET monthly_usage_budget = 0.01"),
    (
        cost_jumps,
        "INSERT INTO marts.customer_monthly SELECT * REPLACE (DATE '2026-09-01' AS billing_period, 1.00 AS cost_pretax) "
        "FROM marts.customer_monthly WHERE customer_id = (SELECT min(customer_id) FROM marts.customer_monthly WHERE cost_pretax > 100)",
    ),
]


def test_clean_month_passes_every_blocking_check(warehouse):
    for check, _ in BLOCKING:
        result = check(warehouse, PERIOD)
        assert result.passed, (check.__name__, result.description)
    assert conservation_breaks(warehouse, PERIOD) == []


@pytest.mark.parametrize(
    ("check", "tamper"),
    BLOCKING,
    ids=["invoice_off_by_1", "marts_do_not_tie", "unpriced_line", "credit_billed_positive"],
)
def test_blocking_check_fails_on_tampered_month(warehouse, check, tamper):
    warehouse.execute(tamper)
    result = check(warehouse, PERIOD)
    assert not result.passed
    assert result.description


def test_invoice_mismatch_names_invoice_and_difference(warehouse):
    number = warehouse.execute("SELECT min(invoice_number) FROM marts.invoice_reconciliation").fetchone()[0]
    warehouse.execute(
        "UPDATE marts.invoice_reconciliation SET status = 'mismatch', invoice_pretax = invoice_pretax + 1, pretax_difference = -1 WHERE invoice_number = ?",
        [number],
    )
    description = invoices_match(warehouse, PERIOD).description
    assert f"Invoice {number}" in description and "difference -1.00" in description


def test_row_conservation_fails_when_a_line_goes_missing(warehouse):
    warehouse.execute("DELETE FROM raw.usage_recon WHERE rowid = (SELECT min(rowid) FROM raw.usage_recon)")
    breaks = conservation_breaks(warehouse, PERIOD)
    assert len(breaks) == 1 and "Usage" in breaks[0]


def test_clean_month_raises_no_warning_but_budget(warehouse):
    assert unknown_charge_types(warehouse, PERIOD).passed
    assert cost_jumps(warehouse, PERIOD).passed


@pytest.mark.parametrize(("check", "tamper"), WARNINGS, ids=["unknown_charge_type", "over_budget", "cost_jump"])
def test_warning_fires_on_tampered_month(warehouse, check, tamper):
    warehouse.execute("UPDATE config.customers SET monthly_usage_budget = NULL")
    assert check(warehouse, PERIOD).passed
    warehouse.execute(tamper)
    result = check(warehouse, PERIOD)
    assert not result.passed
    assert result.severity.value == "WARN"


def _run_suite(con, name):
    return validate_month(con, name, load_suite(name), PERIOD)


@pytest.mark.parametrize("name", suite_names())
def test_every_suite_passes_on_the_clean_month(warehouse, name):
    outcome = _run_suite(warehouse, name)
    assert outcome.passed, outcome.failures
    assert outcome.rows_validated == outcome.rows_total > 0


GX_TAMPERS = {
    "raw_license_recon": (
        "UPDATE raw.license_recon SET customer_id = 'not-a-guid' WHERE source_line = 2",
        "customer_id",
    ),
    "raw_usage_recon": ("UPDATE raw.usage_recon SET currency = 'euro' WHERE source_line = 3", "currency"),
    "raw_invoice_summary": (
        "INSERT INTO raw.invoice_summary SELECT * FROM raw.invoice_summary LIMIT 1",
        "invoice_number",
    ),
    "raw_license_recon_arithmetic": (
        "UPDATE raw.license_recon SET total_for_customer = total_for_customer + 0.02 WHERE source_line = 2",
        "subtotal_plus_tax_is_total",
    ),
    "raw_usage_recon_arithmetic": (
        "UPDATE raw.usage_recon SET post_tax_total = post_tax_total - 0.05 WHERE source_line = 2",
        "pretax_plus_tax_is_post_tax_total",
    ),
    "marts_fct_charges": (
        "UPDATE marts.fct_charges SET currency = 'Eur' WHERE charge_id = (SELECT min(charge_id) FROM marts.fct_charges)",
        "currency",
    ),
    "marts_customer_monthly": (
        "UPDATE marts.customer_monthly SET currency = 'eur' WHERE customer_id = (SELECT min(customer_id) FROM marts.customer_monthly)",
        "currency",
    ),
}


@pytest.mark.parametrize("name", suite_names())  # a suite without its tamper fails here
def test_every_suite_fails_on_a_tampered_month(warehouse, name):
    tamper, column = GX_TAMPERS[name]
    warehouse.execute(tamper)
    outcome = _run_suite(warehouse, name)
    assert not outcome.passed
    assert any(
        column in str(failure["column"]) and failure["unexpected_count"] in (1, 2) for failure in outcome.failures
    ), outcome.failures


def test_a_suite_that_cannot_run_is_an_error_not_a_pass(warehouse):
    frame, total = month_frame(warehouse, "raw_invoice_summary", PERIOD)
    broken = {
        "name": "broken",
        "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "invoice_number", "min_value": 0}}
        ],
    }
    with pytest.raises(SuiteError, match="broken"):
        validate(frame, broken, total)


def test_every_suite_has_its_query_and_table():
    for name in suite_names():
        suite = load_suite(name)
        assert suite["meta"]["table"].split(".")[0] in ("raw", "marts")
        assert suite["meta"]["severity"] in ("ERROR", "WARN")
        assert f"FROM {suite['meta']['table']} WHERE billing_period = $month" in suite["meta"]["query"]


def _grow_usage_lines(con, copies: int) -> int:
    """The month's usage lines repeated `copies` times with new line numbers (and resource ids,
    which the suite expects unique per line); returns the number of lines."""
    con.execute(
        """INSERT INTO raw.usage_recon BY NAME
           SELECT * EXCLUDE (k) REPLACE (source_line + k * 1000000 AS source_line, uuid()::VARCHAR AS resource_guid)
           FROM raw.usage_recon, range(1, ?) AS copies(k) WHERE billing_period = ?""",
        [copies, MONTH],
    )
    return con.execute("SELECT count(*) FROM raw.usage_recon WHERE billing_period = ?", [MONTH]).fetchone()[0]


def test_a_sampled_month_still_names_its_one_bad_line(warehouse, monkeypatch):
    """Above SAMPLE_ROWS the suite sees a sample, and every row an expectation could fail on: one
    wrong currency and one missing customer id among 16,000 lines are found, by file and line."""
    lines = _grow_usage_lines(warehouse, 200)
    monkeypatch.setattr(gx_suites, "SAMPLE_ROWS", 100)  # a 0.6 % sample: the two lines would be missed
    file_name, line = warehouse.execute(
        "SELECT source_file, max(source_line) FROM raw.usage_recon GROUP BY 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    warehouse.execute(
        "UPDATE raw.usage_recon SET currency = 'eu' WHERE source_file = ? AND source_line = ?", [file_name, line]
    )
    warehouse.execute(
        "UPDATE raw.usage_recon SET customer_id = NULL WHERE source_file = ? AND source_line = ?",
        [file_name, line - 1000000],
    )

    outcome = _run_suite(warehouse, "raw_usage_recon")
    assert outcome.rows_total == lines and outcome.rows_validated < lines // 10
    failures = {failure["column"]: failure for failure in outcome.failures}
    assert failures["currency"]["rows"] == [(file_name, line, "eu")]
    assert [(f, n) for f, n, _ in failures["customer_id"]["rows"]] == [(file_name, line - 1000000)]
    assert set(failures) == {"currency", "customer_id"}, "the suspects that pass are not failures"


def test_a_sampled_clean_month_passes_and_validates_no_row_twice(warehouse, monkeypatch):
    lines = _grow_usage_lines(warehouse, 50)
    monkeypatch.setattr(gx_suites, "SAMPLE_ROWS", 100)
    suite = resolve_placeholders(load_suite("raw_usage_recon"), PERIOD)
    frame, total = month_frame(warehouse, "raw_usage_recon", PERIOD, suite=suite)
    assert total == lines and 0 < len(frame) < lines
    assert not frame.duplicated(subset=["source_file", "source_line"]).any()
    assert _run_suite(warehouse, "raw_usage_recon").passed
