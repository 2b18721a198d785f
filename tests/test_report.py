"""The month's reconciliation report: one autoescaped template, charts as inline SVG drawn by
matplotlib (no script, byte-for-byte reproducible), and the rejected lines' amounts as written.

Report data are built here by hand (literal Decimals), or loaded from a warehouse whose raw
tables come from a real ingest of Partner Center files and whose marts rows are written here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.periods import BillingPeriod
from pipelines.quality.report_data import load_report
from pipelines.quality.report_html import CustomerMargin, render_report
from tests.corpus import LICENSE_HEADER, PERIOD, license_row, load, summary_row, write_csv, write_summary
from tests.report_sample import DOLLARS, MONTH, NON_LATIN, sample

BILLING_PERIOD = BillingPeriod.parse(PERIOD)


@pytest.fixture(scope="module")
def report() -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        html = render_report(sample())
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert missing == [], "every glyph of every name is in the chart's font"
    return html


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


def test_every_section_is_rendered(report):
    for heading in (
        "<h2>Invoices</h2>",
        "<h2>Why invoice G000000002 does not reconcile</h2>",
        "<h2>Cost, billed and margin, last 12 months</h2>",
        "<h2>Margin per customer, 2026-10</h2>",
        "<h2>Azure usage against budget, 2026-10</h2>",
        "<h2>Files</h2>",
        "<h2>Rejected lines (1)</h2>",
    ):
        assert report.count(heading) == 1, heading
    assert "Why invoice G000000001" not in report, "a matched invoice is not drilled into"
    assert "<td class='matched'>matched</td>" in report and "<td class='mismatch'>mismatch</td>" in report
    assert "Per charge type" in report and "Per customer:" in report and "Per product:" in report
    assert '<td class="n">1,204</td>' in report and '<td class="n">-0.01</td>' in report
    assert report.startswith("<!doctype html>") and report.rstrip().endswith("</html>")


def test_charts_are_inline_svg_with_no_script_and_nothing_external(report):
    svgs = _svgs(report)
    # EUR trend (USD has one month: no chart), margins EUR and USD, budgets EUR.
    assert len(svgs) == 4
    assert [key for key in re.findall(r'<figure class="chart" id="([^"]+)"', report)] == [
        "trend-EUR", "margin-EUR", "margin-USD", "budget-EUR"]  # fmt: skip
    lowered = report.lower()
    assert "<script" not in lowered and "javascript:" not in lowered and "<foreignobject" not in lowered
    assert "<?xml" not in report and "<!doctype svg" not in lowered
    assert not re.search(r"(href|src)=\"(?!#)", report), "no external file: every reference is inside the page"
    assert not re.search(r"\son[a-z]+=", lowered), "no event handler attributes"
    assert "default-src 'none'" in report  # and a CSP forbidding scripts should anything slip through
    clip_ids = re.findall(r'<clipPath id="([^"]+)"', report)
    assert len(clip_ids) == len(set(clip_ids)), "ids are unique across the page's charts"


def test_hostile_names_are_escaped_in_tables_and_charts(report):
    assert "<script>alert" not in report
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons" in report  # in the tables, by Jinja2
    chart_text = "".join(_svgs(report))
    assert "&lt;script&gt;alert(" in chart_text, "matplotlib writes the name as escaped SVG text"
    assert NON_LATIN in report and NON_LATIN in chart_text
    assert DOLLARS in chart_text, "a $ in a name is drawn as a $, not read as a formula"


def test_figures_printed_as_text_come_from_the_decimal(report):
    assert "12,345,678,901,234,567.89" in report  # the table, and the label on the bar
    assert "".join(_svgs(report)).count("12,345,678,901,234,567.89") == 1
    assert "12,345,678,901,234,568.00" not in report and "1.2345678901234568" not in report
    assert "104.0 % of 25,000.00, over" in report  # 26,000.50 / 25,000.00, rounded to 0.1 %
    assert "0.0 % of 5,000.00" in report
    assert '<td class="n over">104.0 % of 25,000.00, over</td>' in report
    assert '<td class="n over">-10.00</td>' in report  # a loss stands out


def test_a_currency_with_one_month_says_no_history_yet(report):
    assert report.count('class="no-history"') == 1
    assert "No history yet: 2026-10 is the only month with USD figures in the last 12 months" in report


def test_a_first_month_draws_no_empty_chart():
    data = sample()
    data.history = [h for h in data.history if h.billing_period == MONTH]
    data.margins, data.budgets = [], []
    html = render_report(data)
    assert "No history yet: 2026-10 is the only month with EUR figures" in html
    assert "No history yet: 2026-10 is the only month with USD figures" in html
    assert "No customer has a monthly usage budget" in html and "No customer figures for 2026-10" in html
    assert _svgs(html) == []
    data.history = []
    assert "No history yet: no customer figures for 2026-10 or the 11 months before it" in render_report(data)


def test_the_trend_starts_at_the_first_month_and_leaves_a_missing_month_a_gap():
    data = sample()
    data.history = [h for h in data.history if h.billing_period != date(2026, 5, 1)]
    data.margins, data.budgets = [], []
    trend = _svgs(render_report(data))[0]
    labels = re.findall(r">(20\d\d-\d\d)</text>", trend)
    assert labels == [f"2026-{m:02d}" for m in range(1, 11)], "2026-05 keeps its place on the axis"


def test_many_customers_draw_the_largest_and_smallest_margins_and_table_all():
    data = sample()
    data.margins = [
        CustomerMargin(f"c-{i:02d}", f"Customer {i:02d}", "EUR", Decimal("10"), Decimal(10 + i), Decimal(i))
        for i in range(1, 41)
    ]
    html = render_report(data)
    chart = next(svg for svg in _svgs(html) if "Customer 40" in svg)
    assert "Customer 21" in chart and "Customer 20" not in chart and "Customer 01" in chart
    assert "10 customers in between are in the table" in html
    assert all(f"<td>Customer {i:02d}</td>" in html for i in range(1, 41))


def test_two_customers_of_one_name_are_told_apart_in_the_chart():
    data = sample()
    data.margins = [
        CustomerMargin(
            "09dc1bb8-8401-44b9-8cab-19b3242681be",
            "Société Dupont, SA",
            "EUR",
            Decimal("1"),
            Decimal("3"),
            Decimal("2"),
        ),
        CustomerMargin(
            "e2ddfd8e-ff1f-4d0d-8617-9528ba85532e",
            "Société Dupont, SA",
            "EUR",
            Decimal("1"),
            Decimal("2"),
            Decimal("1"),
        ),
    ]
    chart = _svgs(render_report(data))[1]
    assert "Société Dupont, SA (09dc1bb8)" in chart and "Société Dupont, SA (e2ddfd8e)" in chart


def test_two_renders_are_the_same_bytes_even_in_another_process(report):
    assert render_report(sample()) == report
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.report_sample import sample; from pipelines.quality.report_html import "
         "render_report; sys.stdout.buffer.write(render_report(sample()).encode('utf-8'))"],
        capture_output=True, check=True, cwd=Path(__file__).resolve().parent.parent, timeout=120,
    )  # fmt: skip
    assert other.stdout == report.encode("utf-8")


def _marts(con: duckdb.DuckDBPyConnection) -> None:
    """The columns of the marts the report reads, with the project's money types."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE SCHEMA IF NOT EXISTS config")
    con.execute("""CREATE TABLE marts.invoice_reconciliation (billing_period DATE, invoice_number VARCHAR, currency VARCHAR,
        invoice_pretax DECIMAL(28,6), recon_pretax DECIMAL(28,6), other_charges DECIMAL(28,6), pretax_difference DECIMAL(28,6),
        invoice_tax DECIMAL(28,6), recon_tax DECIMAL(28,6), tax_difference DECIMAL(28,6), status VARCHAR,
        invoice_charges DECIMAL(28,6), recon_charges DECIMAL(28,6), invoice_credits DECIMAL(28,6), recon_credits DECIMAL(28,6),
        invoice_total_difference DECIMAL(28,6))""")
    con.execute("""CREATE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, currency VARCHAR,
        customer_name VARCHAR, usage_cost_pretax DECIMAL(28,6), cost_pretax DECIMAL(28,6), billed_pretax DECIMAL(28,2),
        margin DECIMAL(28,6))""")
    con.execute("""CREATE TABLE config.customers (customer_id VARCHAR, billing_name VARCHAR, currency VARCHAR,
        monthly_usage_budget DECIMAL(28,2))""")
    con.execute("""CREATE TABLE marts.fct_charges (billing_period DATE, customer_id VARCHAR, currency VARCHAR,
        customer_name VARCHAR, source VARCHAR, billed_pretax DECIMAL(28,2))""")


