"""marts.payables_calendar and marts.billing_periods (issue 14), built by dbt on a closed month:
Microsoft's invoice due 60 days after its date beside the customers' due dates, per week and
month; the month as a FOCUS 1.4 billing period. Expected figures are hand arithmetic."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.closing import month as closing
from pipelines.defs.resources import dbt_environment
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR
from tests.closing_warehouse import customers, new_data_dir, seats, set_month

OCTOBER = "2026-10"
BILLING_PERIOD_COLUMNS = ["billing_period_start", "billing_period_end", "billing_period_status", "x_status", "created_at",
                          "last_updated_at", "invoice_issuer_name"]  # fmt: skip


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    paths = new_data_dir(tmp_path_factory.mktemp("marts"), customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    set_month(paths, OCTOBER, customers([seats(33, OCTOBER)], [seats(5, OCTOBER)]))
    with duckdb.connect(str(paths.warehouse)) as con:
        ensure_raw_schema(con)
        con.execute(
            "INSERT INTO raw.invoice_summary (invoice_number, invoice_date, billing_period_start, billing_period_end, currency, charges, credits, "
            "subtotal, tax, total, billing_period, source_file, source_line, file_sha256) VALUES "
            "('G0K1EVF78N', '2026-11-08', '2026-10-01', '2026-10-31', 'EUR', 8129.34, -30.26, 8099.08, 1538.85, 9637.93, '2026-10-01', "
            "'invoice_summary.csv', 2, 'x')"
        )
    closing.after_run(paths, OCTOBER, correct=False)
    closing.approve(paths, OCTOBER, "Jane Doe", [], [], [])
    closing.issue(paths, OCTOBER, "Jane Doe", [], None, date(2026, 11, 5))
    command = [str(DBT_EXECUTABLE), "run", "--select", "stg_partner_center__invoices", "billing_periods", "payables_calendar",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]  # fmt: skip
    done = subprocess.run(command, cwd=DBT_PROJECT_DIR, env={**os.environ, **dbt_environment(paths)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    return paths


def _rows(paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_microsoft_is_due_60_days_after_its_invoice_beside_the_customers_due_dates(marts):
    documents = _rows(marts, "SELECT document_kind, document_number, document_date, due_date, amount FROM marts.payables_calendar "
                             "WHERE row_kind = 'document' ORDER BY due_date, document_number")  # fmt: skip
    assert documents == [
        ("customer_invoice", "FA-000001", date(2026, 11, 5), date(2026, 12, 5), Decimal("871.20")),  # 5 Nov + 30 days
        ("customer_invoice", "FA-000002", date(2026, 11, 5), date(2026, 12, 5), Decimal("110.00")),
        ("microsoft_invoice", "G0K1EVF78N", date(2026, 11, 8), date(2027, 1, 7), Decimal("9637.93")),  # 8 Nov + 60 days
    ]


def test_cash_position_per_week_and_month(marts):
    weeks = _rows(marts, "SELECT bucket_start, owed_to_microsoft, owed_by_customers, net_position, cumulative_net_position "
                         "FROM marts.payables_calendar WHERE row_kind = 'week' AND currency = 'EUR' ORDER BY bucket_start")  # fmt: skip
    assert weeks == [
        (date(2026, 11, 30), Decimal("0.00"), Decimal("981.20"), Decimal("981.20"), Decimal("981.20")),  # Saturday 5 Dec's week
        (date(2027, 1, 4), Decimal("9637.93"), Decimal("0.00"), Decimal("-9637.93"), Decimal("-8656.73")),  # Thursday 7 Jan's week
    ]
    months = _rows(marts, "SELECT bucket_start, owed_to_microsoft, owed_by_customers FROM marts.payables_calendar "
                          "WHERE row_kind = 'month' ORDER BY bucket_start")  # fmt: skip
    assert months == [(date(2026, 12, 1), Decimal("0.00"), Decimal("981.20")), (date(2027, 1, 1), Decimal("9637.93"), Decimal("0.00"))]


def test_billing_periods_follow_focus_with_the_close_status(marts):
    with duckdb.connect(str(marts.warehouse), read_only=True) as con:
        cursor = con.execute("SELECT * FROM marts.billing_periods ORDER BY billing_period_start")
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'billing_periods'").fetchall())
    assert names[:7] == BILLING_PERIOD_COLUMNS and all(name.startswith("x_") for name in names[7:])
    assert [types[name] for name in BILLING_PERIOD_COLUMNS] == ["DATE", "DATE", "VARCHAR", "VARCHAR", "TIMESTAMP", "TIMESTAMP", "VARCHAR"]
    [october] = [dict(zip(names, row)) for row in rows]
    assert (october["billing_period_start"], october["billing_period_end"]) == (date(2026, 10, 1), date(2026, 11, 1))
    assert (october["billing_period_status"], october["x_status"], october["x_approved_by"]) == ("Closed", "issued", "Jane Doe")
    assert october["invoice_issuer_name"] == "Nuage Conseil SAS"
    assert october["created_at"] <= october["last_updated_at"]
