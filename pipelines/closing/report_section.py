"""The close in the month's reconciliation report (issue 14): the month's status, and when cash
goes out to Microsoft against when customers pay (marts.payables_calendar).

`closing_section` gathers the figures (money as Decimal); `render_closing_section` is the small
HTML fragment the report shows, every value escaped (customer names are untrusted)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

import duckdb

from pipelines.closing.status import month_state

PAYABLES = "marts.payables_calendar"


def closing_section(con: duckdb.DuckDBPyConnection, month: date) -> dict:
    state = month_state(con, month)
    has_calendar = bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'payables_calendar'").fetchone())
    documents, months = [], []
    if has_calendar:
        # The month's Microsoft invoices (dated after the month ends) and the customer documents of the month.
        cursor = con.execute(
            f"""SELECT document_kind, document_number, counterparty, currency, document_date, due_date, amount FROM {PAYABLES}
                WHERE row_kind = 'document' AND document_date >= ? AND document_date < ? + INTERVAL 2 MONTH
                ORDER BY due_date, document_number""",
            [month, month],
        )
        names = [column[0] for column in cursor.description]
        documents = [dict(zip(names, row)) for row in cursor.fetchall()]
        cursor = con.execute(
            f"""SELECT currency, bucket_start, owed_to_microsoft, owed_by_customers, net_position, cumulative_net_position FROM {PAYABLES}
                WHERE row_kind = 'month' AND bucket_start >= ? ORDER BY currency, bucket_start LIMIT 24""",
            [month],
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


def render_closing_section(section: dict | None) -> str:
    if not section:
        return ""
    parts = ["<h2>Month close and cash</h2>", f"<p>Status: <strong>{escape(section['status'])}</strong>"]
    if section["approved_by"]:
        parts.append(f"; approved by {escape(section['approved_by'])}")
    if section["acknowledged"]:
        parts.append(f"; warnings acknowledged: {escape(section['acknowledged'])}")
    parts.append(".</p>")
    if section["pending_reason"]:
        parts.append(f"<p class='mismatch'>Correction pending: {escape(section['pending_reason'])}</p>")
    parts.append(_table(section["documents"], [("document_kind", "Document"), ("document_number", "Number"), ("counterparty", "With"),
                                               ("currency", "Currency"), ("document_date", "Dated"), ("due_date", "Due"), ("amount", "Amount")]))  # fmt: skip
    parts.append("<p class='note'>Cash position per month of due date: Microsoft is paid 60 days after its invoice, customers on their terms.</p>")
    parts.append(_table(section["months"], [("currency", "Currency"), ("bucket_start", "Month"), ("owed_to_microsoft", "Owed to Microsoft"),
                                            ("owed_by_customers", "Owed by customers"), ("net_position", "Net"), ("cumulative_net_position", "Running net")]))  # fmt: skip
    return "".join(parts)


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return '<p class="note">None yet.</p>'
    head = "".join(f"<th>{escape(title)}</th>" for _, title in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(key)) for key, _ in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return f'<td class="n">{value:,.2f}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"
