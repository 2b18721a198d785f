"""A failed delivery never replaces the last good month in the pipeline's warehouse.

When a month's blocking checks pass, its rows (every raw table and every mart, month by month)
are kept in schema `last_good`, with a fingerprint of their content. When a later delivery of
the month fails them, its raw rows move to schema `quarantine` (tables `quarantined_<raw table>`,
with the run id and time, and `quarantine.deliveries` naming its files and why it failed) and the
last good rows come back, in one transaction. A month that never passed has nothing to come back
to: its failed delivery stays where it is, and the sentence says so.

Generic by construction: the raw tables are `RAW_TABLES` plus the manifest and rejected lines,
the marts are every table of schema `marts` with a `billing_period`, so a new file kind or mart
is covered without a change here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from pipelines.ingest.schema import FILE_MANIFEST, RAW_TABLES, REJECTED_ROWS
from pipelines.periods import BillingPeriod

LAST_GOOD_SCHEMA = "last_good"
QUARANTINE_SCHEMA = "quarantine"
MARTS_SCHEMA = "marts"
LAST_GOOD_MONTHS = f"{LAST_GOOD_SCHEMA}.months"
DELIVERIES = f"{QUARANTINE_SCHEMA}.deliveries"
QUARANTINED_PREFIX = "quarantined_"
SHOWN_FILES = 6


def raw_tables() -> list[str]:
    return [*dict.fromkeys(RAW_TABLES.values()), FILE_MANIFEST, REJECTED_ROWS]


def month_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every raw table and every mart that holds months, as `schema.table`, raw first."""
    marts = [
        f"{MARTS_SCHEMA}.{name}"
        for (name,) in con.execute(
            """SELECT t.table_name FROM duckdb_tables() t
               WHERE t.schema_name = ? AND EXISTS (
                   SELECT 1 FROM duckdb_columns() c
                   WHERE c.schema_name = t.schema_name AND c.table_name = t.table_name AND c.column_name = 'billing_period')
               ORDER BY 1""",
            [MARTS_SCHEMA],
        ).fetchall()
    ]
    return [table for table in raw_tables() if _exists(con, table)] + marts


def fingerprint(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> str:
    """A digest of the month's rows in every raw table and mart: equal exactly when the month's
    data is the same (order-independent; a re-run from the same files gives the same digest)."""
    digest = hashlib.sha256()
    for table in month_tables(con):
        count, total = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {table} t WHERE billing_period = ?",
            [period.start],
        ).fetchone()
        digest.update(f"{table}:{count}:{total};".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Delivery:
    """Which files a month's rows came from, and when they were first loaded."""

    loaded_at: datetime | None
    files: tuple[str, ...]

    def named(self) -> str:
        shown = ", ".join(self.files[:SHOWN_FILES]) + (
            f" and {len(self.files) - SHOWN_FILES} more" if len(self.files) > SHOWN_FILES else ""
        )
        return shown or "no file"


def current_delivery(con: duckdb.DuckDBPyConnection, period: BillingPeriod, manifest: str = FILE_MANIFEST) -> Delivery:
    if not _exists(con, manifest):
        return Delivery(None, ())
    rows = con.execute(
        f"SELECT file_name, loaded_at FROM {manifest} WHERE billing_period = ? AND status = 'loaded' ORDER BY file_name",
        [period.start],
    ).fetchall()
    return Delivery(max((loaded for _, loaded in rows), default=None), tuple(name for name, _ in rows))


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return (
        con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, name]).fetchone()
        is not None
    )


def _copy_name(schema: str, table: str) -> str:
    source_schema, name = table.split(".")
    if schema == QUARANTINE_SCHEMA:
        return f"{QUARANTINE_SCHEMA}.{QUARANTINED_PREFIX}{name}"
    return f"{schema}.{source_schema}__{name}"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    return dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, name],
        ).fetchall()
    )


