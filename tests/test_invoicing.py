"""Customer invoices: every customer gets CSV, HTML and PDF; totals tie to customer_monthly;
hostile names stay inert (HTML-escaped, CSV formulas neutralised, files named by id)."""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.exports.assets import customer_invoices
from pipelines.defs.resources import Warehouse
from pipelines.invoicing import INDEX_FILE, InvoiceDataError, load_month, write_month
from pipelines.invoicing.csv_export import INDEX_HEADER, LINE_HEADER
from pipelines.invoicing.pdf_invoice import FONT_ENV, core_font_text, render_pdf
from pipelines.invoicing.rendering import render_month
from pipelines.invoicing.source import assemble_month
from pipelines.invoicing.safety import csv_safe_cell, is_inert_csv_cell, safe_file_stem
from pipelines.settings import DataPaths

PERIOD = "2026-10"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x")'
ACCENTS = "Société Générale Łódź 東京 GmbH"
MONEY = ["license_cost_pretax", "usage_cost_pretax", "cost_pretax", "markup_amount", "service_charges",
         "billed_pretax", "customer_tax", "billed_total", "margin"]  # fmt: skip

# customer id -> name, and its lines per currency: (description, quantity, unit price, amount)
CUSTOMERS = {
    "0a1b2c3d-0000-4000-8000-000000000001": (SCRIPT, {"EUR": [("Microsoft 365 E3", "10", "32.50", "325.00"), ('<img src=x onerror="alert(2)">', "1", "15", "15.00")]}),
    "0a1b2c3d-0000-4000-8000-000000000002": (FORMULA, {"EUR": [("=cmd|' /C calc'!A0", "3", "10.10", "30.30")], "USD": [("Azure usage", "1.234567", "100.000000", "123.46")]}),
    "0a1b2c3d-0000-4000-8000-000000000003": ("+1", {"USD": [("Visio Plan 2", "2", "15.00", "30.00"), ("Credit: Visio Plan 2", "-1", "15.00", "-15.00")]}),
    "0a1b2c3d-0000-4000-8000-000000000004": ("-2", {"EUR": [("-Managed services", "1", "250", "250.00")]}),
    "0a1b2c3d-0000-4000-8000-000000000005": ("@SUM(A1:A9)", {"EUR": [("@Support", "1", "99.99", "99.99")]}),
    "0a1b2c3d-0000-4000-8000-000000000006": (ACCENTS, {"EUR": [("Dynamics 365 – Ärzte “premium” € plan", "4", "1234.5", "4938.00")]}),
}
VAT = {"0a1b2c3d-0000-4000-8000-000000000001": (Decimal("0.21"), False), "0a1b2c3d-0000-4000-8000-000000000006": (Decimal("0.19"), True)}


