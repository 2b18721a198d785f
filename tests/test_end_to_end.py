"""A generated two-currency month, run through `csp-recon run`, ties to the cent.

Expected figures are recomputed here from the generated CSV files with Decimal, independently
of the pipeline's SQL.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main

PERIOD = "2026-10"
GENERATE = [
    "--commerce",
    "legacy",
    "--period",
    PERIOD,
    "--customers",
    "6",
    "--license-rows",
    "40",
    "--usage-rows",
    "120",
    "--currencies",
    "EUR,USD",
    "--seed",
    "11",
]


def _generate(data_dir: Path) -> Path:
    landing = data_dir / "landing"
    assert main(["generate", "--out", str(landing), *GENERATE]) == 0
    return landing / PERIOD


def _run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    return main(["run", "--period", PERIOD, "--data-dir", str(data_dir)])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


def _expected(month_dir: Path) -> tuple[dict, dict]:
    """Per (customer, currency): pretax cost. Per invoice: license, usage and tax sums."""
    customers: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    invoices: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    summary = {row["InvoiceNumber"]: row for row in _rows(month_dir / "invoice_summary.csv")}
    invoice_of_currency = {row["Currency"]: number for number, row in summary.items()}
    for path in month_dir.glob("*.csv"):
        rows = _rows(path)
        if not rows or "InvoiceDate" in rows[0]:
            continue
        for row in rows:
            if "SyndicationPartnerSubscriptionNumber" in row:
                pretax, tax, kind = Decimal(row["Subtotal"]), Decimal(row["Tax"]), "license"
                invoice = invoice_of_currency[row["Currency"]]
            else:
                pretax, tax, kind = Decimal(row["PretaxCharges"]), Decimal(row["TaxAmount"]), "usage"
                invoice = row["InvoiceNumber"]
            customers[(row["CustomerId"], row["Currency"])] += pretax
            invoices[invoice][kind] += pretax
            invoices[invoice]["tax"] += tax
    return customers, invoices


@pytest.fixture(scope="module")
def clean_month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, Path]:
    data_dir = tmp_path_factory.mktemp("clean")
    month_dir = _generate(data_dir)
    with pytest.MonkeyPatch.context() as monkeypatch:
        exit_code = _run(data_dir, monkeypatch)
    return data_dir, exit_code, month_dir


def _query(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_clean_month_passes(clean_month):
    _, exit_code, _ = clean_month
    assert exit_code == 0


def test_every_customer_cost_ties_to_the_files(clean_month):
    data_dir, _, month_dir = clean_month
    expected_customers, _ = _expected(month_dir)
    rows = _query(
        data_dir,
        "SELECT customer_id, currency, cost_pretax, line_count FROM marts.customer_monthly WHERE billing_period = DATE '2026-10-01'",
    )
    found = {(customer, currency): cost for customer, currency, cost, lines in rows if lines}
    assert found == expected_customers
    assert len({currency for _, currency in found}) == 2
    # Customers billed only the partner's own services consumed nothing from Microsoft.
    assert all(cost == 0 for _, _, cost, lines in rows if not lines)


def test_every_invoice_ties_to_the_files_and_summary(clean_month):
    data_dir, _, month_dir = clean_month
    _, expected_invoices = _expected(month_dir)
    summary = {row["InvoiceNumber"]: row for row in _rows(month_dir / "invoice_summary.csv")}
    rows = _query(
        data_dir,
        """SELECT invoice_number, recon_license_pretax, recon_usage_pretax, recon_tax, invoice_pretax, status
           FROM marts.invoice_reconciliation WHERE billing_period = DATE '2026-10-01'""",
    )
    assert {row[0] for row in rows} == set(summary) == set(expected_invoices)
    for number, license_pretax, usage_pretax, tax, invoice_pretax, status in rows:
        assert license_pretax == expected_invoices[number]["license"]
        assert usage_pretax == expected_invoices[number]["usage"]
        assert tax == expected_invoices[number]["tax"]
        printed = summary[number]
        assert invoice_pretax == Decimal(printed["LicenseCharges"]) + Decimal(printed["UsageCharges"]) + Decimal(
            printed["OtherCharges"]
        )
        assert status == "matched"


def test_money_is_never_floating_point(clean_month):
    data_dir, _, _ = clean_month
    columns = _query(
        data_dir,
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_schema IN ('raw', 'marts')",
    )
    assert not [c for c in columns if c[3] in ("DOUBLE", "FLOAT", "REAL")]
    money = [
        c
        for c in columns
        if c[2] in ("cost_pretax", "billed_pretax", "margin", "pretax_difference", "customer_tax", "amount")
    ]
    assert len(money) >= 8
    assert all(c[3].startswith("DECIMAL") for c in money), money


def test_summary_off_by_one_cent_fails_the_run(tmp_path, monkeypatch, capsys):
    month_dir = _generate(tmp_path)
    summary_path = month_dir / "invoice_summary.csv"
    rows = _rows(summary_path)
    tampered = rows[0]["InvoiceNumber"]
    rows[0]["UsageCharges"] = str(Decimal(rows[0]["UsageCharges"]) + Decimal("0.01"))
    with summary_path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    assert _run(tmp_path, monkeypatch) != 0
    statuses = dict(_query(tmp_path, "SELECT invoice_number, status FROM marts.invoice_reconciliation"))
    assert statuses[tampered] == "mismatch"
    assert all(status == "matched" for number, status in statuses.items() if number != tampered)
    difference = _query(
        tmp_path, "SELECT pretax_difference FROM marts.invoice_reconciliation WHERE invoice_number = ?", [tampered]
    )
    assert difference == [(Decimal("-0.01"),)]
    output = capsys.readouterr().out
    assert f"Invoice {tampered}" in output and "difference -0.01" in output
    exports = tmp_path / "exports" / PERIOD
    assert not (exports / "invoices").exists(), "a month that does not reconcile must not invoice customers"
    assert not (tmp_path / "published" / "warehouse.duckdb").exists(), "nor reach the analysts' warehouse"
    assert "Analysts' warehouse unchanged" in output
    report = (exports / "reconciliation_report.html").read_text(encoding="utf-8")
    assert tampered in report and "mismatch" in report


def test_clean_month_is_published_for_analysts(clean_month):
    data_dir, _, _ = clean_month
    query = "SELECT customer_id, currency, billed_pretax FROM marts.customer_monthly ORDER BY ALL"
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        published = con.execute(query).fetchall()
        months = con.execute("SELECT strftime(billing_period, '%Y-%m') FROM meta.published_months").fetchall()
    assert months == [(PERIOD,)]
    assert published == _query(data_dir, query) and published


def test_clean_month_gets_its_reconciliation_report(clean_month):
    data_dir, _, _ = clean_month
    report = (data_dir / "exports" / PERIOD / "reconciliation_report.html").read_text(encoding="utf-8")
    assert report.count("<td class='matched'>matched</td>") == 2 and "<td class='mismatch'>" not in report
    # A first month: no trend yet, but margins per currency and the sample config's budgets are drawn.
    assert "No history yet: 2026-10 is the only month with EUR figures" in report and "<script" not in report
    assert '<figure class="chart" id="margin-EUR">' in report and '<figure class="chart" id="margin-USD">' in report
    assert report.count("<svg") == report.count("</svg>") >= 2


# The sample configuration the pipeline uses while `<data>/config` has not been written.
SEEDS = Path(__file__).resolve().parent.parent / "pipelines" / "config" / "sample"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_every_line_is_priced_by_its_rule_and_no_credit_is_billed_positive(clean_month):
    data_dir, _, _ = clean_month
    rules = {row["pricing_rule_id"]: row for row in _rows(SEEDS / "pricing_rules.csv")}
    lines = _query(
        data_dir, "SELECT pricing_rule_id, cost_pretax, list_amount, quantity, billed_pretax FROM marts.fct_charges"
    )
    assert lines and all(rule in rules for rule, *_ in lines)
    for rule_id, cost, list_amount, quantity, billed in lines:
        rule = rules[rule_id]
        if rule["basis"] == "cost_markup":
            expected = _cents(cost * (100 + Decimal(rule["rate"])) / 100)
        elif rule["basis"] == "list_relative":
            expected = _cents(list_amount * (100 + Decimal(rule["rate"])) / 100)
        else:
            expected = _cents((-1 if cost < 0 else 1) * Decimal(rule["unit_price"]) * abs(quantity))
        assert billed == expected, (rule_id, cost, billed)
        if cost < 0:
            assert billed <= 0


def test_customer_billing_adds_lines_and_service_charges_and_invoices_match(clean_month):
    data_dir, _, _ = clean_month
    services: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in _rows(SEEDS / "partner_service_charges.csv"):
        if row["valid_from"] <= "2026-10-31" and (not row["valid_to"] or row["valid_to"] >= "2026-10-01"):
            services[(row["customer_id"], row["currency"])] += _cents(
                Decimal(row["quantity"]) * Decimal(row["unit_price"])
            )
    lines = defaultdict(Decimal)
    for customer, currency, billed in _query(
        data_dir, "SELECT customer_id, currency, billed_pretax FROM marts.fct_charges"
    ):
        lines[(customer, currency)] += billed
    invoice_lines = defaultdict(Decimal)
    for customer, currency, amount in _query(
        data_dir, "SELECT customer_id, currency, amount FROM marts.customer_invoice_lines"
    ):
        invoice_lines[(customer, currency)] += amount
    monthly = _query(
        data_dir, "SELECT customer_id, currency, billed_pretax, customer_tax, billed_total FROM marts.customer_monthly"
    )
    configured = {row[0] for row in _query(data_dir, "SELECT customer_id FROM config.customers")}
    for customer, currency, billed, tax, total in monthly:
        key = (customer, currency)
        assert billed == lines[key] + services[key]
        assert invoice_lines[key] == billed
        assert total == billed + tax
        exported = data_dir / "exports" / PERIOD / "invoices"
        # A customer without a billing profile in the config is not invoiced (the index says why).
        expected_files = {".csv", ".html", ".pdf"} if customer in configured else set()
        assert {p.suffix for p in exported.glob(f"{customer}.*")} == expected_files


def test_a_subset_of_the_dbt_assets_builds_only_those_models_and_their_tests(clean_month):
    """The UI's "Materialize selected" (and a re-execution of some assets): dbt builds the chosen
    model and runs only its tests, and Dagster records exactly those."""
    import json

    import dagster as dg

    from pipelines.defs.resources import Warehouse
    from pipelines.defs.transform.dbt_assets import csp_recon_dbt_models

    data_dir, _, _ = clean_month
    chosen = dg.AssetKey(["marts", "reseller_monthly"])
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [csp_recon_dbt_models],
            selection=dg.AssetSelection.assets(chosen),
            partition_key=PERIOD,
            resources={"warehouse": Warehouse(data_dir=str(data_dir))},
            instance=instance,
        )
    assert result.success
    assert [event.asset_key for event in result.get_asset_materialization_events()] == [chosen]
    evaluations = result.get_asset_check_evaluations()
    tests_of_chosen = {spec.name for spec in csp_recon_dbt_models.check_specs if spec.asset_key == chosen}
    assert tests_of_chosen, "reseller_monthly has dbt tests"
    assert {evaluation.check_name for evaluation in evaluations} == tests_of_chosen
    assert all(evaluation.passed for evaluation in evaluations)
    [target] = [path for path in (data_dir / "dbt").iterdir() if path.name == result.run_id]
    ran = {entry["unique_id"] for entry in json.loads((target / "run_results.json").read_text())["results"]}
    assert {node for node in ran if node.startswith("model.")} == {"model.csp_recon.reseller_monthly"}
    assert {node for node in ran if node.startswith("test.")} == {
        spec.metadata["dagster_dbt/unique_id"] for spec in csp_recon_dbt_models.check_specs if spec.asset_key == chosen
    }