def _align(con: duckdb.DuckDBPyConnection, source: str, copy: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
    """The copy has every column of the source, with the source's type (tables gain columns and
    widen their types between versions); columns the source lost stay, empty from then on."""
    if not _exists(con, copy):
        columns = ", ".join(f"{column} {kind}" for column, kind in (*extra, *_columns(con, source).items()))
        con.execute(f"CREATE TABLE {copy} ({columns})")
        return
    present = _columns(con, copy)
    for column, kind in _columns(con, source).items():
        if column not in present:
            con.execute(f"ALTER TABLE {copy} ADD COLUMN {column} {kind}")
        elif present[column] != kind:
            con.execute(f"ALTER TABLE {copy} ALTER COLUMN {column} TYPE {kind}")


def _move_rows(
    con: duckdb.DuckDBPyConnection,
    source: str,
    target: str,
    period: BillingPeriod,
    constants: dict[str, object] | None = None,
) -> None:
    """Replace the month's rows of `target` with those of `source`, column by name."""
    shared = [column for column in _columns(con, source) if column in _columns(con, target)]
    constants = constants or {}
    con.execute(f"DELETE FROM {target} WHERE billing_period = ?", [period.start])
    names = ", ".join([*constants, *shared])
    values = ", ".join(["?" for _ in constants] + shared)
    con.execute(
        f"INSERT INTO {target} ({names}) SELECT {values} FROM {source} WHERE billing_period = ?",
        [*constants.values(), period.start],
    )


def keep_as_last_good(con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str) -> bool:
    """Keep the month's rows as its last good data (the month has just passed its blocking
    checks); False when they are kept already."""
    digest = fingerprint(con, period)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAST_GOOD_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LAST_GOOD_MONTHS} (billing_period DATE PRIMARY KEY, fingerprint VARCHAR NOT NULL,
            delivery_loaded_at TIMESTAMP, files VARCHAR[] NOT NULL, tables VARCHAR[] NOT NULL, run_id VARCHAR, kept_at TIMESTAMP NOT NULL)"""
    )
    kept = con.execute(
        f"SELECT fingerprint FROM {LAST_GOOD_MONTHS} WHERE billing_period = ?", [period.start]
    ).fetchone()
    if kept and kept[0] == digest:
        return False
    tables = month_tables(con)
    delivery = current_delivery(con, period)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            copy = _copy_name(LAST_GOOD_SCHEMA, table)
            _align(con, table, copy)
            _move_rows(con, table, copy, period)
        con.execute(
            f"INSERT OR REPLACE INTO {LAST_GOOD_MONTHS} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [period.start, digest, delivery.loaded_at, list(delivery.files), tables, run_id, _now()],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


@dataclass(frozen=True)
class Settlement:
    """What a failed month's warehouse holds after the failure, in the clerk's words."""

    period: BillingPeriod
    outcome: str  # restored | first_delivery | unchanged
    current: Delivery
    failed: Delivery | None = None

    @property
    def sentence(self) -> str:
        if self.outcome == "restored":
            return (
                f"{self.period} still shows the delivery loaded on {_when(self.current.loaded_at)} (files {self.current.named()}); "
                f"the new delivery (files {self.failed.named()}) failed its blocking checks and is in "
                f"{QUARANTINE_SCHEMA}.{QUARANTINED_PREFIX}* for inspection (see {DELIVERIES})."
            )
        if self.outcome == "first_delivery" and not self.current.files:
            return (
                f"{self.period} has no figures in the warehouse: no delivery of it has passed its blocking checks yet."
            )
        if self.outcome == "first_delivery":
            return (
                f"{self.period} has no earlier delivery that passed its blocking checks, so there are no good figures to keep: "
                f"the warehouse shows the failed delivery (files {self.current.named()}), which is neither invoiced nor published."
            )
        return (
            f"{self.period} shows the delivery loaded on {_when(self.current.loaded_at)} (files {self.current.named()}), "
            f"the last that passed its blocking checks; this run did not replace it."
        )


def settle_failed_month(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, run_id: str, problems: tuple[str, ...]
) -> Settlement:
    """After the month's blocking checks failed on its current data: if that data is not the last
    good one, quarantine its raw rows and bring the last good rows back (raw and marts)."""
    current = current_delivery(con, period)
    kept = (
        con.execute(
            f"SELECT fingerprint, delivery_loaded_at, files, tables FROM {LAST_GOOD_MONTHS} WHERE billing_period = ?",
            [period.start],
        ).fetchone()
        if _exists(con, LAST_GOOD_MONTHS)
        else None
    )
    if kept is None:
        return Settlement(period, "first_delivery", current)
    kept_print, kept_loaded_at, kept_files, kept_tables = kept
    good = Delivery(kept_loaded_at, tuple(kept_files))
    if fingerprint(con, period) == kept_print:
        return Settlement(period, "unchanged", good)
    now = _now()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE_SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {DELIVERIES} (billing_period DATE NOT NULL, quarantine_run_id VARCHAR NOT NULL,
            quarantined_at TIMESTAMP NOT NULL, delivery_loaded_at TIMESTAMP, files VARCHAR[] NOT NULL, problems VARCHAR[] NOT NULL,
            restored_delivery_loaded_at TIMESTAMP, restored_files VARCHAR[] NOT NULL)"""
    )
    stamp = (("quarantine_run_id", "VARCHAR"), ("quarantined_at", "TIMESTAMP"))
    con.execute("BEGIN TRANSACTION")
    try:
        for table in raw_tables():
            if _exists(con, table):
                copy = _copy_name(QUARANTINE_SCHEMA, table)
                _align(con, table, copy, extra=stamp)
                _move_rows(con, table, copy, period, constants={"quarantine_run_id": run_id, "quarantined_at": now})
        for table in month_tables(con):
            copy = _copy_name(LAST_GOOD_SCHEMA, table)
            if table in kept_tables and _exists(con, copy):
                _move_rows(con, copy, table, period)
            else:  # a table that did not exist when the month last passed: it had no rows then
                con.execute(f"DELETE FROM {table} WHERE billing_period = ?", [period.start])
        con.execute(
            f"INSERT INTO {DELIVERIES} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                period.start,
                run_id,
                now,
                current.loaded_at,
                list(current.files),
                list(problems),
                good.loaded_at,
                list(good.files),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Settlement(period, "restored", good, current)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "an unknown date"
