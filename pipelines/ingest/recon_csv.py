"""Read one reconciliation CSV into DuckDB with explicit types; set bad lines aside.

DuckDB's reader does the heavy lifting with every column read as text (no sniffing, no
inference), and records each line it cannot read (wrong field count, cut-off quote) with its
line number. Numbers, dates and required values are then checked in one pass, and cast only
where the cast loses nothing. Line numbers count the header as line 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.formats import (
    COLUMNS_BY_KIND,
    JSON_TEXT,
    US_DATETIME,
    VALUE_REQUIRED,
    Column,
    FileKind,
)
from pipelines.ingest import daily_usage
from pipelines.ingest.dates import date_problem_sql, datetime_sql
from pipelines.ingest.recognise import RecognisedHeader
from pipelines.ingest.scan import ScannedFile
from pipelines.ingest.schema import ATTRIBUTED_COLUMNS, LINEAGE_COLUMNS, REJECTED_ROWS, REJECTED_ROWS_COLUMNS
from pipelines.periods import BillingPeriod
from pipelines.sql import scalar


@dataclass
class ReconFileRead:
    """A file read into temporary tables, ready to be inserted into its raw table."""

    scanned: ScannedFile
    recognised: RecognisedHeader
    table: str  # temp table of every line the reader accepted, in file order
    reader_rejects: str  # temp table of the reader's rejected lines
    problems: str  # temp table of accepted lines that fail a value check
    breaks: str  # temp table of records holding line breaks: the reader's line -> extra file lines
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    value_problems: int = 0
    # Every line after the header became one accepted record: line = record position + 2.
    every_line_accepted: bool = False
    # Line breaks inside quoted values: the reader numbers records as if each were one line.
    line_breaks: int = 0

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

    def _value_sql(self, column: Column, header: dict[str, str]) -> str:
        if column.name not in header:
            return f"NULL::{column.storage_type}"
        if self.kind == FileKind.DAILY_USAGE and (special := daily_usage.value_sql(column, header[column.name])):
            return special
        if column.type == US_DATETIME:
            return datetime_sql(column.sql_name)
        if column.type == JSON_TEXT:
            return f"CAST({column.sql_name} AS JSON)"
        if column.scale is not None:
            return f"CAST({column.sql_name} AS {column.type})"
        return column.sql_name

    def insert_sql(
        self, target_table: str, period: BillingPeriod, invoice_by_currency: dict[str, str]
    ) -> tuple[str, list]:
        """INSERT of the accepted, value-checked lines with their lineage. A license file has no
        invoice number: each line gets the invoice of its currency."""
        header = {
            column.name: name for name, column in zip(self.recognised.header, self.recognised.positions) if column
        }
        values = [self._value_sql(column, header) for column in COLUMNS_BY_KIND[self.kind]]
        # By name: a table made by an earlier version may hold newer columns at its end.
        names = [column.sql_name for column in COLUMNS_BY_KIND[self.kind]]
        names += [name for name, _ in ATTRIBUTED_COLUMNS.get(self.kind, ())]
        names += [name for name, _ in LINEAGE_COLUMNS]
        params: list = []
        if ATTRIBUTED_COLUMNS.get(self.kind):
            values.append("list_extract(?::VARCHAR[], list_position(?::VARCHAR[], currency))")
            params += [list(invoice_by_currency.values()), list(invoice_by_currency.keys())]
        extra_sql, extra_params = self._extra_columns_sql()
        values += ["?::DATE", "?", self.file_line_sql("lines.source_line"), "?", extra_sql]
        params += [period.start, self.scanned.name, self.scanned.sha256, *extra_params]
        if self.every_line_accepted:
            source = f"(SELECT *, rowid AS record, rowid + 2 AS source_line FROM {self.table}) AS lines"
        else:
            source = (
                f"{self.table} AS accepted JOIN ({self.line_numbers_sql()}) AS lines ON lines.record = accepted.rowid"
            )
        problem_filter = (
            f"WHERE lines.record NOT IN (SELECT record FROM {self.problems})" if self.value_problems else ""
        )
        return (
            f"INSERT INTO {target_table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {source} {problem_filter}",
            params,
        )

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

    def file_line_sql(self, reader_line: str) -> str:
        """The file's line for the reader's line number, past the line breaks inside values before it."""
        if not self.line_breaks:
            return reader_line
        return (
            f"({reader_line} + coalesce((SELECT sum(b.extra) FROM {self.breaks} AS b WHERE b.line < {reader_line}), 0))"
        )

    def rejected_rows_sql(self) -> str:
        """Every rejected line, one row per line, reasons in words a billing clerk reads."""
        return f"""
            SELECT {self.file_line_sql("per_reason.line")} AS line_number,
                   first(column_name ORDER BY column_idx) AS column_name,
                   string_agg(reason, '; ' ORDER BY column_idx) AS reason,
                   first(raw_line) AS raw_line
            FROM (
                -- A cut-off line is reported once per missing value: say each reason once.
                SELECT line, reason, min(column_idx) AS column_idx,
                       first(column_name ORDER BY column_idx) AS column_name, first(raw_line) AS raw_line
                FROM {self.reader_rejects}
                GROUP BY line, reason
            ) AS per_reason
            GROUP BY per_reason.line
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
        breaks=f"read_{slot}_breaks",
    )
    reader_columns = ", ".join(
        f"'{column.sql_name if column else f'extra_{index}'}': 'VARCHAR'"
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
    _reject_overlong_lines(con, read)
    _find_value_problems(con, read)
    accepted = scalar(con, f"SELECT count(*) FROM {read.table}")
    reader_rejected = scalar(con, f"SELECT count(DISTINCT line) FROM {read.reader_rejects}")
    value_rejected = scalar(con, f"SELECT count(*) FROM {read.problems}")
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
    columns = [
        column.sql_name if column else f"extra_{index}" for index, column in enumerate(read.recognised.positions)
    ]
    breaks_in_values = " + ".join(
        f"coalesce(length({name}) - length(replace({name}, chr(10), '')), 0)" for name in columns
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.breaks} AS
        SELECT line, extra FROM (
            SELECT lines.source_line AS line, {breaks_in_values} AS extra
            FROM {read.table} AS accepted JOIN ({read.line_numbers_sql()}) AS lines ON lines.record = accepted.rowid
            UNION ALL
            SELECT DISTINCT line, length(raw_line) - length(replace(raw_line, chr(10), '')) FROM {read.reader_rejects}
        )
        WHERE extra > 0
        """
    )
    read.line_breaks = scalar(con, f"SELECT coalesce(sum(extra), 0) FROM {read.breaks}")
    return lines - read.line_breaks


# DuckDB's reader's limit on one line (its max_line_size default); no real line comes near it.
MAX_LINE_BYTES = 2_000_000
# What a rejected line keeps of its text: enough to see it, not a 200 MB copy.
RAW_LINE_CHARACTERS = 10_000


def _explain_reader_rejects(con: duckdb.DuckDBPyConnection, read: ReconFileRead, reject_errors: str) -> None:
    """The reader's errors (the shape of a line; values are checked after), reworded for a billing clerk."""
    columns = len(read.recognised.header)
    cut_off = "the line is cut off: a quoted value is never closed (the file may be truncated)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.reader_rejects} AS
        SELECT line, column_idx, NULL::VARCHAR AS column_name,
               CASE error_type::VARCHAR
                 WHEN 'TOO MANY COLUMNS' THEN 'the line has more values than the {columns} columns of the header (an unquoted comma inside a value?)'
                 WHEN 'MISSING COLUMNS' THEN 'the line has fewer values than the {columns} columns of the header (the line is cut off)'
                 WHEN 'UNQUOTED VALUE' THEN '{cut_off}'
                 WHEN 'INVALID STATE' THEN '{cut_off}'
                 WHEN 'LINE SIZE OVER MAXIMUM' THEN 'the line is longer than the {MAX_LINE_BYTES:,} bytes a reconciliation line can have (the file may be damaged)'
                 ELSE 'the line cannot be read (' || lower(error_type::VARCHAR) || ': ' || error_message || ')'
               END AS reason,
               trim(csv_line, chr(13) || chr(10)) AS raw_line
        FROM {reject_errors}
        """
    )


def _reject_overlong_lines(con: duckdb.DuckDBPyConnection, read: ReconFileRead) -> None:
    """DuckDB's reader records a line over its size limit as rejected, except one longer than its
    read buffer (tens of MB), which it drops without a word. Such lines are found here, only
    when the file is big enough to hold one and some lines are unaccounted for, and rejected."""
    scanned = read.scanned
    if scanned.size_bytes <= MAX_LINE_BYTES:
        return
    accounted = scalar(
        con, f"SELECT (SELECT count(*) FROM {read.table}) + (SELECT count(DISTINCT line) FROM {read.reader_rejects})"
    )
    if accounted >= scanned.physical_lines - 1:
        return
    already = {line for (line,) in con.execute(f"SELECT DISTINCT line FROM {read.reader_rejects}").fetchall()}
    reason = (
        f"the line is longer than the {MAX_LINE_BYTES:,} bytes a reconciliation line can have (the file may be damaged)"
    )
    rows = [
        [line, reason, start.decode("utf-8", errors="replace")]
        for line, start in _overlong_lines(scanned.readable_path)
        if line not in already and line > 1
    ]
    if rows:
        con.executemany(f"INSERT INTO {read.reader_rejects} VALUES (?, NULL, NULL, ?, ?)", rows)


def _overlong_lines(path, keep: int = RAW_LINE_CHARACTERS) -> list[tuple[int, bytes]]:
    """(line number, first bytes) of each line longer than MAX_LINE_BYTES, read in chunks."""
    found: list[tuple[int, bytes]] = []
    line, length, start_of_line = 1, 0, b""
    with path.open("rb") as source:
        while chunk := source.read(4 << 20):
            position = 0
            while (end := chunk.find(b"\n", position)) != -1:
                if length + end - position > MAX_LINE_BYTES:
                    found.append((line, (start_of_line + chunk[position:end])[:keep]))
                line, length, start_of_line, position = line + 1, 0, b"", end + 1
            if length < keep:
                start_of_line += chunk[position : position + keep - length]
            length += len(chunk) - position
    if length > MAX_LINE_BYTES:
        found.append((line, start_of_line[:keep]))
    return found


def _find_value_problems(con: duckdb.DuckDBPyConnection, read: ReconFileRead) -> None:
    """Accepted lines holding a value its column cannot take, each such value named in file order:
    a number its type would round, a text that is no date, a JSON field that is not JSON, a
    required value left blank."""
    required = set(VALUE_REQUIRED.get(read.kind, ()))
    per_column = [
        f"CASE {' '.join(checks)} END"
        for header, column in zip(read.recognised.header, read.recognised.positions)
        if column is not None and (checks := _value_checks(column, header, column.name in required, read.kind))
    ]
    # Most lines are clean: a plain filter finds the few with a problem before any list is built.
    any_problem = " OR ".join(f"({case}) IS NOT NULL" for case in per_column) or "false"
    problems = (
        f"list_filter([{', '.join(per_column)}], lambda problem: problem IS NOT NULL)"
        if per_column
        else "[]::VARCHAR[][]"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {read.problems} AS
        SELECT record, problems[1][1] AS column_name, array_to_string([p[2] FOR p IN problems], '; ') AS reason
        FROM (SELECT rowid AS record, {problems} AS problems FROM {read.table} WHERE {any_problem})
        """
    )


