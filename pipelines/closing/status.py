"""A month's status and the history of every change to it, kept in the warehouse `billing` schema.

    open ──approve──▶ approved ──issue──▶ issued ──changed files──▶ correction_pending
      ▲                  │                  ▲                              │
      └──figures changed─┘                  └──────corrections issued──────┘

`billing.month_status` holds the current status of each month (one row), `billing.month_status_history`
every change (who, when, from, to, why), appended and never updated. A month never seen is open.
Status values are defined here only; FOCUS 1.4's Billing Period status follows from them
(Closed = issued: every invoice issued, data final).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import duckdb

from pipelines.periods import BillingPeriod

STATUS_TABLE = "billing.month_status"
HISTORY_TABLE = "billing.month_status_history"


class MonthStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    ISSUED = "issued"
    CORRECTION_PENDING = "correction_pending"

    @property
    def focus_status(self) -> str:
        """FOCUS 1.4 BillingPeriodStatus: Closed once the month's invoices are issued."""
        return "Closed" if self in FINAL else "Open"


# Months whose documents are final: a run never makes drafts for them, a change is a correction.
FINAL = frozenset({MonthStatus.ISSUED, MonthStatus.CORRECTION_PENDING})

ALLOWED = {
    (MonthStatus.OPEN, MonthStatus.APPROVED),
    (MonthStatus.APPROVED, MonthStatus.APPROVED),  # approved again, e.g. with another acknowledgement
    (MonthStatus.APPROVED, MonthStatus.OPEN),
    (MonthStatus.APPROVED, MonthStatus.ISSUED),
    (MonthStatus.ISSUED, MonthStatus.CORRECTION_PENDING),
    (MonthStatus.ISSUED, MonthStatus.ISSUED),  # corrections issued directly by a deliberate run
    (MonthStatus.CORRECTION_PENDING, MonthStatus.ISSUED),
    (MonthStatus.CORRECTION_PENDING, MonthStatus.CORRECTION_PENDING),  # the files changed again
}


class StatusError(Exception):
    """A change the month's status does not allow, in the billing team's words."""


