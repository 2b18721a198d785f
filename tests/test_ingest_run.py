"""Whole runs ("done when"): a month of ugly files loads to the cent, re-running it changes
nothing, and a file missing CustomerId fails the run naming the file while the month's previous
raw data and marts stay exactly as they were.

Three `csp-recon run`s share one data directory; each fixture keeps what its run left, so the
tests do not depend on the order they run in.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from corpus import (
    PERIOD,
    generate_month,
    landed_files,
    manifest,
    query,
    run_month,
    uglify_names,
    warehouse_snapshot,
    write_csv,
    write_text,
)

MONTH = "2026-10-01"


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


@pytest.fixture(scope="module")
def ugly_month(tmp_path_factory):
    """A generated two-currency month rewritten the way real downloads arrive: opaque names,
    BOM + CRLF, aliased and re-cased headers in another order, an extra column, Windows-1252,
    Excel 'Unicode text', every field quoted, and a stray file of no known kind."""
    data_dir = tmp_path_factory.mktemp("ugly_run")
    month = generate_month(data_dir, seed=23, customers=5, license_rows=20, usage_rows=40)
    files = landed_files(month)
    names = uglify_names(files.values())
    costs: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: {"license": Decimal(0), "usage": Decimal(0)})
    invoices: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    summary = files[("invoice_summary", "")]
    invoice_of = {row["Currency"]: row["InvoiceNumber"] for row in summary.rows}
    for (kind, currency), landed in files.items():
        if kind == "invoice_summary":
            continue
        source, amount, tax = (
            ("license", "Subtotal", "Tax") if kind == "license_recon" else ("usage", "PretaxCharges", "TaxAmount")
        )
        for row in landed.rows:
            costs[(row["CustomerId"], row["Currency"])][source] += Decimal(row[amount])
            invoices[invoice_of[currency]][source] += Decimal(row[amount])
            invoices[invoice_of[currency]]["tax"] += Decimal(row[tax])
    for path in month.iterdir():
        path.unlink()

    eur_license = files[("license_recon", "EUR")]
    order = list(reversed(eur_license.header))
    order.insert(5, "Internal Notes")
    spelled = {name: name.upper() if len(name) % 2 else name.lower() for name in order}
    spelled.update(
        {"CustomerId": "CustomerID", "MpnId": "MPNID", "OrderId": "OrderID", "Internal Notes": "Internal Notes"}
    )
    rows = [dict(row, **{"Internal Notes": f"checked, ok; #{n}"}) for n, row in enumerate(eur_license.rows)]
    write_csv(month / "Recon export (1).csv", order, rows, written_header=[spelled[n] for n in order])

    usd_license = files[("license_recon", "USD")]
    write_csv(
        month / "download",
        usd_license.header,
        usd_license.rows,
        written_header=[_camel(n) for n in usd_license.header],
        encoding="cp1252",
        bom=False,
    )

    eur_usage = files[("usage_recon", "EUR")]
    aliases = {
        "ResourceGuid": "ResourceGUID",
        "Unit": "UnitOfMeasure",
        "MpnId": "MPN ID",
        "ResellerMpnId": "Tier2MpnId",
    }
    write_csv(
        month / "2026-10 usage.CSV",
        eur_usage.header,
        eur_usage.rows,
        written_header=[aliases.get(n, n) for n in eur_usage.header],
        quoting=csv.QUOTE_ALL,
    )

    usd_usage = files[("usage_recon", "USD")]
    write_csv(month / "Unicode text.txt", usd_usage.header, usd_usage.rows, encoding="utf-16", delimiter="\t")

    write_csv(month / "Microsoft invoices.csv", summary.header, summary.rows)
    write_text(month / "readme.txt", "Files downloaded by Anna on 3 Nov.\n")
    return data_dir, names, costs, invoices, eur_usage


@pytest.fixture(scope="module")
def first_run(ugly_month):
    data_dir = ugly_month[0]
    code, output = run_month(data_dir)
    return code, output, warehouse_snapshot(data_dir), manifest(data_dir)


@pytest.fixture(scope="module")
def second_run(ugly_month, first_run):
    data_dir = ugly_month[0]
    code, output = run_month(data_dir)
    return code, output, warehouse_snapshot(data_dir)


@pytest.fixture(scope="module")
def run_without_customer_id(ugly_month, second_run):
    data_dir, *_, eur_usage = ugly_month
    month = data_dir / "landing" / PERIOD
    without = [name for name in eur_usage.header if name != "CustomerId"]
    write_csv(month / "2026-10 usage.CSV", without, eur_usage.rows, quoting=csv.QUOTE_ALL)
    code, output = run_month(data_dir)
    return code, output, warehouse_snapshot(data_dir)


def test_ugly_files_load_and_the_month_passes(first_run):
    code, output, _, files = first_run
    assert code == 0, output
    assert "OK: every blocking check passed." in output
    assert re.search(r"readme\.txt +unknown +unrecognised", output), "the stray file is reported by name"
    assert {name: (f["file_kind"], f["status"], f["rows_rejected"]) for name, f in files.items()} == {
        "Recon export (1).csv": ("license_recon", "loaded", 0),
        "download": ("license_recon", "loaded", 0),
        "2026-10 usage.CSV": ("usage_recon", "loaded", 0),
        "Unicode text.txt": ("usage_recon", "loaded", 0),
        "Microsoft invoices.csv": ("invoice_summary", "loaded", 0),
        "readme.txt": ("unknown", "unrecognised", 0),
    }
    assert (files["download"]["encoding"], files["Unicode text.txt"]["encoding"]) == ("windows-1252", "utf-16")
    assert files["Recon export (1).csv"]["extra_columns"] == ["Internal Notes"]


def test_every_customer_costs_to_the_cent(ugly_month, first_run):
    data_dir, names, costs, _, _ = ugly_month
    rows = query(
        data_dir,
        """SELECT customer_id, currency, license_cost_pretax, usage_cost_pretax, cost_pretax FROM marts.customer_monthly
           WHERE billing_period = ?::DATE AND line_count > 0""",
        [MONTH],
    )
    assert {(c, cur): (lic, use, total) for c, cur, lic, use, total in rows} == {
        key: (split["license"], split["usage"], split["license"] + split["usage"]) for key, split in costs.items()
    }
    assert len(costs) >= 5
    charged_names = set(query(data_dir, "SELECT DISTINCT customer_id, customer_name FROM marts.fct_charges"))
    assert charged_names == set(names.items()), "accented names must survive Windows-1252 and UTF-16"


def test_every_invoice_matches_to_the_cent(ugly_month, first_run):
    data_dir, _, _, invoices, _ = ugly_month
    rows = query(
        data_dir,
        """SELECT invoice_number, recon_license_pretax, recon_usage_pretax, recon_tax, pretax_difference, status
           FROM marts.invoice_reconciliation WHERE billing_period = ?::DATE""",
        [MONTH],
    )
    assert {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows} == {
        number: (sums["license"], sums["usage"], sums["tax"], Decimal(0), "matched")
        for number, sums in invoices.items()
    }


# The billing period's status table records when its status was first written and last changed
# (FOCUS Billing Period): a second run of the month is a change of its own, its figures are not.
STATUS_TIMES = ("marts.billing_periods",)


def test_rerunning_the_month_gives_identical_raw_and_marts(first_run, second_run):
    code, output, after = second_run
    assert code == 0, output
    figures = {table: rows for table, rows in after.items() if table not in STATUS_TIMES}
    assert figures == {table: rows for table, rows in first_run[2].items() if table not in STATUS_TIMES}
    assert any(rows for table, rows in after.items() if table.startswith("marts."))


def test_a_file_missing_customer_id_fails_the_run_naming_it_and_leaves_the_month(second_run, run_without_customer_id):
    code, output, after = run_without_customer_id
    assert code != 0
    failed = output.split("FAILED:", 1)[1]
    assert (
        "file '2026-10 usage.CSV', line 1, column 'CustomerId': this usage-based reconciliation file has no 'CustomerId' column"
        in failed
    )
    assert after == second_run[2], "the month's previous raw data and marts must be unchanged"
    assert "Files, as loaded before (this run loaded none; the month is unchanged):" in output
