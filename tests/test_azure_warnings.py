"""Early Azure warnings on an open month whose only data is the unbilled daily usage file: no
recon file, no Microsoft invoice, no customer invoice yet. Budgets (80 % and 100 % of
monthly_usage_budget at the partner's sell price) and day-over-day spikes per Azure
subscription (partner.toml [azure_warnings]), as Dagster WARN checks, in the CLI summary and
in the reconciliation report. Expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.config import write_sample_config
from pipelines.defs.quality.warnings import azure_usage_spikes, usage_over_budget
from pipelines.periods import BillingPeriod
from pipelines.quality.azure_warnings import SpikeRule, azure_warning_rows, configured_spike_rule, summary_lines
from pipelines.quality.report_data import load_report
from pipelines.quality.report_html import render_report
from pipelines.settings import DataPaths
from tests.azure_rows import daily_row
from tests.dbt_warehouse import dbt, new_warehouse, query

PERIOD = "2026-11"
MONTH = date(2026, 11, 1)
BILLING_PERIOD = BillingPeriod.parse(PERIOD)
CAFE = "dedb9bf6-b9cd-4374-9646-2d7555a38231"  # sample config: budget 25000.00 EUR
DUPONT = "e2ddfd8e-ff1f-4d0d-8617-9528ba85532e"  # sample config: budget 5000.00 EUR
LODZ = "86313673-fb38-4e6a-b010-853ff57640e1"  # sample config: budget 40000.00 USD
STEADY, SPIKY, TINY = (
    "aaaaaaaa-0000-4000-8000-000000000001",
    "aaaaaaaa-0000-4000-8000-000000000002",
    "aaaaaaaa-0000-4000-8000-000000000003",
)
DUPONT_SUB, LODZ_SUB = "aaaaaaaa-0000-4000-8000-000000000004", "aaaaaaaa-0000-4000-8000-000000000005"
HOSTILE = "[click](http://evil.example) <b>x</b> | ="


def _day(day: int) -> datetime:
    return datetime(2026, 11, day)


def _unbilled() -> list[dict]:
    cafe = dict(customer_id=CAFE, customer_name="Café São Paulo Ltda.", invoice=None)
    return [
        # Café, all at +10 %: steady 10000 then 9000 (a fall), spiky 100 then 300, tiny 0.01 then 0.05.
        daily_row(**cafe, entitlement=STEADY, day=_day(1), cost="10000.00"),
        daily_row(**cafe, entitlement=STEADY, day=_day(2), cost="9000.00"),
        daily_row(**cafe, entitlement=SPIKY, day=_day(1), cost="100.00", entitlement_description=HOSTILE),
        daily_row(**cafe, entitlement=SPIKY, day=_day(2), cost="300.00", entitlement_description=HOSTILE),
        daily_row(**cafe, entitlement=TINY, day=_day(1), cost="0.01"),
        daily_row(**cafe, entitlement=TINY, day=_day(2), cost="0.05"),
        # Dupont: 2500 a day, two days.
        daily_row(customer_id=DUPONT, customer_name="Société Dupont, SA", invoice=None, entitlement=DUPONT_SUB, day=_day(1), cost="2500.00"),
        daily_row(customer_id=DUPONT, customer_name="Société Dupont, SA", invoice=None, entitlement=DUPONT_SUB, day=_day(2), cost="2500.00"),
        # Łódź: far below its budget, in USD.
        daily_row(customer_id=LODZ, customer_name="Łódź Logistics", invoice=None, entitlement=LODZ_SUB, day=_day(2), cost="100.00",
                  billing_currency="USD", pricing_currency="USD"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def open_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("azure_open")
    warehouse = new_warehouse(data_dir)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM config.pricing_rules")
        con.execute(
            "INSERT INTO config.pricing_rules (pricing_rule_id, priority, basis, rate) VALUES ('default', 0, 'cost_markup', 10)"
        )
    from tests.dbt_warehouse import insert_rows

    insert_rows(warehouse, "raw.daily_usage", PERIOD, _unbilled(), "daily_usage_unbilled_2026-11.csv")
    dbt(data_dir, [PERIOD], "build")  # every model and test, on a month with nothing but unbilled usage
    return data_dir


def test_the_open_month_has_no_invoice_but_an_estimate(open_month):
    warehouse = open_month / "warehouse.duckdb"
    assert query(warehouse, "SELECT count(*) FROM marts.fct_charges WHERE billing_period = ?", [MONTH]) == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM marts.customer_invoice_lines WHERE billing_period = ?", [MONTH]) == [
        (0,)
    ]
    estimate = query(warehouse, """SELECT line_status, pricing_rule_id, estimated_pretax, billed_pretax FROM marts.azure_daily_usage
                                   WHERE billing_period = ? AND entitlement_id = ? ORDER BY usage_date""", [MONTH, SPIKY])  # fmt: skip
    assert estimate == [
        ("unbilled", "default", Decimal("110.000000"), None),
        ("unbilled", "default", Decimal("330.000000"), None),
    ]


def test_budget_warnings_at_80_and_100_percent_before_any_invoice(open_month):
    with duckdb.connect(str(open_month / "warehouse.duckdb"), read_only=True) as con:
        rows = [row for row in azure_warning_rows(con, BILLING_PERIOD) if row["kind"] == "budget"]
        result = usage_over_budget(con, BILLING_PERIOD)
    # Dupont: 2 x 2750.00 = 5500.00 of 5000.00 = 110.0 %. Café: 11000 + 9900 + 110 + 330 + 0.011 +
    # 0.055 = 21340.066 of 25000.00 = 85.36 %. Łódź: 110.00 of 40000.00, no warning.
    assert [(r["customer_id"], r["level"], r["amount"], r["compared_with"]) for r in rows] == [
        (DUPONT, "100 %", Decimal("5500.000000"), Decimal("5000.00")),
        (CAFE, "80 %", Decimal("21340.066000"), Decimal("25000.00")),
    ]
    assert "over its monthly budget" in rows[0]["message"] and "110.0 % of 5,000.00 EUR" in rows[0]["message"]
    assert "past 80 % of its monthly budget" in rows[1]["message"] and "85.4 %" in rows[1]["message"]
    assert "estimated Azure spend" in rows[1]["message"] and "usage until 2026-11-02" in rows[1]["message"]
    assert not result.passed and result.severity.value == "WARN"
    assert result.description.startswith("2 customer(s) past 80 %")


def test_a_spike_is_flagged_and_a_tiny_one_is_not(open_month):
    with duckdb.connect(str(open_month / "warehouse.duckdb"), read_only=True) as con:
        rows = [row for row in azure_warning_rows(con, BILLING_PERIOD) if row["kind"] == "spike"]
        result = azure_usage_spikes(con, BILLING_PERIOD)
        # The partner's own rule: a day must cost 300 % more than the day before.
        strict = [
            row
            for row in azure_warning_rows(con, BILLING_PERIOD, SpikeRule(Decimal(300), Decimal(50)))
            if row["kind"] == "spike"
        ]
        # ... or may rise by as little as 0.01 (then 0.011 -> 0.055 is one, +400 %).
        loose = [
            row
            for row in azure_warning_rows(con, BILLING_PERIOD, SpikeRule(Decimal(100), Decimal("0.01")))
            if row["kind"] == "spike"
        ]
    # Spiky: 110.00 -> 330.00, up 220.00 (>= 50.00) and above 2 x 110.00. Łódź's subscription
    # starts costing on the 2nd: 0.00 -> 110.00. Tiny: 0.011 -> 0.055, up 0.044 (< 50.00).
    # Steady falls; Dupont is flat; the 1st has no day before it in the month.
    assert [
        (r["customer_id"], r["azure_subscription_id"], r["usage_date"], r["amount"], r["compared_with"]) for r in rows
    ] == [
        (CAFE, SPIKY, date(2026, 11, 2), Decimal("330.000000"), Decimal("110.000000")),
        (LODZ, LODZ_SUB, date(2026, 11, 2), Decimal("110.000000"), Decimal("0")),
    ]
    assert "up 220.00 from 110.00 on 2026-11-01" in rows[0]["message"]
    assert not result.passed and result.severity.value == "WARN"
    # Markdown-safe metadata: the hostile subscription name is no link, no HTML, no extra column.
    table = result.metadata["examples"].value
    assert "[click](" not in table and "<b>" not in table and "\\[click\\]" in table
    assert [r["azure_subscription_id"] for r in strict] == [LODZ_SUB]  # from nothing is above any percentage
    assert [r["azure_subscription_id"] for r in loose] == [SPIKY, LODZ_SUB, TINY]


def test_spike_rule_comes_from_partner_toml_with_documented_defaults(tmp_path: Path):
    paths = DataPaths(tmp_path)
    write_sample_config(tmp_path / "config")
    assert configured_spike_rule(paths) == SpikeRule(Decimal(100), Decimal("50.00"))
    toml = tmp_path / "config" / "partner.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("spike_percent = 100", "spike_percent = 250"), encoding="utf-8"
    )
    assert configured_spike_rule(paths) == SpikeRule(Decimal(250), Decimal("50.00"))
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("spike_percent = 250", 'spike_percent = "lots"'), encoding="utf-8"
    )
    from pipelines.config import ConfigError, load_config

    with pytest.raises(
        ConfigError, match=r"partner.toml, \[azure_warnings\] spike_percent: is 'lots': write a percentage"
    ):
        load_config(tmp_path / "config")


def test_warnings_reach_the_cli_summary_and_the_report(open_month):
    with duckdb.connect(str(open_month / "warehouse.duckdb"), read_only=True) as con:
        lines = summary_lines(con, BILLING_PERIOD, DataPaths(open_month))
        report = render_report(load_report(con, BILLING_PERIOD))
    assert lines[0].strip() == "Azure warnings (early, not blocking):" and len(lines) == 5
    assert any("Société Dupont, SA is over its monthly budget" in line for line in lines)
    assert "<h2>Azure early warnings (4)</h2>" in report
    assert "up 220.00 from 110.00" in report and "<b>x</b>" not in report and "&lt;b&gt;x&lt;/b&gt;" in report