@dataclass(frozen=True)
class MonthState:
    period: BillingPeriod
    status: MonthStatus
    approved_by: str | None = None
    approved_at: datetime | None = None
    acknowledged: tuple[str, ...] = ()
    approved_fingerprint: str | None = None  # the drafts' figures that were approved
    landing_fingerprint: str | None = None  # the landing files the month was issued from
    pending_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    issuer_name: str | None = None  # the partner's legal name on the month's invoices


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS billing")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {STATUS_TABLE} (
            billing_period DATE PRIMARY KEY, status VARCHAR NOT NULL,
            approved_by VARCHAR, approved_at TIMESTAMP, acknowledged_checks VARCHAR,
            approved_fingerprint VARCHAR, landing_fingerprint VARCHAR, pending_reason VARCHAR,
            created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, invoice_issuer_name VARCHAR)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
            billing_period DATE NOT NULL, changed_at TIMESTAMP NOT NULL, changed_by VARCHAR NOT NULL,
            from_status VARCHAR NOT NULL, to_status VARCHAR NOT NULL, reason VARCHAR NOT NULL)"""
    )


def has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """Readers (read-only connections) find no table before the first run: every month open."""
    return bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'billing' AND table_name = 'month_status_history'"
        ).fetchone()
    )


def month_state(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> MonthState:
    if not has_tables(con):
        return MonthState(period, MonthStatus.OPEN)
    row = con.execute(
        f"""SELECT status, approved_by, approved_at, acknowledged_checks, approved_fingerprint, landing_fingerprint,
                   pending_reason, created_at, updated_at, invoice_issuer_name FROM {STATUS_TABLE} WHERE billing_period = ?""",
        [period.start],
    ).fetchone()
    if row is None:
        return MonthState(period, MonthStatus.OPEN)
    status, by, at, acknowledged, approved_fp, landing_fp, reason, created, updated, issuer = row
    return MonthState(
        period,
        MonthStatus(status),
        by,
        at,
        tuple(json.loads(acknowledged or "[]")),
        approved_fp,
        landing_fp,
        reason,
        created,
        updated,
        issuer,
    )


def all_states(con: duckdb.DuckDBPyConnection) -> list[MonthState]:
    if not has_tables(con):
        return []
    periods = [
        row[0] for row in con.execute(f"SELECT billing_period FROM {STATUS_TABLE} ORDER BY billing_period").fetchall()
    ]
    return [month_state(con, BillingPeriod(start)) for start in periods]


def change_status(
    con: duckdb.DuckDBPyConnection,
    period: BillingPeriod,
    to: MonthStatus,
    by: str,
    reason: str,
    *,
    approved_by: str | None = None,
    acknowledged: tuple[str, ...] = (),
    approved_fingerprint: str | None = None,
    landing_fingerprint: str | None = None,
    pending_reason: str | None = None,
    now: datetime | None = None,
) -> MonthState:
    """Move the month to `to` and append the change to the history, in one transaction.

    Approval details are kept while the month is approved or issued; they are cleared when it
    returns to open. The caller's connection must not be inside a transaction."""
    if not by.strip():
        raise StatusError("Say who makes the change (a name): the month's history records it.")
    ensure_tables(con)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    current = month_state(con, period)
    if (current.status, to) not in ALLOWED:
        raise StatusError(
            f"{period} is {current.status.value}: it cannot become {to.value} ({_why_not(current.status, to)})."
        )
    if to == MonthStatus.APPROVED:
        kept = (approved_by, now, acknowledged, approved_fingerprint)
    elif to == MonthStatus.OPEN:
        kept = (None, None, (), None)
    else:
        kept = (current.approved_by, current.approved_at, current.acknowledged, current.approved_fingerprint)
    landing = landing_fingerprint if landing_fingerprint is not None else current.landing_fingerprint
    pending = pending_reason if to == MonthStatus.CORRECTION_PENDING else None
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {STATUS_TABLE} WHERE billing_period = ?", [period.start])
        con.execute(
            f"INSERT INTO {STATUS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                period.start,
                to.value,
                kept[0],
                kept[1],
                json.dumps(list(kept[2])),
                kept[3],
                landing,
                pending,
                current.created_at or now,
                now,
                current.issuer_name,
            ],
        )
        con.execute(
            f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [period.start, now, by, current.status.value, to.value, reason],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return month_state(con, period)


def record_seen(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, by: str, issuer_name: str, now: datetime | None = None
) -> MonthState:
    """A month run for the first time gets its open row (its FOCUS billing period is created);
    every run records who issues its invoices (the partner's legal name, from the config)."""
    ensure_tables(con)
    if con.execute(f"SELECT 1 FROM {STATUS_TABLE} WHERE billing_period = ?", [period.start]).fetchone():
        con.execute(
            f"UPDATE {STATUS_TABLE} SET invoice_issuer_name = ? WHERE billing_period = ? AND invoice_issuer_name IS DISTINCT FROM ?",
            [issuer_name, period.start, issuer_name],
        )
        return month_state(con, period)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {STATUS_TABLE} VALUES (?, ?, NULL, NULL, '[]', NULL, NULL, NULL, ?, ?, ?)",
            [period.start, MonthStatus.OPEN.value, now, now, issuer_name],
        )
        con.execute(
            f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [
                period.start,
                now,
                by,
                MonthStatus.OPEN.value,
                MonthStatus.OPEN.value,
                "first run of the month: drafts made",
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return month_state(con, period)


def history(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[tuple]:
    if not has_tables(con):
        return []
    return con.execute(
        f"SELECT changed_at, changed_by, from_status, to_status, reason FROM {HISTORY_TABLE} WHERE billing_period = ? ORDER BY changed_at, rowid",
        [period.start],
    ).fetchall()


def _why_not(current: MonthStatus, to: MonthStatus) -> str:
    if to == MonthStatus.ISSUED:
        return "only an approved month is issued: run `csp-recon approve` first"
    if current in FINAL and to in (MonthStatus.OPEN, MonthStatus.APPROVED):
        return "an issued month is final: its changes are corrections (`csp-recon run --correct`)"
    if to == MonthStatus.APPROVED:
        return "only an open month with drafts is approved"
    return "not a step of the month's close"
