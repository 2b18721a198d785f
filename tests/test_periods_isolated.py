"""No dbt run reads another month's state (issue 11): whichever month was built last, a run of
month A builds A's marts exactly as a clean one-month build of A does, table by table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_warehouse import MART_TABLES, dbt, month_rows, new_warehouse, query
from tests.legacy_rows import load_legacy_month

A, B = "2026-09", "2026-10"


def _existing_marts(warehouse: Path) -> list[str]:
    found = {f"marts.{name}" for (name,) in query(warehouse, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_type = 'BASE TABLE'")}
    return [table for table in MART_TABLES if table in found]


@pytest.fixture(scope="module")
def clean_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("clean_a")
    warehouse = new_warehouse(data_dir)
    load_legacy_month(warehouse, A, "D0000000A1")
    dbt(data_dir, [A], "build")
    return warehouse


def test_marts_of_a_month_do_not_depend_on_the_month_built_last(clean_a: Path, tmp_path: Path):
    warehouse = new_warehouse(tmp_path)
    load_legacy_month(warehouse, A, "D0000000A1")
    load_legacy_month(warehouse, B, "D0000000B1", scale=3)
    dbt(tmp_path, [A], "build")
    dbt(tmp_path, [B], "build")
    # Month A's marts again, with the views month B's run left behind (a backfill interleaving
    # the months, or a re-executed step of A's run).
    dbt(tmp_path, [A], "run", "--select", "marts")

    tables = _existing_marts(clean_a)
    assert "marts.fct_charges" in tables and "marts.invoice_reconciliation" in tables
    for table in tables:
        expected = month_rows(clean_a, table, A)
        assert expected, f"{table} is empty in the clean build"
        assert month_rows(warehouse, table, A) == expected, table
    # Month B is untouched by A's re-run.
    assert query(warehouse, "SELECT count(*) FROM marts.fct_charges WHERE billing_period = DATE '2026-10-01'") == [(4,)]


def test_no_shared_view_names_a_month(clean_a: Path):
    views = query(clean_a, "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND schema_name <> 'main'")
    assert views, "expected the staging views"
    for schema, name, sql in views:
        assert "2026-09" not in sql and "2015-01-01" not in sql, f"{schema}.{name} is bound to a month: {sql}"