def _build_warehouse(path: Path, break_customer: str | None = None) -> dict[tuple[str, str], dict[str, Decimal]]:
    """marts.customer_monthly and marts.customer_invoice_lines for PERIOD, plus noise in another month."""
    expected = {}
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA config")
        con.execute(
            "CREATE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, currency VARCHAR, customer_name VARCHAR, "
            + ", ".join(f"{column} DECIMAL(18,2)" for column in MONEY)
            + ", line_count INTEGER)"
        )
        con.execute(
            "CREATE TABLE marts.customer_invoice_lines (billing_period DATE, customer_id VARCHAR, currency VARCHAR, line_number INTEGER, "
            "line_description VARCHAR, quantity DECIMAL(18,6), unit_price DECIMAL(18,6), amount DECIMAL(18,2))"
        )
        con.execute("CREATE TABLE config.customers (customer_id VARCHAR, billing_name VARCHAR, country VARCHAR, vat_rate DECIMAL(6,4), tax_exempt BOOLEAN)")
        for customer_id, (rate, exempt) in VAT.items():
            billing_name = "Société Générale Łódź 東京 GmbH (billing)" if customer_id.endswith("6") else None
            con.execute("INSERT INTO config.customers VALUES (?, ?, 'DE', ?, ?)", [customer_id, billing_name, rate, exempt])
        for customer_id, (name, currencies) in CUSTOMERS.items():
            for currency, lines in currencies.items():
                for number, (description, quantity, unit_price, amount) in enumerate(lines, start=1):
                    con.execute(
                        "INSERT INTO marts.customer_invoice_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [f"{PERIOD}-01", customer_id, currency, number, description, Decimal(quantity), Decimal(unit_price), Decimal(amount)],
                    )
                pretax = sum(Decimal(line[3]) for line in lines)
                if customer_id == break_customer:
                    pretax += Decimal("0.01")
                tax = Decimal(0) if VAT.get(customer_id, (0, False))[1] else (pretax * Decimal("0.2")).quantize(Decimal("0.01"))
                cost = (pretax * Decimal("0.8")).quantize(Decimal("0.01"))
                row = {
                    "license_cost_pretax": cost, "usage_cost_pretax": Decimal(0), "cost_pretax": cost,
                    "markup_amount": pretax - cost, "service_charges": Decimal(0), "billed_pretax": pretax,
                    "customer_tax": tax, "billed_total": pretax + tax, "margin": pretax - cost,
                }  # fmt: skip
                expected[(customer_id, currency)] = row
                con.execute(
                    f"INSERT INTO marts.customer_monthly VALUES (?, ?, ?, ?, {', '.join('?' for _ in MONEY)}, ?)",
                    [f"{PERIOD}-01", customer_id, currency, name, *(row[column] for column in MONEY), len(lines)],
                )
        # Another month must not leak into PERIOD's invoices.
        con.execute(
            f"INSERT INTO marts.customer_monthly VALUES ('2026-09-01', 'old-customer', 'EUR', 'Old', {', '.join('1' for _ in MONEY)}, 1)"
        )
        con.execute("INSERT INTO marts.customer_invoice_lines VALUES ('2026-09-01', 'old-customer', 'EUR', 1, 'Old', 1, 1, 1)")
    return expected


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data").resolve()
    paths = DataPaths(data_dir)
    expected = _build_warehouse(paths.warehouse)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, PERIOD)
    result = write_month(month, paths)
    return paths, expected, result


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _dicts(path: Path) -> list[dict[str, str]]:
    header, *rows = _csv_rows(path)
    return [dict(zip(header, row)) for row in rows]


def test_every_customer_has_csv_html_and_pdf_named_by_id(exported):
    paths, _, result = exported
    invoices = paths.exports(PERIOD) / "invoices"
    assert sorted(p.name for p in invoices.iterdir()) == sorted(f"{cid}.{kind}" for cid in CUSTOMERS for kind in ("csv", "html", "pdf"))
    assert result.customers == len(CUSTOMERS) and result.invoices == 7
    for customer_id in CUSTOMERS:
        assert (invoices / f"{customer_id}.pdf").read_bytes().startswith(b"%PDF")
        assert (invoices / f"{customer_id}.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(paths.exports(PERIOD).parent.glob(".staging-*")), "staging folder left behind"


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
    page = (paths.exports(PERIOD) / "invoices" / "0a1b2c3d-0000-4000-8000-000000000001.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<img" not in page
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name in parsed.attributes if name.startswith("on")]
    assert SCRIPT in "".join(parsed.text), "the name is shown as text"
    assert parsed.policy.startswith("default-src 'none';") and "script-src" not in parsed.policy  # no script may run
    assert "Tax (VAT 21%)" in page


def test_accents_survive_in_html_and_pdf(exported):
    paths, _, _ = exported
    page = (paths.exports(PERIOD) / "invoices" / "0a1b2c3d-0000-4000-8000-000000000006.html").read_text(encoding="utf-8")
    assert "Société Générale Łódź 東京 GmbH (billing)" in page and "Tax (exempt)" in page
    assert core_font_text("Société Łódź “x” € 東") == "Société Lódz “x” € ?"


def test_csv_cells_are_never_formulas(exported):
    paths, _, _ = exported
    month_dir = paths.exports(PERIOD)
    files = [month_dir / INDEX_FILE, *sorted((month_dir / "invoices").glob("*.csv"))]
    for path in files:
        for row in _csv_rows(path):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), f"{path.name}: {cell!r}"
                assert not cell.startswith("-") or is_inert_csv_cell(cell), f"{path.name}: {cell!r} is not a plain number"
    index = _dicts(month_dir / INDEX_FILE)
    names = {row["customer_id"]: row["customer_name"] for row in index}
    assert names["0a1b2c3d-0000-4000-8000-000000000002"] == "'" + FORMULA
    assert names["0a1b2c3d-0000-4000-8000-000000000003"] == "'+1"
    assert names["0a1b2c3d-0000-4000-8000-000000000004"] == "'-2"
    assert names["0a1b2c3d-0000-4000-8000-000000000005"] == "'@SUM(A1:A9)"
    lines = _dicts(month_dir / "invoices" / "0a1b2c3d-0000-4000-8000-000000000002.csv")
    assert lines[0]["billing_name"] == "'" + FORMULA and lines[0]["description"] == "'=cmd|' /C calc'!A0"
    credit = _dicts(month_dir / "invoices" / "0a1b2c3d-0000-4000-8000-000000000003.csv")[1]
    assert (credit["quantity"], credit["amount"]) == ("-1", "-15.00"), "negative numbers stay numbers"


