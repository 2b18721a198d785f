"""The close in the month's reconciliation report (issue 14): the month's status, and when cash
goes out to Microsoft against when customers pay (marts.payables_calendar).

`closing_section` gathers the figures (money as Decimal); the report's template
`report/closing.html.j2` shows them, every value escaped (customer names are untrusted)."""

from __future__ import annotations

import duckdb

from pipelines.closing.status import month_state
from pipelines.periods import BillingPeriod

PAYABLES = "marts.payables_calendar"


def closing_section(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dict:
    state = month_state(con, period)
    has_calendar = bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'payables_calendar'"
        ).fetchone()
    )
    documents, months = [], []
    if has_calendar:
        # The month's Microsoft invoices (dated after the month ends) and the customer documents of the month.
        cursor = con.execute(
            f"""SELECT document_kind, document_number, counterparty, currency, document_date, due_date, amount FROM {PAYABLES}
                WHERE row_kind = 'document' AND document_date >= ? AND document_date < ? + INTERVAL 2 MONTH
                ORDER BY due_date, document_number""",
            [period.start, period.start],
        )
        names = [column[0] for column in cursor.description]
        documents = [dict(zip(names, row)) for row in cursor.fetchall()]
        cursor = con.execute(
            f"""SELECT currency, bucket_start, owed_to_microsoft, owed_by_customers, net_position, cumulative_net_position FROM {PAYABLES}
                WHERE row_kind = 'month' AND bucket_start >= ? ORDER BY currency, bucket_start LIMIT 24""",
            [period.start],
        )
        names = [column[0] for column in cursor.description]
        months = [dict(zip(names, row)) for row in cursor.fetchall()]
    return {
        "status": state.status.value,
        "approved_by": state.approved_by,
        "acknowledged": ", ".join(state.acknowledged),
        "pending_reason": state.pending_reason,
        "documents": documents,
        "months": months,
    }
