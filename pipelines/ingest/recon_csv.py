"""Read one reconciliation CSV into DuckDB with explicit types; set bad lines aside.

DuckDB's reader does the heavy lifting with every column typed up front (no sniffing, no
inference), and records each line it cannot read (wrong field count, cut-off quote, a value
that is not a number) with its line number. Dates and required values are checked after the
read, in one pass. Line numbers count the header as line 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.formats import (
    COLUMNS_BY_KIND,
    US_DATETIME,
    US_DATETIME_FORMATS,
    VALUE_REQUIRED,
    Column,
    FileKind,
)
from pipelines.ingest.recognise import RecognisedHeader
from pipelines.ingest.scan import ScannedFile
from pipelines.ingest.schema import ATTRIBUTED_COLUMNS, REJECTED_ROWS

_DATE_FORMATS_SQL = "[" + ", ".join(f"'{fmt}'" for fmt in US_DATETIME_FORMATS) + "]"


def us_datetime_sql(column_sql: str) -> str:
    """A US date or date-time text parsed with explicit formats; NULL when it is not one."""
    return f"try_strptime({column_sql}, {_DATE_FORMATS_SQL})"



def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class ReconFileRead:
    """A file read into temporary tables, ready to be inserted into its raw table."""

    scanned: ScannedFile
    recognised: RecognisedHeader
    table: str  # temp table of every line the reader accepted, in file order
    reader_rejects: str  # temp table of the reader's rejected lines
    problems: str  # temp table of accepted lines that fail a value check
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    value_problems: int = 0
    # Every line after the header became one accepted record: line = record position + 2.
    every_line_accepted: bool = False

    @property
    def kind(self) -> FileKind:
        return self.recognised.kind

    def _extra_columns_sql(self) -> tuple[str, list[str]]:
        """Columns of no known meaning are kept, by their header name, in one JSON value."""
        extras = [
            (name, f"extra_{index}")
            for index, (name, column) in enumerate(zip(self.recognised.header, self.recognised.positions))
            if column is None
        ]
        if not extras:
            return "NULL::JSON", []
        return "json_object(" + ", ".join(f"?, {alias}" for _, alias in extras) + ")", [name for name, _ in extras]

    def _value_sql(self, column: Column, present: set[str]) -> str:
        if column.name not in present:
            return f"NULL::{column.storage_type}"
        if column.type == US_DATETIME:
            return us_datetime_sql(column.sql_name)
        return column.sql_name

    def insert_sql(
        self, target_table: str, billing_period: str, invoice_by_currency: dict[str, str]
    ) -> tuple[str, list]:
        """INSERT of the accepted, value-checked lines with their lineage. A license file has no
        invoice number: each line gets the invoice of its currency."""
        present = {column.name for column in self.recognised.positions if column is not None}
        values = [self._value_sql(column, present) for column in COLUMNS_BY_KIND[self.kind]]
        params: list = []
        if ATTRIBUTED_COLUMNS.get(self.kind):
            values.append("list_extract(?::VARCHAR[], list_position(?::VARCHAR[], currency))")
            params += [list(invoice_by_currency.values()), list(invoice_by_currency.keys())]
        extra_sql, extra_params = self._extra_columns_sql()
        values += ["?::DATE", "?", "lines.source_line", "?", extra_sql]
        params += [billing_period, self.scanned.name, self.scanned.sha256, *extra_params]
        if self.every_line_accepted:
            source = f"(SELECT *, rowid AS record, rowid + 2 AS source_line FROM {self.table}) AS lines"
        else:
            source = f"{self.table} AS accepted JOIN ({self.line_numbers_sql()}) AS lines ON lines.record = accepted.rowid"
        problem_filter = f"WHERE lines.record NOT IN (SELECT record FROM {self.problems})" if self.value_problems else ""
        return f"INSERT INTO {target_table} SELECT {', '.join(values)} FROM {source} {problem_filter}", params

    def line_numbers_sql(self) -> str:
        """File line of each accepted record: its position, shifted past the lines the reader
        skipped (rejected or blank) that come before it."""
        blank = ", ".join(str(line) for line in self.scanned.blank_lines) or "NULL"
        return f"""
            WITH skipped AS (
                SELECT line, row_number() OVER (ORDER BY line) AS skipped_through
                FROM (SELECT DISTINCT line FROM {self.reader_rejects}
                      UNION SELECT unnest([{blank}])::BIGINT)
                WHERE line IS NOT NULL
            ),
            shifts AS (
                SELECT line - 1 - skipped_through AS accepted_before, max(skipped_through) AS shift
                FROM skipped GROUP BY ALL
            ),
            records AS (SELECT rowid AS record FROM {self.table})
            SELECT records.record, records.record + 2 + coalesce(shifts.shift, 0) AS source_line
            FROM records ASOF LEFT JOIN shifts ON records.record >= shifts.accepted_before
        """

    def rejected_rows_sql(self) -> str:
        """Every rejected line, one row per line, reasons in words a billing clerk reads."""
        return f"""
            SELECT line AS line_number,
                   first(column_name ORDER BY column_idx) AS column_name,
                   string_agg(reason, '; ' ORDER BY column_idx) AS reason,
                   first(raw_line) AS raw_line
            FROM (
                -- A cut-off line is reported once per missing value: say each reason once.
                SELECT line, reason, min(column_idx) AS column_idx,
                       first(column_name ORDER BY column_idx) AS column_name, first(raw_line) AS raw_line
                FROM {self.reader_rejects}
                GROUP BY line, reason
            )
            GROUP BY line
        """


def read_recon_file(
    con: duckdb.DuckDBPyConnection, scanned: ScannedFile, recognised: RecognisedHeader, slot: int
) -> ReconFileRead:
    read = ReconFileRead(
        scanned=scanned,
        recognised=recognised,
        table=f"read_{slot}",
        reader_rejects=f"read_{slot}_rejects",
        problems=f"read_{slot}_problems",
    )
    reader_columns = ", ".join(
        f"'{column.sql_name if column else f'extra_{index}'}': '{column.read_type if column else 'VARCHAR'}'"
        for index, column in enumerate(recognised.positions)
    )
    con.execute(f"DROP TABLE IF EXISTS reject_errors_{slot}; DROP TABLE IF EXISTS reject_scans_{slot}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.table} AS
        SELECT * FROM read_csv(?, header = true, auto_detect = false, delim = ?, quote = '"',
                               escape = '"', strict_mode = true, columns = {{{reader_columns}}},
                               store_rejects = true, rejects_table = 'reject_errors_{slot}',
                               rejects_scan = 'reject_scans_{slot}', rejects_limit = 0)
        """,
        [str(scanned.readable_path), scanned.delimiter],
    )
    _explain_reader_rejects(con, read, f"reject_errors_{slot}")
    _find_value_problems(con, read)
    accepted = con.execute(f"SELECT count(*) FROM {read.table}").fetchone()[0]
    reader_rejected = con.execute(f"SELECT count(DISTINCT line) FROM {read.reader_rejects}").fetchone()[0]
    value_rejected = con.execute(f"SELECT count(*) FROM {read.problems}").fetchone()[0]
    read.rows_loaded = accepted - value_rejected
    read.rows_rejected = reader_rejected + value_rejected
    read.value_problems = value_rejected
    read.every_line_accepted = reader_rejected == 0 and scanned.physical_lines - 1 == accepted
    read.rows_read = _count_records(con, read)
    return read


