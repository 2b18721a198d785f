"""Partner Center dates in SQL: US M/D/YYYY or ISO 8601, and D/M files told apart from them.

A file re-saved by Excel in a European locale writes 13/10/2026 for 13 October; loaded as
M/D, its days up to 12 would become wrong months without a word. Such a file is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from pipelines.formats import (
    COLUMNS_BY_KIND,
    FRACTION_TAIL_PATTERN,
    ISO_DATETIME_FORMATS,
    ISO_OFFSET_PATTERN,
    ISO_TAIL_PATTERN,
    MAX_OFFSET_MINUTES,
    NULL_DATE_PATTERN,
    US_DATETIME,
    US_DATETIME_FORMATS,
)
from pipelines.ingest.errors import IngestError
from pipelines.periods import BillingPeriod
from pipelines.sql import one_row

if TYPE_CHECKING:  # recon_csv builds its SQL from this module
    from pipelines.ingest.recon_csv import ReconFileRead


def _formats_sql(formats: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{fmt}'" for fmt in formats) + "]"


_US_FORMATS_SQL = _formats_sql(US_DATETIME_FORMATS)
_ISO_FORMATS_SQL = _formats_sql(ISO_DATETIME_FORMATS)
# Swapped day and month: how a D/M value reads when taken for what it is.
_DAY_FIRST_FORMATS_SQL = _formats_sql(tuple(fmt.replace("%m/%d", "%d/%m") for fmt in US_DATETIME_FORMATS))
# What to do with a file saved day first.
DAY_FIRST_FIX = (
    "download the file again from Partner Center and do not open and save it in Excel "
    "(or import it in Excel with the Date:MDY option)"
)
# Day first for sure: the first number cannot be a month.
_ONLY_DAY_FIRST = r"(1[3-9]|2[0-9]|3[01])/(0?[1-9]|1[0-2])/[0-9]{4}( .*)?"
# Month first for sure: the second number cannot be a month.
_ONLY_MONTH_FIRST = r"(0?[1-9]|1[0-2])/(1[3-9]|2[0-9]|3[01])/[0-9]{4}( .*)?"


def null_date_sql(column_sql: str) -> str:
    return f"regexp_full_match({column_sql}, '{NULL_DATE_PATTERN}')"


def _utc_from_offset_sql(column_sql: str) -> str:
    """An ISO date-time with a UTC offset, as the UTC TIMESTAMP (parse_partner_datetime's rule);
    NULL when the offset is out of range. Arithmetic on the parts: no time zone setting involved."""

    def part(group: int) -> str:
        return f"regexp_extract({column_sql}, '{ISO_OFFSET_PATTERN}', {group})"

    hours, minutes = f"CAST({part(3)} AS INTEGER)", f"CAST({part(4)} AS INTEGER)"
    shift = f"({hours} * 60 + {minutes})"
    local = f"regexp_replace({part(1)}, '{FRACTION_TAIL_PATTERN}', '\\1')"
    return (
        f"CASE WHEN {minutes} < 60 AND {shift} <= {MAX_OFFSET_MINUTES} "
        f"THEN try_strptime({local}, {_ISO_FORMATS_SQL}) "
        f"- to_minutes(CASE WHEN {part(2)} = '+' THEN {shift} ELSE -{shift} END) END"
    )


def datetime_sql(column_sql: str) -> str:
    """A Partner Center date or date-time text as a TIMESTAMP; NULL when it is Microsoft's null
    date (0001-01-01) or no date at all (the value check tells the two apart). US text is
    settled by its slash before any regular expression runs: most files hold nothing else. An
    ISO time with a UTC offset is converted to UTC."""
    return (
        f"CASE WHEN contains({column_sql}, '/') THEN try_strptime({column_sql}, {_US_FORMATS_SQL}) "
        f"WHEN regexp_full_match({column_sql}, '{ISO_OFFSET_PATTERN}') THEN {_utc_from_offset_sql(column_sql)} "
        f"WHEN NOT {null_date_sql(column_sql)} "
        f"THEN try_strptime(regexp_replace({column_sql}, '{ISO_TAIL_PATTERN}', '\\1'), {_ISO_FORMATS_SQL}) END"
    )


def date_problem_sql(column_sql: str) -> str:
    """True when the text is neither a date nor Microsoft's null date."""
    return f"{column_sql} IS NOT NULL AND {datetime_sql(column_sql)} IS NULL AND NOT {null_date_sql(column_sql)}"


def refuse_day_first_dates(con: duckdb.DuckDBPyConnection, read: ReconFileRead) -> None:
    """Stop the month when the file writes its dates day first: in a file with no value that is
    month first for sure (second number above 12), a value whose first number is above 12, or a
    charge that ends before it starts as M/D but not as D/M. A single odd value in a file of M/D
    dates is only a bad line, rejected by the value checks."""
    present = {column.name: column for column in read.recognised.positions if column is not None}
    dates = [column for column in COLUMNS_BY_KIND[read.kind] if column.type == US_DATETIME and column.name in present]
    if not dates:
        return
    header_of = {
        column.name: header for header, column in zip(read.recognised.header, read.recognised.positions) if column
    }
    month_first = " OR ".join(f"regexp_full_match({c.sql_name}, '{_ONLY_MONTH_FIRST}')" for c in dates)
    if con.execute(f"SELECT 1 FROM {read.table} WHERE {month_first} LIMIT 1").fetchone() is not None:
        return
    day_first = [f"regexp_full_match({c.sql_name}, '{_ONLY_DAY_FIRST}')" for c in dates]
    which = (
        "CASE "
        + " ".join(f"WHEN {match} THEN ['{c.name}', {c.sql_name}]" for match, c in zip(day_first, dates))
        + " END"
    )
    found = _first_line(con, read, " OR ".join(day_first), which)
    if found is None and {"ChargeStartDate", "ChargeEndDate"} <= present.keys():
        start, end = "charge_start_date", "charge_end_date"
        swapped_start, swapped_end = (f"try_strptime({c}, {_DAY_FIRST_FORMATS_SQL})" for c in (start, end))
        pair = (
            f"try_strptime({end}, {_US_FORMATS_SQL}) < try_strptime({start}, {_US_FORMATS_SQL}) "
            f"AND {swapped_end} >= {swapped_start}"
        )
        found = _first_line(con, read, pair, f"['ChargeEndDate', {end}]")
    if found is None:
        return
    line, column, value = found
    raise _day_first(
        read,
        line,
        header_of[column],
        f"{header_of[column]} is '{value}', a date written day first (D/M/YYYY); Partner Center writes M/D/YYYY",
    )


def refuse_day_first_period(con: duckdb.DuckDBPyConnection, read: ReconFileRead, period: BillingPeriod) -> None:
    """Stop the month when a file's charges lie in the month [start, next start) only if its dates are
    read day first: every charge of the file is in the month read D/M, and some are not read M/D.
    Such a file has no day above 12 (refuse_day_first_dates finds those): without this, it would
    load with its charges moved to other months, without a word."""
    present = {column.name for column in read.recognised.positions if column is not None}
    if not {"ChargeStartDate", "ChargeEndDate"} <= present:
        return
    header_of = {
        column.name: header for header, column in zip(read.recognised.header, read.recognised.positions) if column
    }
    begins, ends = "charge_start_date", "charge_end_date"
    month_first = [f"try_strptime({c}, {_US_FORMATS_SQL})" for c in (begins, ends)]
    day_first = [f"try_strptime({c}, {_DAY_FIRST_FORMATS_SQL})" for c in (begins, ends)]
    bounds = f"TIMESTAMP '{period.start.isoformat()}'", f"TIMESTAMP '{period.next_start.isoformat()}'"
    in_month_day_first = f"coalesce({day_first[0]} < {bounds[1]} AND {day_first[1]} >= {bounds[0]}, false)"
    in_month_month_first = f"coalesce({month_first[0]} < {bounds[1]} AND {month_first[1]} >= {bounds[0]}, false)"
    lines, only_day_first, day_first_in_month = one_row(
        con,
        f"""SELECT count(*), count(*) FILTER (WHERE {in_month_day_first} AND NOT {in_month_month_first}),
                   count(*) FILTER (WHERE {in_month_day_first})
            FROM {read.table} WHERE {begins} IS NOT NULL OR {ends} IS NOT NULL""",
    )
    if not lines or not only_day_first or day_first_in_month < lines:
        return
    found = _first_line(
        con,
        read,
        f"{in_month_day_first} AND NOT {in_month_month_first}",
        f"['ChargeStartDate', {begins} || ' to ' || {ends}]",
    )
    if found is None:
        return
    line, _, value = found
    raise _day_first(
        read,
        line,
        header_of["ChargeStartDate"],
        f"the charge from {value} is outside {period} when read month first (M/D/YYYY, as Partner Center writes), "
        f"and every charge of the file is inside {period} only when read day first: its dates look written day "
        "first (D/M/YYYY)",
    )


def _day_first(read: ReconFileRead, line: int, column: str, what: str) -> IngestError:
    return IngestError(
        read.scanned.name,
        f"{what}, and loading it would turn days into months",
        DAY_FIRST_FIX,
        line=line,
        column=column,
    )


def _first_line(
    con: duckdb.DuckDBPyConnection, read: ReconFileRead, condition: str, which: str
) -> tuple[int, str, str] | None:
    """File line of the first record meeting `condition`, and the [column, value] `which` names."""
    row = con.execute(
        f"""
        SELECT {read.file_line_sql("lines.source_line")}, {which}
        FROM {read.table} AS accepted JOIN ({read.line_numbers_sql()}) AS lines ON lines.record = accepted.rowid
        WHERE {condition}
        ORDER BY lines.source_line LIMIT 1
        """
    ).fetchone()
    return None if row is None else (row[0], row[1][0], row[1][1])