def test_csv_lines_sum_to_customer_monthly(exported):
    paths, expected, _ = exported
    month_dir = paths.exports(PERIOD)
    for customer_id in CUSTOMERS:
        rows = _dicts(month_dir / "invoices" / f"{customer_id}.csv")
        assert list(rows[0]) == list(LINE_HEADER)
        sums = defaultdict(Decimal)
        for row in rows:
            assert row["amount"].count(".") == 1 and len(row["amount"].split(".")[1]) == 2
            sums[row["currency"]] += Decimal(row["amount"])
        assert dict(sums) == {currency: expected[(customer_id, currency)]["billed_pretax"] for (cid, currency) in expected if cid == customer_id}


def test_index_totals_equal_customer_monthly(exported):
    paths, expected, result = exported
    index = _dicts(paths.exports(PERIOD) / INDEX_FILE)
    assert list(index[0]) == list(INDEX_HEADER)
    assert {(row["customer_id"], row["currency"]) for row in index} == set(expected)
    for row in index:
        for column in MONEY:
            assert Decimal(row[column]) == expected[(row["customer_id"], row["currency"])][column], (row["customer_id"], column)
        # These ids share their first 8 characters, so the whole id goes into the invoice number.
        assert row["invoice_number"] == f"202610-{row['customer_id'].upper()}-{row['currency']}"
        assert all(row[kind + "_file"] == f"invoices/{row['customer_id']}.{kind}" for kind in ("csv", "html", "pdf"))
    for currency in ("EUR", "USD"):
        assert result.totals[currency]["billed_total"] == sum(v["billed_total"] for (_, cur), v in expected.items() if cur == currency)
    assert len({row["invoice_number"] for row in index}) == len(index), "invoice numbers are unique"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_rerun_replaces_the_month_and_is_identical(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr("pipelines.invoicing.writer._renameat2", lambda: None)
    paths = DataPaths(tmp_path.resolve())
    _build_warehouse(paths.warehouse)
    month_dir = paths.exports(PERIOD)
    (month_dir / "invoices").mkdir(parents=True)
    (month_dir / "invoices" / "dropped-customer.pdf").write_bytes(b"stale")
    (month_dir / "reconciliation_report.html").write_text("someone else's file")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, PERIOD)
    write_month(month, paths)
    first = {p.name: p.read_bytes() for p in (month_dir / "invoices").iterdir()}
    assert "dropped-customer.pdf" not in first
    assert (month_dir / "reconciliation_report.html").read_text() == "someone else's file"
    write_month(month, paths)
    assert {p.name: p.read_bytes() for p in (month_dir / "invoices").iterdir()} == first, "a re-run writes identical files"
    assert sorted(p.name for p in month_dir.parent.iterdir()) == [PERIOD]


def test_worker_processes_render_the_same_documents(tmp_path):
    paths = DataPaths(tmp_path.resolve())
    _build_warehouse(paths.warehouse)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, PERIOD)
    alone = list(render_month(month, workers=1))
    assert list(render_month(month, workers=2)) == alone
    assert [customer.customer_id for customer, _ in alone] == [customer.customer_id for customer in month.customers]


def test_lines_that_do_not_add_up_write_nothing(tmp_path):
    paths = DataPaths(tmp_path.resolve())
    _build_warehouse(paths.warehouse, break_customer="0a1b2c3d-0000-4000-8000-000000000004")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con, pytest.raises(InvoiceDataError, match="000000000004.*lines add up to 250.00 but billed_pretax is 250.01"):
        load_month(con, PERIOD)


def test_missing_line_column_is_named(tmp_path):
    path = tmp_path / "w.duckdb"
    _build_warehouse(path)
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE marts.customer_invoice_lines RENAME line_description TO description")
        with pytest.raises(InvoiceDataError, match="no column line_description.*INVOICE_LINE_COLUMNS"):
            load_month(con, PERIOD)


