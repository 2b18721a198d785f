"""The project's own FOCUS checks on hand-written CSV files: each breach is one sentence."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.focus.checks import InvoiceTotal, check_file
from pipelines.focus.files import copy_dataset, text_expression
from pipelines.invoicing.safety import csv_safe_cell
from pipelines.sql import quote_identifier, string_literal

REQUIRED = (
    "BilledCost",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "InvoiceId",
    "InvoiceIssuerName",
)
HEADER = "BilledCost,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargePeriodEnd,ChargePeriodStart,InvoiceId,InvoiceIssuerName,x_Note"
GOOD = (
    "10.50,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,Purchase,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,G1,Microsoft,"
)


def _file(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "focus.csv"
    path.write_text("\r\n".join([header, *lines]) + "\r\n", encoding="utf-8")
    return path


def test_a_file_that_keeps_the_rules_says_nothing(tmp_path):
    tax = "2.10,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,Tax,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,G1,Microsoft,"
    invoices = {("Microsoft", "G1"): InvoiceTotal(Decimal("10.50"), Decimal("2.10"))}
    assert check_file(_file(tmp_path, GOOD, tax), REQUIRED, REQUIRED, invoices) == []


def test_an_end_written_inclusive_as_23_59_59_fails(tmp_path):
    line = GOOD.replace("2026-10-02T00:00:00Z", "2026-10-01T23:59:59Z")
    assert check_file(_file(tmp_path, line), REQUIRED, REQUIRED) == [
        "focus.csv, row 2: ChargePeriodEnd is 2026-10-01T23:59:59Z, not a midnight: an inclusive end (23:59:59) must be written as "
        "the next midnight, the exclusive end."
    ]


def test_a_one_day_charge_ending_where_it_starts_fails(tmp_path):
    line = GOOD.replace("2026-10-02T00:00:00Z", "2026-10-01T00:00:00Z")
    assert check_file(_file(tmp_path, line), REQUIRED, REQUIRED) == [
        "focus.csv, row 2: ChargePeriodEnd 2026-10-01T00:00:00Z is not after ChargePeriodStart 2026-10-01T00:00:00Z: "
        "FOCUS ends are exclusive (a charge for one day ends at the next midnight)."
    ]


def test_a_local_time_is_not_a_focus_datetime(tmp_path):
    line = GOOD.replace("2026-10-01T00:00:00Z,Purchase", "2026-10-01T00:00:00+02:00,Purchase")
    assert check_file(_file(tmp_path, line), REQUIRED, REQUIRED) == [
        "focus.csv, row 2: BillingPeriodStart is '2026-10-01T00:00:00+02:00', not an ISO 8601 UTC datetime such as 2026-10-01T00:00:00Z."
    ]


def test_a_focus_column_after_the_custom_ones_and_a_missing_one_are_named(tmp_path):
    header = HEADER.replace("InvoiceIssuerName,x_Note", "x_Note,InvoiceIssuerName")
    said = check_file(_file(tmp_path, GOOD, header=header), (*REQUIRED, "ServiceName"), REQUIRED)
    assert said == [
        "focus.csv lacks the required FOCUS column ServiceName.",
        "focus.csv has the FOCUS column InvoiceIssuerName after its custom x_ columns: FOCUS columns come first.",
    ]


def test_billed_cost_not_adding_up_to_the_invoice_is_named_with_both_figures(tmp_path):
    invoices = {("Microsoft", "G1"): InvoiceTotal(Decimal("10.49"), Decimal("0"))}
    assert check_file(_file(tmp_path, GOOD), REQUIRED, REQUIRED, invoices) == [
        "focus.csv: the BilledCost of invoice G1 of Microsoft (tax rows apart) adds up to 10.50, but the invoice bills 10.49 before tax."
    ]


def test_an_unknown_charge_category_and_an_exponent_are_refused(tmp_path):
    line = GOOD.replace("10.50", "1.05E1").replace("Purchase", "Refund")
    assert check_file(_file(tmp_path, line), REQUIRED, REQUIRED) == [
        "focus.csv, row 2: BilledCost is '1.05E1', not a decimal number.",
        "focus.csv, row 2: ChargeCategory is 'Refund', not one of Usage, Purchase, Tax, Credit, Adjustment.",
    ]


def test_the_sql_formula_guard_quotes_what_the_python_one_quotes():
    """The FOCUS CSV is written by DuckDB's COPY: its guard (CSV_FORMULA_PATTERN in SQL) must
    quote exactly the cells the invoices' Python guard quotes."""
    cells = [
        "=SUM(A1)",
        "+33 1",
        "-2",
        " @x",
        "\tTab",
        "\rCR",
        "\nLF",
        "   =HYPERLINK()",
        "Contoso",
        "Émile = Zola",
        "\u00a0=not a space",
        "a=b",
        "",
        "  plain",
        'O\'Brien "Ltd"',
    ]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (i INTEGER, cell VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(cells)))
        guarded = con.execute(f"SELECT {text_expression('cell', 'VARCHAR')} FROM t ORDER BY i").fetchall()
    assert [cell for (cell,) in guarded] == [csv_safe_cell(cell) for cell in cells]
    assert [csv_safe_cell(cell).startswith("'") for cell in cells] == [True] * 8 + [False] * 7