def test_loaded_from_the_warehouse_twelve_months_budgets_and_amounts_as_written(tmp_path):
    landing = tmp_path / "landing" / PERIOD
    good = [license_row("c1", "Contoso", "10.00", "1.90", line=1), license_row("c1", "Contoso", "5.00", "0.95", line=3)]
    bad = license_row(
        "c2", NON_LATIN, "12.50", "2.38", line=2, Amount="12,50", Subtotal="12,50", TotalForCustomer="14,88"
    )
    write_csv(landing / "D1_License.csv", LICENSE_HEADER, [good[0], bad, good[1]])
    write_summary(landing / "invoice_summary.csv", [summary_row("D1", "EUR", good)])
    load(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _marts(con)
        for year, month in [(2025, 9), (2025, 10), *((2025, m) for m in (11, 12)), *((2026, m) for m in range(1, 12))]:
            con.execute("INSERT INTO marts.customer_monthly VALUES (?, 'c1', 'EUR', 'Contoso', 1, 100, 110, 10)",
                        [date(year, month, 1)])  # fmt: skip
        con.execute(
            "INSERT INTO marts.customer_monthly VALUES (?, 'c2', 'EUR', ?, 300.5, 400, 380, -20)", [MONTH, NON_LATIN]
        )
        con.execute("INSERT INTO marts.customer_monthly VALUES (?, 'c2', 'USD', ?, 7, 7, 8, 1)", [MONTH, NON_LATIN])
        # c2's usage at sell price (its cost is 300.5): two usage lines, and a licence that is no usage.
        con.execute("INSERT INTO marts.fct_charges VALUES (?, 'c2', 'EUR', ?, 'usage', 200.30), (?, 'c2', 'EUR', ?, 'usage', 130.25), "
                    "(?, 'c2', 'EUR', ?, 'license', 49.45)", [MONTH, NON_LATIN] * 3)  # fmt: skip
        con.execute("INSERT INTO config.customers VALUES ('c2', ?, 'EUR', 250.00), ('c3', 'Fabrikam', 'EUR', 99.00), "
                    "('c1', 'Contoso', 'EUR', NULL)", [NON_LATIN])  # fmt: skip
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        data = load_report(con, BILLING_PERIOD, landing)
        without_landing = load_report(con, BILLING_PERIOD)
    months = sorted({h.billing_period for h in data.history})
    assert months[0] == date(2025, 11, 1) and months[-1] == MONTH and len(months) == 12, (
        "12 months, none after this one"
    )
    eur = {h.billing_period: h for h in data.history if h.currency == "EUR"}
    assert (eur[MONTH].cost, eur[MONTH].billed, eur[MONTH].margin) == (Decimal("500"), Decimal("490"), Decimal("-10"))
    assert [(b.customer_id, b.usage, b.budget, b.over) for b in data.budgets] == [
        ("c2", Decimal("330.55"), Decimal("250.00"), True),  # 200.30 + 130.25: spend at sell price, as warned
        ("c3", Decimal("0"), Decimal("99.00"), False),
    ]
    assert data.budgets[1].customer_name == "Fabrikam", "a budgeted customer without usage this month shows 0"
    (rejected,) = data.rejected
    written = "Amount 12,50, TotalOtherDiscount 0.00, Subtotal 12,50, Tax 2.38, TotalForCustomer 14,88"
    assert (rejected["line_number"], rejected["amounts_as_written"]) == (3, written)
    assert without_landing.rejected[0]["amounts_as_written"] == written, "the file's header is kept with the line"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.rejected_rows SET file_header = NULL")  # as kept before the header was
        assert load_report(con, BILLING_PERIOD, landing).rejected[0]["amounts_as_written"] == written, "read again"
    html = render_report(data)
    assert f"<td>{written}</td>" in html and "<th>Amounts as written</th>" in html
    assert "132.2 % of 250.00, over" in html