def test_invoice_numbers_are_short_and_deterministic():
    zero = {column: Decimal(0) for column in MONEY}
    monthly = [
        {"customer_id": cid, "currency": "EUR", "customer_name": "x", "line_count": 0, **zero}
        for cid in ("3f2a9c1e-1111-4000-8000-000000000001", "7b3c2d1e-2222-4000-8000-000000000002")
    ]
    numbers = [c.invoices[0].invoice_number for c in assemble_month(PERIOD, monthly, [], {}).customers]
    assert numbers == ["202610-3F2A9C1E-EUR", "202610-7B3C2D1E-EUR"]
    orphan = [{"customer_id": "nobody", "currency": "EUR", "line_number": 1, "description": "x", "quantity": 1, "unit_price": 1, "amount": Decimal(1)}]
    with pytest.raises(InvoiceDataError, match="nobody .EUR. has invoice lines but no row in marts.customer_monthly"):
        assemble_month(PERIOD, monthly, orphan, {})
    with pytest.raises(TypeError, match="DECIMAL"):
        assemble_month(PERIOD, [{**monthly[0], "billed_pretax": 1.5}], [], {})


def test_safety_helpers():
    assert csv_safe_cell("=1+1") == "'=1+1" and csv_safe_cell(" @x") == "' @x" and csv_safe_cell("\tx") == "'\tx"
    assert csv_safe_cell("Contoso") == "Contoso" and csv_safe_cell(None) == ""
    assert safe_file_stem("0a1b2c3d-0000-4000-8000-000000000001") == "0a1b2c3d-0000-4000-8000-000000000001"
    for hostile in ("../../etc/passwd", "a/b", "..", "con:x", "<script>"):
        stem = safe_file_stem(hostile)
        assert stem and all(c.isascii() and (c.isalnum() or c == "-") for c in stem)
    assert safe_file_stem("a/b") != safe_file_stem("ab")
    with pytest.raises(ValueError):
        safe_file_stem(" ")


def _pdf_text(pdf: bytes) -> str:
    """The page content streams, decompressed (core-font text is written as literal strings)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    return "".join(zlib.decompress(stream).decode("latin-1") for stream in streams if stream[:1] == b"x")


def test_long_pdf_counts_pages_and_keeps_data_text_as_is(monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    monkeypatch.setattr("pipelines.invoicing.pdf_invoice.find_unicode_font", lambda: None)
    zero = {column: Decimal(0) for column in MONEY}
    lines = [
        {"customer_id": "c-1", "currency": "EUR", "line_number": n, "description": f"Line {n} {{nb}}", "quantity": 1, "unit_price": 1, "amount": Decimal(0)}
        for n in range(1, 90)
    ]
    month = assemble_month(PERIOD, [{"customer_id": "c-1", "currency": "EUR", "customer_name": "{nb} (x)", "line_count": 89, **zero}], lines, {})
    text = _pdf_text(render_pdf(month, month.customers[0]))
    pages = int(re.search(r"page 1 of (\d+)", text).group(1))
    assert pages > 1 and f"page {pages} of {pages}" in text
    assert "Line 89 {nb}" in text and "{nb} \\(x\\)" in text, "customer text is not taken for the page-count alias"


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not DEJAVU.is_file(), reason="no DejaVu Sans on this machine")
def test_pdf_embeds_a_unicode_font_when_one_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv(FONT_ENV, str(DEJAVU))
    paths = DataPaths(tmp_path.resolve())
    _build_warehouse(paths.warehouse)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        write_month(load_month(con, PERIOD), paths)
    pdf = (paths.exports(PERIOD) / "invoices" / "0a1b2c3d-0000-4000-8000-000000000006.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"FontFile2" in pdf


def test_dagster_asset_exports_the_partition(tmp_path):
    data_dir = tmp_path.resolve()
    expected = _build_warehouse(DataPaths(data_dir).warehouse)
    result = dg.materialize([customer_invoices], partition_key=PERIOD, resources={"warehouse": Warehouse(data_dir=str(data_dir))})
    assert result.success
    metadata = result.asset_materializations_for_node("exports__customer_invoices")[0].metadata
    assert metadata["customers_exported"].value == len(CUSTOMERS)
    assert metadata["files"].value == 3 * len(CUSTOMERS) + 1
    eur = sum(v["billed_total"] for (_, cur), v in expected.items() if cur == "EUR")
    assert Decimal(metadata["billed_total_EUR"].value) == eur
    invoices = DataPaths(data_dir).exports(PERIOD) / "invoices"
    assert len(list(invoices.glob("*.pdf"))) == len(CUSTOMERS)