def _value_checks(column: Column, header: str, required: bool, kind: FileKind | None = None) -> list[str]:
    """WHEN clauses for one column: the first that holds is its problem."""
    value = column.sql_name
    label = header.replace("'", "''")
    shown = f"'{label} is ''' || {value} || ''', which "
    checks = [f"WHEN {value} IS NULL THEN ['{label}', '{label} is empty']"] if required else []
    daily = kind == FileKind.DAILY_USAGE
    if daily:
        checks += daily_usage.value_checks(column, header, label) or []
    if column.scale is not None:
        number = "a whole number" if column.scale == 0 else "a number"
        too_precise = (
            "is not a whole number"
            if column.scale == 0
            else f"has more than {column.scale} decimals and would be rounded"
        )
        checks += [
            # The common case, settled by one regular expression: a number the type holds exactly.
            f"WHEN {value} IS NULL OR regexp_full_match({value}, '{_exact_number_pattern(column)}') THEN NULL",
            f"WHEN try_cast({value} AS DOUBLE) IS NULL "
            f"THEN ['{label}', {shown}is not {number} (use a point for decimals and no thousands separators)']",
            f"WHEN try_cast({value} AS {column.type}) IS NULL THEN ['{label}', {shown}is too large for this column']",
            # A column of 18 places is as wide as the comparison: a digit past the 18th is found by its text.
            *(
                [f"WHEN regexp_matches({value}, '\\.[0-9]{{18}}0*[1-9]') THEN ['{label}', {shown}{too_precise}']"]
                if column.scale >= 18
                else []
            ),
            f"WHEN try_cast({value} AS DECIMAL(38, 18)) = CAST({value} AS {column.type}) THEN NULL",
            f"ELSE ['{label}', {shown}{too_precise}']",
        ]
    elif column.type == US_DATETIME:
        checks.append(
            f"WHEN {date_problem_sql(value)} "
            f"THEN ['{label}', {shown}is not a date (Partner Center writes M/D/YYYY, e.g. 10/1/2026, or ISO 8601, e.g. 2026-10-01T00:00:00Z)']"
        )
    elif column.type == JSON_TEXT and not (daily and daily_usage.skips_json_check(column)):
        problem = (
            daily_usage.JSON_PROBLEM
            if daily
            else 'is not valid JSON (Partner Center writes a list such as ["AddOn"] or [])'
        )
        checks.append(f"WHEN {value} IS NOT NULL AND NOT json_valid({value}) THEN ['{label}', {shown}{problem}']")
    return checks


