"""Issue 14's "done when", as a billing team would go through three months: drafts, approval
with a spike acknowledged, issue; then a corrected file for the first month gives a credit note
and a corrected invoice without touching what was sent; the payables calendar (dbt) shows each
Microsoft invoice due 60 days after its date beside the customers' due dates, and the months as
FOCUS 1.4 billing periods. Seats are 22.00 each; Dupont pays 20 % VAT, Contoso is reverse charged."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.closing import month as closing
from pipelines.closing.status import MonthStatus, StatusError
from pipelines.defs.closing.warnings import judged_by
from pipelines.defs.quality.warnings import cost_jumps
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.invoicing.issuing import ISSUED_DIR
from pipelines.periods import BillingPeriod
from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Settings, dbt_environment
from tests.closing_warehouse import REVERSE_ID, customers, new_data_dir, seats, set_month

AUGUST, SEPTEMBER, OCTOBER = "2026-08", "2026-09", "2026-10"
AUGUST_PERIOD = BillingPeriod.parse(AUGUST)
SEATS = {AUGUST: 30, SEPTEMBER: 31, OCTOBER: 33}
ISSUED_ON = {AUGUST: date(2026, 9, 5), SEPTEMBER: date(2026, 10, 5), OCTOBER: date(2026, 11, 5)}
MICROSOFT = [
    ("G0AUG00001", "2026-09-08", "1000.00"),
    ("G0SEP00002", "2026-10-08", "1100.00"),
    ("G0OCT00003", "2026-11-08", "9637.93"),
]
CHECKS = [("no_cost_jump", judged_by(cost_jumps))]
BILLING_PERIOD_COLUMNS = ["billing_period_start", "billing_period_end", "billing_period_status", "x_status", "created_at",
                          "last_updated_at", "invoice_issuer_name"]  # fmt: skip


def _month(period: str, dupont_seats: int):
    return customers([seats(dupont_seats, period)], [seats(5, period)])


def _digests(folder) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def three_months(tmp_path_factory):
    paths = new_data_dir(tmp_path_factory.mktemp("close"), _month(AUGUST, 30))
    with duckdb.connect(str(paths.warehouse)) as con:
        ensure_raw_schema(con)
        for number, dated, total in MICROSOFT:
            con.execute(
                "INSERT INTO raw.invoice_summary (invoice_number, invoice_date, currency, tax, total, billing_period, source_file, source_line, "
                "file_sha256) VALUES (?, ?, 'EUR', 0, ?, date_trunc('month', ?::DATE - INTERVAL 1 MONTH), 'invoice_summary.csv', 2, 'x')",
                [number, dated, Decimal(total), dated],
            )
        # September: Contoso's cost jumps (88.00 in August, 352.00 now: +300 %), a warning to acknowledge.
        con.execute("CREATE TABLE marts.customer_trends (billing_period DATE, customer_id VARCHAR, customer_name VARCHAR, currency VARCHAR, "
                    "cost_pretax DECIMAL(28,6), cost_change_percent DECIMAL(38,4))")  # fmt: skip
        con.execute(
            "INSERT INTO marts.customer_trends VALUES ('2026-09-01', ?, 'Contoso Ltd.', 'EUR', 352.00, 300.0000)",
            [REVERSE_ID],
        )
    refusals = {}
    for period in (AUGUST, SEPTEMBER, OCTOBER):
        set_month(paths, period, _month(period, SEATS[period]))
        billing_period = BillingPeriod.parse(period)
        assert closing.after_run(paths, billing_period, correct=False).status == MonthStatus.OPEN
        try:
            closing.approve(paths, billing_period, "Jane Doe", [], CHECKS, [])
        except StatusError as refused:
            refusals[period] = str(refused)
            closing.approve(paths, billing_period, "Jane Doe", ["no_cost_jump"], CHECKS, [])
        closing.issue(paths, billing_period, "Jane Doe", [], None, ISSUED_ON[period])
    sent = _digests(paths.exports(AUGUST_PERIOD) / ISSUED_DIR)
    set_month(paths, AUGUST, _month(AUGUST, 32))  # Microsoft's corrected August file: two more seats for Dupont
    pending = closing.after_run(paths, AUGUST_PERIOD, correct=False)
    corrected = closing.after_run(paths, AUGUST_PERIOD, correct=True, issue_date=date(2026, 11, 20))
    command = [str(DBT_EXECUTABLE), "run", "--select", "stg_partner_center__invoices", "billing_periods", "payables_calendar",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **dbt_environment(Settings(data_dir=paths.root))},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return paths, refusals, sent, pending, corrected


def _rows(paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_only_the_spiking_month_needed_its_warning_acknowledged(three_months):
    _, refusals, *_ = three_months
    assert list(refusals) == [SEPTEMBER]
    assert "no_cost_jump (1 customer(s) cost more than" in refusals[SEPTEMBER]
    acknowledged = _rows(
        three_months[0],
        "SELECT strftime(billing_period, '%Y-%m'), acknowledged_checks FROM billing.month_status ORDER BY 1",
    )
    assert acknowledged == [(AUGUST, "[]"), (SEPTEMBER, '["no_cost_jump"]'), (OCTOBER, "[]")]


def test_the_corrected_first_month_gets_a_credit_note_and_a_corrected_invoice_leaving_what_was_sent(three_months):
    paths, _, sent, pending, corrected = three_months
    assert pending.status == MonthStatus.CORRECTION_PENDING
    assert corrected.documents == ("AV-000001", "FA-000007")
    after = _digests(paths.exports(AUGUST_PERIOD) / ISSUED_DIR)
    assert {name: after[name] for name in sent} == sent
    documents = _rows(paths, "SELECT invoice_number, document_kind, preceding_invoice, billed_total FROM billing.issued_invoices "
                             "WHERE billing_period = '2026-08-01' ORDER BY series, sequence")  # fmt: skip
    assert documents == [
        ("AV-000001", "credit_note", "FA-000001", Decimal("-792.00")),  # 30 x 22.00 = 660.00 + 20 %
        ("FA-000001", "invoice", None, Decimal("792.00")),
        ("FA-000002", "invoice", None, Decimal("110.00")),
        ("FA-000007", "invoice", "FA-000001", Decimal("844.80")),  # 32 x 22.00 = 704.00 + 20 %
    ]
    assert sum(row[3] for row in documents if row[0] != "FA-000002") == Decimal(
        "844.80"
    )  # what Dupont owes for August now


def test_microsoft_invoices_are_due_60_days_after_their_date_beside_the_customers(three_months):
    paths = three_months[0]
    microsoft = _rows(paths, "SELECT document_number, document_date, due_date, amount FROM marts.payables_calendar "
                             "WHERE row_kind = 'document' AND document_kind = 'microsoft_invoice' ORDER BY due_date")  # fmt: skip
    assert microsoft == [
        ("G0AUG00001", date(2026, 9, 8), date(2026, 11, 7), Decimal("1000.00")),
        ("G0SEP00002", date(2026, 10, 8), date(2026, 12, 7), Decimal("1100.00")),
        ("G0OCT00003", date(2026, 11, 8), date(2027, 1, 7), Decimal("9637.93")),
    ]
    due = _rows(paths, "SELECT document_number, due_date FROM marts.payables_calendar WHERE row_kind = 'document' "
                       "AND document_kind <> 'microsoft_invoice' ORDER BY document_number")  # fmt: skip
    assert due == [
        ("AV-000001", date(2026, 12, 20)),
        ("FA-000001", date(2026, 10, 5)),
        ("FA-000002", date(2026, 10, 5)),
        ("FA-000003", date(2026, 11, 4)),
        ("FA-000004", date(2026, 11, 4)),
        ("FA-000005", date(2026, 12, 5)),
        ("FA-000006", date(2026, 12, 5)),
        ("FA-000007", date(2026, 12, 20)),
    ]  # fmt: skip  (issue date + 30 days)


def test_cash_position_per_month_and_week(three_months):
    paths = three_months[0]
    months = _rows(paths, "SELECT bucket_start, owed_to_microsoft, owed_by_customers, cumulative_net_position FROM marts.payables_calendar "
                          "WHERE row_kind = 'month' AND currency = 'EUR' ORDER BY bucket_start")  # fmt: skip
    assert months == [
        (date(2026, 10, 1), Decimal("0.00"), Decimal("902.00"), Decimal("902.00")),  # 792.00 + 110.00
        (date(2026, 11, 1), Decimal("1000.00"), Decimal("928.40"), Decimal("830.40")),  # 818.40 + 110.00
        (
            date(2026, 12, 1),
            Decimal("1100.00"),
            Decimal("1034.00"),
            Decimal("764.40"),
        ),  # 871.20 + 110.00 - 792.00 + 844.80
        (date(2027, 1, 1), Decimal("9637.93"), Decimal("0.00"), Decimal("-8873.53")),
    ]
    weeks = dict((row[0], row[1:]) for row in _rows(paths, "SELECT bucket_start, owed_to_microsoft, owed_by_customers FROM "
                                                         "marts.payables_calendar WHERE row_kind = 'week'"))  # fmt: skip
    assert weeks[date(2026, 11, 30)] == (Decimal("0.00"), Decimal("981.20"))  # due Saturday 5 December
    assert weeks[date(2026, 12, 7)] == (
        Decimal("1100.00"),
        Decimal("0.00"),
    )  # Microsoft's September invoice, Monday 7 December
    assert weeks[date(2026, 12, 14)] == (
        Decimal("0.00"),
        Decimal("52.80"),
    )  # the August correction nets to two seats with VAT


def test_billing_periods_follow_focus_with_the_close_status(three_months):
    paths = three_months[0]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        cursor = con.execute("SELECT * FROM marts.billing_periods ORDER BY billing_period_start")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'billing_periods'"
            ).fetchall()
        )
    assert names[:7] == BILLING_PERIOD_COLUMNS and all(name.startswith("x_") for name in names[7:])
    assert [types[name] for name in BILLING_PERIOD_COLUMNS] == [
        "DATE",
        "DATE",
        "VARCHAR",
        "VARCHAR",
        "TIMESTAMP",
        "TIMESTAMP",
        "VARCHAR",
    ]
    assert [
        (r["billing_period_start"], r["billing_period_end"], r["billing_period_status"], r["x_status"]) for r in rows
    ] == [
        (date(2026, 8, 1), date(2026, 9, 1), "Closed", "issued"),
        (date(2026, 9, 1), date(2026, 10, 1), "Closed", "issued"),
        (date(2026, 10, 1), date(2026, 11, 1), "Closed", "issued"),
    ]
    assert {r["invoice_issuer_name"] for r in rows} == {"Nuage Conseil SAS"}
    assert rows[0]["x_status_changes"] == 5  # seen, approved, issued, correction pending, corrected
    assert all(r["created_at"] <= r["last_updated_at"] for r in rows)
