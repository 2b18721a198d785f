"""A failed Great Expectations expectation in a billing clerk's words: which file, which lines,
which column (by its Partner Center header) and what it holds, e.g.

    file 'x.csv', lines 12, 40 and 7 more: Currency is 'eur1', which is not a 3-letter currency code

Each expectation may say what its rule means in `meta.means` (in `expectations/*.json`); the
sentence falls back on a plain reading of the expectation's own arguments.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.formats import COLUMNS_BY_KIND
from pipelines.ingest.schema import RAW_TABLES

LINES_SHOWN = 2  # "lines 12, 40 and 7 more"
VALUES_SHOWN = 3
FILES_SHOWN = 3


# A failure, as `gx_suites.validate` records it: expectation, column, kwargs, means (its
# `meta.means`), unexpected_count, examples, observed, and rows: (source file, source line,
# value) of each failing row when the rows carry their lineage.
Failure = dict


def header_names(table: str) -> dict[str, str]:
    """Warehouse column -> Partner Center header, for the raw table of a file kind."""
    for kind, raw_table in RAW_TABLES.items():
        if raw_table == table:
            return {column.sql_name: column.name for column in COLUMNS_BY_KIND[kind]}
    return {}


def _quoted(values: list[str]) -> str:
    distinct = list(dict.fromkeys(values))
    shown = " or ".join(f"'{value}'" for value in distinct[:VALUES_SHOWN])
    return shown + (f" (and {len(distinct) - VALUES_SHOWN} other values)" if len(distinct) > VALUES_SHOWN else "")


def what_is_wrong(failure: Failure, values: list[str], names: dict[str, str]) -> str:
    """The rule broken, for the values given (those of one file, or the examples)."""
    named = failure["column"]
    column = ", ".join(str(names.get(c, c)) for c in named) if isinstance(named, list) else names.get(named, named)
    kind, kwargs, means = failure["expectation"], failure["kwargs"], failure["means"]
    if kind == "expect_column_values_to_not_be_null":
        return f"{column} is empty" + (f" ({means})" if means else "")
    if kind == "expect_column_values_to_match_regex":
        return f"{column} is {_quoted(values)}, which is not {means or 'in the expected form'}"
    if kind == "expect_column_values_to_be_between":
        bounds = means or "outside " + " to ".join(
            str(kwargs[k]) for k in ("min_value", "max_value") if kwargs.get(k) is not None
        )
        return f"{column} is {_quoted(values)}, {bounds}"
    if kind == "expect_column_values_to_be_in_set":
        if means:
            return means
        return f"{column} is {_quoted(values)}, which is not one of {', '.join(repr(v) for v in kwargs.get('value_set', []))}"
    if kind == "expect_column_values_to_be_unique":
        return f"{column} {_quoted(values)} is on more than one line" + (f" ({means})" if means else "")
    if kind == "expect_compound_columns_to_be_unique":
        columns = ", ".join(names.get(c, c) for c in kwargs.get("column_list", []))
        return means or f"the combination of {columns} is on more than one line"
    if kind == "expect_table_columns_to_match_set":
        return means or f"the table's columns are not the expected ones ({failure['observed']})"
    return means or f"{column} fails {kind.removeprefix('expect_').replace('_', ' ')}"


def _lines(numbers: list[int]) -> str:
    ordered = sorted(set(numbers))
    if len(ordered) == 1:
        return f"line {ordered[0]}"
    shown = ", ".join(str(n) for n in ordered[:LINES_SHOWN])
    rest = len(ordered) - LINES_SHOWN
    return f"lines {shown} and {rest} more" if rest > 0 else f"lines {' and '.join(str(n) for n in ordered)}"


def failure_sentence(failure: Failure, table: str) -> str:
    """One sentence per file the failing rows come from (the files with most first)."""
    names = header_names(table)
    if not failure["rows"]:
        count = failure["unexpected_count"]
        return (f"{count:,} row(s): " if count else "") + what_is_wrong(failure, failure["examples"], names)
    by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for file_name, line, value in failure["rows"]:
        by_file[file_name].append((line, value))
    ordered = sorted(by_file.items(), key=lambda item: (-len(item[1]), item[0]))
    parts = [
        f"file '{name}', {_lines([line for line, _ in rows])}: {what_is_wrong(failure, [value for _, value in rows], names)}"
        for name, rows in ordered[:FILES_SHOWN]
    ]
    more = f"; and {len(ordered) - FILES_SHOWN} more file(s)" if len(ordered) > FILES_SHOWN else ""
    return "; ".join(parts) + more