def _count_records(con: duckdb.DuckDBPyConnection, read: ReconFileRead) -> int:
    """Records in the file, counted from its lines, not from what the reader kept: the row
    conservation check compares the two. A line break inside a quoted value continues its
    record, so those are subtracted when present."""
    lines = read.scanned.physical_lines - 1
    if lines == read.rows_loaded + read.rows_rejected:
        return lines
    lines -= len(read.scanned.blank_lines)
    text_columns = [c.sql_name for c in read.recognised.positions if c is not None and c.read_type == "VARCHAR"]
    breaks_in_values = " + ".join(f"coalesce(length({name}) - length(replace({name}, chr(10), '')), 0)" for name in text_columns) or "0"
    accepted_breaks = con.execute(f"SELECT coalesce(sum({breaks_in_values}), 0) FROM {read.table}").fetchone()[0]
    rejected_breaks = con.execute(
        f"SELECT coalesce(sum(length(raw_line) - length(replace(raw_line, chr(10), ''))), 0) FROM (SELECT DISTINCT line, raw_line FROM {read.reader_rejects})"
    ).fetchone()[0]
    return lines - int(accepted_breaks) - int(rejected_breaks)


def _explain_reader_rejects(con: duckdb.DuckDBPyConnection, read: ReconFileRead, reject_errors: str) -> None:
    """The reader's errors, reworded for a billing clerk, naming the file's own column headers."""
    columns = len(read.recognised.header)
    cut_off = "the line is cut off: a quoted value is never closed (the file may be truncated)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.reader_rejects} AS
        SELECT line, column_idx, header_name AS column_name,
               CASE error_type::VARCHAR
                 WHEN 'CAST' THEN header_name || ' is ''' || regexp_extract(error_message, 'string "(.*)" to', 1)
                      || ''', which is not '
                      || CASE WHEN error_message LIKE '%DECIMAL%' THEN 'a number'
                              WHEN error_message LIKE '%INT%' THEN 'a whole number' ELSE 'a valid value' END
                      || ' (use a point for decimals and no thousands separators)'
                 WHEN 'TOO MANY COLUMNS' THEN 'the line has more values than the {columns} columns of the header (an unquoted comma inside a value?)'
                 WHEN 'MISSING COLUMNS' THEN 'the line has fewer values than the {columns} columns of the header (the line is cut off)'
                 WHEN 'UNQUOTED VALUE' THEN '{cut_off}'
                 WHEN 'INVALID STATE' THEN '{cut_off}'
                 ELSE 'the line cannot be read (' || lower(error_type::VARCHAR) || ': ' || error_message || ')'
               END AS reason,
               trim(csv_line, chr(13) || chr(10)) AS raw_line
        FROM (SELECT *, CASE WHEN error_type::VARCHAR = 'CAST' THEN list_extract(?::VARCHAR[], column_idx::INTEGER) END AS header_name
              FROM {reject_errors})
        """,
        [list(read.recognised.header)],
    )


def _find_value_problems(con: duckdb.DuckDBPyConnection, read: ReconFileRead) -> None:
    """Accepted lines whose dates do not parse or whose required values are blank."""
    checks: list[str] = []
    present = {c.name: c for c in read.recognised.positions if c is not None}
    header_of = {c.name: name for name, c in zip(read.recognised.header, read.recognised.positions) if c}
    for name, column in present.items():
        label = header_of[name].replace("'", "''")
        if column.type == US_DATETIME:
            checks.append(
                f"WHEN {column.sql_name} IS NOT NULL AND {us_datetime_sql(column.sql_name)} IS NULL "
                f"THEN ['{label}', '{label} is ''' || {column.sql_name} || ''', which is not a date written M/D/YYYY']"
            )
    for name in VALUE_REQUIRED.get(read.kind, ()):
        if name in present:
            label = header_of[name].replace("'", "''")
            checks.append(f"WHEN {present[name].sql_name} IS NULL THEN ['{label}', '{label} is empty']")
    problem = f"CASE {' '.join(checks)} END" if checks else "NULL::VARCHAR[]"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.problems} AS
        SELECT record, problem[1] AS column_name, problem[2] AS reason
        FROM (SELECT rowid AS record, {problem} AS problem FROM {read.table})
        WHERE problem IS NOT NULL
        """
    )


def insert_rejected_rows(
    con: duckdb.DuckDBPyConnection, read: ReconFileRead, billing_period: str
) -> None:
    """Both kinds of rejected lines into raw.rejected_rows, with their file line numbers."""
    lineage = [billing_period, read.scanned.name, read.kind.value, read.scanned.sha256]
    con.execute(
        f"""
        INSERT INTO {REJECTED_ROWS}
        SELECT ?::DATE, ?, ?, line_number, column_name, reason, raw_line, ?
        FROM ({read.rejected_rows_sql()})
        """,
        lineage,
    )
    if not read.value_problems:
        return
    problems = con.execute(
        f"""
        SELECT lines.source_line, problems.column_name, problems.reason
        FROM {read.problems} AS problems
        JOIN ({read.line_numbers_sql()}) AS lines ON lines.record = problems.record
        ORDER BY 1
        """
    ).fetchall()
    if problems:
        raw_lines = _raw_lines(read.scanned, {line for line, _, _ in problems})
        con.executemany(
            f"INSERT INTO {REJECTED_ROWS} VALUES (?::DATE, ?, ?, ?, ?, ?, ?, ?)",
            [
                [billing_period, read.scanned.name, read.kind.value, line, column, reason, raw_lines.get(line), read.scanned.sha256]
                for line, column, reason in problems
            ],
        )


def _raw_lines(scanned: ScannedFile, wanted: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    last = max(wanted)
    with scanned.readable_path.open("r", encoding="utf-8-sig", newline="") as source:
        for number, line in enumerate(source, start=1):
            if number in wanted:
                found[number] = line.rstrip("\r\n")
            if number >= last:
                break
    return found
