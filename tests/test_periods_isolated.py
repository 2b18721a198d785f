"""No dbt run reads another month's state (issue 11): whichever month was built last, a run of
month A builds A's marts exactly as a clean one-month build of A does, table by table."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt_warehouse import MART_TABLES, dbt, insert_rows, month_rows, new_warehouse, query
from tests.legacy_rows import CONTOSO, load_legacy_month
from tests.nce_rows import seat_scenario_rows

A, B = "2026-09", "2026-10"


def load_month(warehouse: Path, period: str, scale: int = 1) -> None:
    """A migration month: a legacy D-invoice and a new-commerce G-invoice."""
    load_legacy_month(warehouse, period, f"D{period.replace('-', '')}01", scale=Decimal(scale))
    invoice = f"G{period.replace('-', '')}01"
    lines = seat_scenario_rows(CONTOSO, "Contoso Ltd.", invoice)
    for line in lines:
        line["subtotal"] *= scale
        line["total"] *= scale
    insert_rows(warehouse, "raw.nce_recon", period, lines, f"nce_{period}.csv")
    subtotal = sum(line["subtotal"] for line in lines)
    start = datetime.strptime(period, "%Y-%m")
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        period,
        [
            {
                "invoice_number": invoice,
                "invoice_date": start,
                "billing_period_start": start,
                "billing_period_end": start,
                "currency": "EUR",
                "charges": sum(line["subtotal"] for line in lines if line["subtotal"] > 0),
                "credits": sum(line["subtotal"] for line in lines if line["subtotal"] < 0),
                "subtotal": subtotal,
                "tax": Decimal(0),
                "total": subtotal,
            }
        ],
        f"nce_summary_{period}.csv",
    )


def _existing_marts(warehouse: Path) -> list[str]:
    found = {
        f"marts.{name}"
        for (name,) in query(
            warehouse,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_type = 'BASE TABLE'",
        )
    }
    return [table for table in MART_TABLES if table in found]


@pytest.fixture(scope="module")
def clean_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("clean_a")
    warehouse = new_warehouse(data_dir)
    load_month(warehouse, A)
    dbt(data_dir, [A], "build")
    return warehouse


def test_marts_of_a_month_do_not_depend_on_the_month_built_last(clean_a: Path, tmp_path: Path):
    warehouse = new_warehouse(tmp_path)
    load_month(warehouse, A)
    load_month(warehouse, B, scale=3)
    dbt(tmp_path, [A], "build")
    dbt(tmp_path, [B], "build")
    # Month A's marts again, with the views month B's run left behind (a backfill interleaving
    # the months, or a re-executed step of A's run).
    dbt(tmp_path, [A], "run", "--select", "marts")

    assert query(clean_a, "SELECT DISTINCT status FROM marts.invoice_reconciliation") == [("matched",)]
    tables = _existing_marts(clean_a)
    assert "marts.fct_charges" in tables and "marts.reseller_monthly" in tables
    for table in tables:
        expected = month_rows(clean_a, table, A)
        assert expected, f"{table} is empty in the clean build"
        assert month_rows(warehouse, table, A) == expected, table
    # Month B is untouched by A's re-run.
    assert query(warehouse, "SELECT count(*) FROM marts.fct_charges WHERE billing_period = DATE '2026-10-01'") == [(9,)]
    # A re-run's cost follows its month, not the history: the month filter reaches every raw scan.
    scans = _raw_scans(
        warehouse, tmp_path / "dbt_target" / "compiled" / "csp_recon" / "models" / "marts" / "fct_charges.sql"
    )
    assert set(scans) == {"license_recon", "usage_recon", "nce_recon"}
    for table, filters in scans.items():
        assert "billing_period" in (filters or ""), f"raw.{table} is scanned whole: {filters}"


def _raw_scans(warehouse: Path, compiled_sql: Path) -> dict[str, str | None]:
    """The raw tables a compiled model scans, with the filters DuckDB applies in each scan."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        plan = json.loads(con.execute("EXPLAIN (FORMAT json) " + compiled_sql.read_text()).fetchall()[0][1])
    scans: dict[str, str | None] = {}

    def walk(node) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        info = node.get("extra_info", {})
        table = str(info.get("Table", ""))
        if "SCAN" in node.get("name", "") and ".raw." in table:
            filters = info.get("Filters")
            scans[table.rsplit(".", 1)[-1]] = " ".join(filters) if isinstance(filters, list) else filters
        walk(node.get("children", []))

    walk(plan)
    return scans


def test_no_shared_view_names_a_month(clean_a: Path):
    views = query(
        clean_a, "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND schema_name <> 'main'"
    )
    assert views, "expected the staging views"
    for schema, name, sql in views:
        assert "2026-09" not in sql and "2015-01-01" not in sql, f"{schema}.{name} is bound to a month: {sql}"