def _exact_number_pattern(column: Column) -> str:
    """Plain decimal text with no more digits than the column's type keeps (trailing zeros aside)."""
    assert column.precision is not None and column.scale is not None, column.name
    integer_digits = column.precision - column.scale
    decimals = rf"(\.[0-9]{{0,{column.scale}}}0*)?" if column.scale else r"(\.0*)?"
    return rf" *[+-]?0*([0-9]{{1,{integer_digits}}}{decimals}|\.[0-9]{{1,{max(column.scale, 1)}}}0*) *"


def insert_rejected_rows(con: duckdb.DuckDBPyConnection, read: ReconFileRead, period: BillingPeriod) -> None:
    """Both kinds of rejected lines into raw.rejected_rows, with their file line numbers and the
    file's header (which field of the line is which: its amounts as written, after the file is gone)."""
    header = list(read.recognised.header)
    lineage = [period.start, read.scanned.name, read.kind.value, read.scanned.sha256, header]
    con.execute(
        f"""
        INSERT INTO {REJECTED_ROWS} ({REJECTED_ROWS_COLUMNS})
        SELECT ?::DATE, ?, ?, line_number, column_name, reason, raw_line, ?, ?::VARCHAR[]
        FROM ({read.rejected_rows_sql()})
        """,
        lineage,
    )
    if not read.value_problems:
        return
    problems = con.execute(
        f"""
        SELECT {read.file_line_sql("lines.source_line")}, problems.column_name, problems.reason
        FROM {read.problems} AS problems
        JOIN ({read.line_numbers_sql()}) AS lines ON lines.record = problems.record
        ORDER BY 1
        """
    ).fetchall()
    if problems:
        raw_lines = _raw_lines(read.scanned, {line for line, _, _ in problems})
        con.executemany(
            f"INSERT INTO {REJECTED_ROWS} ({REJECTED_ROWS_COLUMNS}) VALUES (?::DATE, ?, ?, ?, ?, ?, ?, ?, ?::VARCHAR[])",
            [
                [
                    period.start,
                    read.scanned.name,
                    read.kind.value,
                    line,
                    column,
                    reason,
                    raw_lines.get(line),
                    read.scanned.sha256,
                    header,
                ]
                for line, column, reason in problems
            ],
        )


def _raw_lines(scanned: ScannedFile, wanted: set[int]) -> dict[int, str]:
    """The whole record starting at each wanted file line, as written. Lines end at line feeds
    only, as the file's lines are counted: a carriage return inside a quoted value stays in its
    value, and a record whose quoted value holds a line break is kept with its next lines."""
    found: dict[int, str] = {}
    last = max(wanted)
    record: list[str] = []
    start = 0
    with scanned.readable_path.open("r", encoding="utf-8-sig", newline="\n") as source:
        for number, line in enumerate(source, start=1):
            if record:
                record.append(line)
            elif number in wanted:
                start, record = number, [line]
            else:
                if number >= last:
                    break
                continue
            text = "".join(record)
            if text.count('"') % 2 == 0 or len(text) > MAX_LINE_BYTES:  # the quoted values are closed
                found[start] = text.rstrip("\r\n")
                record = []
                if number >= last:
                    break
    if record:  # a quote the file never closes: what there is
        found[start] = "".join(record).rstrip("\r\n")
    return found