def test_identifiers_and_literals_are_quoted_for_duckdb():
    with duckdb.connect() as con:
        name, text = 'odd "name"', "it's"
        row = con.execute(f"SELECT {string_literal(text)} AS {quote_identifier(name)}").fetchone()
        assert row == (text,) and con.execute(
            f"SELECT {quote_identifier(name)} FROM (SELECT 1 AS {quote_identifier(name)})"
        ).fetchone() == (1,)


def _line(amount: str, category: str = "Purchase", invoice: str = "G1") -> str:
    return GOOD.replace("10.50", amount, 1).replace("Purchase", category).replace(",G1,", f",{invoice},")


def test_the_sql_pass_and_the_row_by_row_pass_say_the_same(tmp_path, monkeypatch):
    """A clean file is judged in DuckDB without reading its rows into Python; its sums (amounts of
    mixed scales, credits) and sentences are those of the row-by-row pass."""
    import pipelines.focus.checks as checks

    lines = [
        _line("10.5"),
        _line("2.125"),
        _line("-3.000", "Credit"),
        _line("1.10", "Tax"),
        _line("7", invoice="G2"),
    ]
    invoices = {
        ("Microsoft", "G1"): InvoiceTotal(Decimal("9.625"), Decimal("1.10")),  # 10.5 + 2.125 - 3.000 = 9.625
        ("Microsoft", "G2"): InvoiceTotal(Decimal("7.01"), Decimal("0")),
    }
    path = _file(tmp_path, *lines)
    calls = []
    fast = checks.sums_if_every_row_keeps_the_rules
    monkeypatch.setattr(checks, "sums_if_every_row_keeps_the_rules", lambda *a: calls.append(a) or fast(*a))
    in_sql = check_file(path, REQUIRED, REQUIRED, invoices)
    assert len(calls) == 1 and fast(*calls[0]) is not None, "the clean file took the SQL pass"
    monkeypatch.setattr(checks, "sums_if_every_row_keeps_the_rules", lambda *a: None)
    assert (
        in_sql
        == check_file(path, REQUIRED, REQUIRED, invoices)
        == [
            "focus.csv: the BilledCost of invoice G2 of Microsoft (tax rows apart) adds up to 7, but the invoice bills 7.01 before tax."
        ]
    )


def test_a_bad_row_among_clean_ones_is_still_named_by_row(tmp_path):
    lines = [_line("1.00")] * 500 + [_line('"1,00"')] + [_line("1.00")] * 500
    assert check_file(_file(tmp_path, *lines), REQUIRED, REQUIRED) == [
        "focus.csv, row 502: BilledCost is '1,00', not a decimal number."
    ]


def test_the_csv_keeps_the_order_of_the_sorted_rows_across_threads(tmp_path: Path):
    """The CSV is written from the Parquet file the sorted query wrote: every row must come out in
    that order, also when DuckDB scans the file with two threads (400,000 rows: four row groups)
    and the guard runs on every text cell (a cell a formula guard quotes is among them)."""
    rows = 400_000
    columns = [("x_ChargeId", "VARCHAR"), ("Name", "VARCHAR"), ("BilledCost", "DECIMAL(28,2)")]
    with duckdb.connect(config={"threads": 2}) as con:
        con.execute(
            f"""CREATE TABLE charges AS
                SELECT printf('%07d', ({rows} - i) * 7 % {rows}) AS x_ChargeId,
                       CASE WHEN i % 1000 = 0 THEN '=HYPERLINK()' ELSE 'Contoso ' || i END AS Name,
                       (i / 100)::DECIMAL(28,2) AS BilledCost
                FROM range({rows}) AS t(i)"""
        )
        copy_dataset(con, tmp_path, "charges", columns, "SELECT * FROM charges ORDER BY x_ChargeId", [])
    with (tmp_path / "charges.csv").open(encoding="utf-8", newline="") as written:
        charge_ids = [row["x_ChargeId"] for row in csv.DictReader(written)]
    assert len(charge_ids) == rows
    assert charge_ids == sorted(charge_ids)
