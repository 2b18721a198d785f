"""Draft customer invoices: every invoiced customer gets CSV, HTML and PDF; totals tie to
customer_monthly; hostile names stay inert (HTML-escaped, CSV formulas neutralised, files named by
id); the billing team's index lists every invoice and every customer not invoiced, apart from the
customers' folder."""

from __future__ import annotations

import csv
import io
import subprocess
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.config import load_config
from pipelines.defs.invoicing.assets import BILLING_PROFILES_CHECK, customer_invoices, not_invoiced_sentence
from pipelines.defs.resources import Warehouse
from pipelines.invoicing import INDEX_FILE, InvoiceDataError, load_month, write_month
from pipelines.invoicing.csv_export import INDEX_HEADER, LINE_HEADER
from pipelines.invoicing.rendering import render_month
from pipelines.invoicing.safety import csv_safe_cell, is_inert_csv_cell, safe_file_stem
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.invoice_warehouse import MONEY, PERIOD, Customer, build_warehouse, write_config

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x")'
MONTH = ("2026-10-01", "2026-10-31")
BILLING_PERIOD = BillingPeriod.parse(PERIOD)
CUSTOMERS = [
    Customer("0a1b2c3d-0000-4000-8000-000000000001", SCRIPT, vat_rate="0.21",
             charges=[("Microsoft 365 E3", "s1", *MONTH, "10", "325.00"), ('<img src=x onerror="alert(2)">', "s2", *MONTH, "1", "15.00")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000002", FORMULA, vat_rate="0.20", charges=[("=cmd|' /C calc'!A0", "s3", *MONTH, "3", "30.30")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000003", "+1", currency="USD", country="US", tax_treatment="outside_scope",
             charges=[("Visio Plan 2", "s4", *MONTH, "2", "30.00"), ("Visio Plan 2", "s4", *MONTH, "1", "-15.00")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000004", "-2", vat_rate="0.20", services=[("-Managed services", "1", "250")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000005", "@SUM(A1:A9)", vat_rate="0.20", charges=[("@Support", "s5", *MONTH, "1", "99.99")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000006", "Société Générale Łódź 東京 GmbH", country="DE", tax_treatment="reverse_charge",
             vat_id="DE136695976", charges=[("Dynamics 365 – Ärzte “premium” € plan", "s6", *MONTH, "4", "4938.00")]),
    Customer("0a1b2c3d-0000-4000-8000-000000000007", "Unknown To Config", in_config=False, charges=[("Office 365 E1", "s7", *MONTH, "1", "8.00")]),
]  # fmt: skip
INVOICED = [customer for customer in CUSTOMERS if customer.in_config]


def _setup(root: Path) -> tuple[DataPaths, dict]:
    paths = DataPaths(root.resolve())
    write_config(paths.root / "config", CUSTOMERS)
    return paths, build_warehouse(paths.warehouse, paths.root / "config", CUSTOMERS)


def _month(paths: DataPaths):
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return load_month(con, BILLING_PERIOD, load_config(paths.root / "config").partner)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    paths, expected = _setup(tmp_path_factory.mktemp("data"))
    result = write_month(_month(paths), paths)
    return paths, expected, result


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _dicts(path: Path) -> list[dict[str, str]]:
    header, *rows = _csv_rows(path)
    return [dict(zip(header, row)) for row in rows]


def test_every_invoiced_customer_has_csv_html_and_pdf_named_by_id(exported):
    paths, _, result = exported
    invoices = paths.exports(BILLING_PERIOD) / "invoices"
    assert sorted(p.name for p in invoices.iterdir()) == sorted(
        f"{c.customer_id}.{kind}" for c in INVOICED for kind in ("csv", "html", "pdf")
    )
    assert result.customers == len(INVOICED) and result.invoices == len(INVOICED)
    for customer in INVOICED:
        assert (invoices / f"{customer.customer_id}.pdf").read_bytes().startswith(b"%PDF")
        assert (invoices / f"{customer.customer_id}.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(paths.exports(BILLING_PERIOD).parent.glob(".staging-*")), "staging folder left behind"
    assert not list(invoices.glob("*index*")), (
        "the billing team's index (cost, margin) is not among the customers' files"
    )


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attributes, self.policy = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)
        if tag == "meta" and ("http-equiv", "Content-Security-Policy") in attrs:
            self.policy = dict(attrs)["content"]

    def handle_data(self, data):
        self.text.append(data)


def test_script_name_renders_as_text(exported):
    paths, _, _ = exported
    page = (paths.exports(BILLING_PERIOD) / "invoices" / "0a1b2c3d-0000-4000-8000-000000000001.html").read_text(
        encoding="utf-8"
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<img" not in page
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name in parsed.attributes if name.startswith("on")]
    assert SCRIPT in "".join(parsed.text), "the name is shown as text"
    assert parsed.policy.startswith("default-src 'none';") and "script-src" not in parsed.policy  # no script may run
    assert "VAT 21%" in page


def test_accents_survive_in_html_and_the_pdf_embeds_its_fonts(exported):
    paths, _, _ = exported
    invoices = paths.exports(BILLING_PERIOD) / "invoices"
    page = (invoices / "0a1b2c3d-0000-4000-8000-000000000006.html").read_text(encoding="utf-8")
    assert "Société Générale Łódź 東京 GmbH" in page and "Dynamics 365 – Ärzte “premium” € plan" in page
    fonts = subprocess.run(
        ["pdffonts", str(invoices / "0a1b2c3d-0000-4000-8000-000000000006.pdf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("yes" == row[-5] for row in rows), f"every font embedded:\n{fonts}"
    assert any("DejaVu" in row[0] for row in rows) and any("Droid" in row[0] for row in rows), (
        f"Latin and CJK glyphs each from a font that has them:\n{fonts}"
    )


def test_csv_cells_are_never_formulas(exported):
    paths, _, _ = exported
    month_dir = paths.exports(BILLING_PERIOD)
    files = [month_dir / INDEX_FILE, *sorted((month_dir / "invoices").glob("*.csv"))]
    for path in files:
        for row in _csv_rows(path):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), f"{path.name}: {cell!r}"
                assert not cell.startswith("-") or is_inert_csv_cell(cell), (
                    f"{path.name}: {cell!r} is not a plain number"
                )
    names = {row["customer_id"]: row["customer_name"] for row in _dicts(month_dir / INDEX_FILE)}
    assert names["0a1b2c3d-0000-4000-8000-000000000002"] == "'" + FORMULA
    assert names["0a1b2c3d-0000-4000-8000-000000000003"] == "'+1"
    assert names["0a1b2c3d-0000-4000-8000-000000000004"] == "'-2"
    assert names["0a1b2c3d-0000-4000-8000-000000000005"] == "'@SUM(A1:A9)"
    lines = _dicts(month_dir / "invoices" / "0a1b2c3d-0000-4000-8000-000000000002.csv")
    assert lines[0]["billing_name"] == "'" + FORMULA and lines[0]["description"] == "'=cmd|' /C calc'!A0"
    credit = next(
        row
        for row in _dicts(month_dir / "invoices" / "0a1b2c3d-0000-4000-8000-000000000003.csv")
        if row["amount"].startswith("-")
    )
    assert (credit["quantity"], credit["unit_price"], credit["amount"]) == ("-1", "15.00", "-15.00"), (
        "a credit at the price charged"
    )


def test_csv_lines_sum_to_customer_monthly(exported):
    paths, expected, _ = exported
    for customer in INVOICED:
        rows = _dicts(paths.exports(BILLING_PERIOD) / "invoices" / f"{customer.customer_id}.csv")
        assert list(rows[0]) == list(LINE_HEADER)
        assert all(row["invoice_number"] == "DRAFT" for row in rows), "a draft carries no number"
        assert sum(Decimal(row["amount"]) for row in rows) == expected[customer.customer_id]["billed_pretax"]


def test_index_lists_every_invoice_with_totals_and_the_customers_not_invoiced(exported):
    paths, expected, result = exported
    index = _dicts(paths.exports(BILLING_PERIOD) / INDEX_FILE)
    assert list(index[0]) == list(INDEX_HEADER)
    drafts = [row for row in index if row["status"] == "draft"]
    assert {row["customer_id"] for row in drafts} == {c.customer_id for c in INVOICED}
    for row in drafts:
        for column in MONEY:
            assert Decimal(row[column]) == expected[row["customer_id"]][column], (row["customer_id"], column)
        assert all(row[kind + "_file"] == f"invoices/{row['customer_id']}.{kind}" for kind in ("csv", "html", "pdf"))
    (blocked,) = [row for row in index if row["status"] == "blocked"]
    assert (
        blocked["customer_id"] == "0a1b2c3d-0000-4000-8000-000000000007"
        and "not in customers.csv" in blocked["blocked_reason"]
    )
    assert result.totals["EUR"]["billed_total"] == sum(
        expected[c.customer_id]["billed_total"] for c in INVOICED if c.currency == "EUR"
    )


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_rerun_replaces_the_drafts_and_is_identical(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr("pipelines.invoicing.writer._renameat2", lambda: None)
    paths, _ = _setup(tmp_path)
    month_dir = paths.exports(BILLING_PERIOD)
    (month_dir / "invoices").mkdir(parents=True)
    (month_dir / "invoices" / "dropped-customer.pdf").write_bytes(b"stale")
    (month_dir / "reconciliation_report.html").write_text("someone else's file")
    month = _month(paths)
    write_month(month, paths)
    first = {p.name: p.read_bytes() for p in (month_dir / "invoices").iterdir()}
    assert "dropped-customer.pdf" not in first
    assert (month_dir / "reconciliation_report.html").read_text() == "someone else's file"
    write_month(month, paths)
    assert {p.name: p.read_bytes() for p in (month_dir / "invoices").iterdir()} == first, (
        "a re-run writes identical files"
    )


def test_worker_processes_render_the_same_documents(tmp_path):
    paths, _ = _setup(tmp_path)
    month = _month(paths)
    alone = list(render_month(month, workers=1))
    assert list(render_month(month, workers=2)) == alone
    assert [customer.customer_id for customer, _ in alone] == [customer.customer_id for customer in month.customers]


def test_lines_that_do_not_add_up_write_nothing(tmp_path):
    paths, _ = _setup(tmp_path)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(
            "UPDATE marts.customer_monthly SET billed_pretax = billed_pretax + 0.01 WHERE customer_id LIKE '%0004'"
        )
    with pytest.raises(InvoiceDataError, match="000000000004.*lines add up to 250.00 but billed_pretax is 250.01"):
        _month(paths)


def test_safety_helpers():
    assert csv_safe_cell("=1+1") == "'=1+1" and csv_safe_cell(" @x") == "' @x" and csv_safe_cell("\tx") == "'\tx"
    assert csv_safe_cell("Contoso") == "Contoso" and csv_safe_cell(None) == ""
    assert is_inert_csv_cell("-12.50") and not is_inert_csv_cell("-1+2")
    assert safe_file_stem("3eb751bd-dd07-411e-97c2-fefcfffa92af") == "3eb751bd-dd07-411e-97c2-fefcfffa92af"
    assert safe_file_stem("../../etc/passwd").startswith("etcpasswd-")
    with pytest.raises(ValueError):
        safe_file_stem(" ")


def test_dagster_asset_exports_the_partition_and_names_the_customer_not_invoiced(tmp_path, monkeypatch):
    paths, expected = _setup(tmp_path)
    # This warehouse holds only what invoices are made from; the gate is tested in test_gate.py.
    monkeypatch.setattr("pipelines.defs.invoicing.assets.require_month_passed", lambda *args: None)
    with dg.instance_for_test() as instance:  # its own: an earlier test's run may have closed the current one
        result = dg.materialize(
            [customer_invoices],
            partition_key=PERIOD,
            resources={"warehouse": Warehouse(data_dir=str(paths.root))},
            instance=instance,
        )
    assert result.success
    metadata = result.asset_materializations_for_node("exports__customer_invoices")[0].metadata
    assert metadata["customers_exported"].value == len(INVOICED)
    assert metadata["files"].value == 3 * len(INVOICED) + 1
    assert Decimal(metadata["billed_total_EUR"].value) == sum(
        expected[c.customer_id]["billed_total"] for c in INVOICED if c.currency == "EUR"
    )
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == BILLING_PROFILES_CHECK and not check.passed
    assert "Unknown To Config" in check.description and "0a1b2c3d-0000-4000-8000-000000000007" in check.description


def test_a_month_with_hundreds_of_customers_not_invoiced_names_ten_and_counts_the_rest():
    blocked = [f"Customer {n} (id-{n}): not in customers.csv of the config" for n in range(1, 391)]
    sentence = not_invoiced_sentence(blocked, "/data/exports/2026-10/index.csv")
    assert sentence.startswith("Not invoiced: 390 customers, Customer 1 (id-1): not in customers.csv")
    assert "Customer 10 (id-10)" in sentence and "Customer 11 (id-11)" not in sentence
    assert sentence.endswith("; and 380 more, each listed in /data/exports/2026-10/index.csv")
    assert not_invoiced_sentence(blocked[:2], "index.csv") == "Not invoiced: " + "; ".join(blocked[:2])
