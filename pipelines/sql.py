"""The ways the pipeline reads query results (one value, rows as dicts by column name), and
quoting for the SQL it writes (identifiers and literals where no parameter is allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    """The first column of the first row (every query passed here returns one row: an aggregate)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {sql}")
    return row[0]


def records(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> list[dict[str, Any]]:
    """Every row as {column name: value}."""
    cursor = con.execute(sql, params)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...]:
    """The one row of an aggregate query."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {sql}")
    return row


def quote_identifier(name: str) -> str:
    """A column or table name as a DuckDB identifier, double quotes doubled (`a"b` -> `"a""b"`)."""
    return '"' + name.replace('"', '""') + '"'


def string_literal(value: object) -> str:
    """A value as a DuckDB string literal, single quotes doubled: for what takes no parameter
    (COPY's target path, a regular expression inlined in a view)."""
    return "'" + str(value).replace("'", "''") + "'"
