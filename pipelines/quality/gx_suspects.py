"""The rows of a big month that an expectation could fail on, so that a sample still shows them.

A month above `SAMPLE_ROWS` is validated on a random sample, and one bad line among millions
would almost never be drawn. So each row-wise expectation of the suite is also written as a SQL
condition that holds on every row it could fail on (a NULL, a value outside the set or the
range, a text not matching the pattern, a repeated key); the rows meeting any of them join the
sample. SQL only chooses which rows Great Expectations sees: the verdict, and the sentence for
the clerk, stay Great Expectations'. A condition may pick rows that pass (a strict bound is
written as an inclusive one, say): they are validated like the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.sql import quote_identifier

# At most this many suspect rows join the sample: enough to name every failure the clerk reads,
# bounded when a whole file is wrong.
SUSPECT_ROWS = 10_000


def suspect_condition(expectations: Iterable[dict], query: str, available: set[str]) -> tuple[str, dict[str, Any]]:
    """A SQL condition over the suite query's rows (`query`, with `$month`) true on every row one
    of `expectations` could fail on, and its parameters; `false` when none is row-wise."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for position, expectation in enumerate(expectations):
        kwargs, kind = expectation["kwargs"], expectation["type"]
        if kind == "expect_compound_columns_to_be_unique":
            names = list(kwargs.get("column_list") or [])
            if names and set(names) <= available:
                conditions.append(_repeated(names, query))
            continue
        column = kwargs.get("column")
        if column not in available:
            continue
        name = quote_identifier(column)
        key = f"suspect_{position}"
        if kind == "expect_column_values_to_not_be_null":
            conditions.append(f"{name} IS NULL")
        elif kind == "expect_column_values_to_match_regex":
            params[key] = kwargs["regex"]
            conditions.append(f"({name} IS NOT NULL AND NOT regexp_matches({name}::VARCHAR, ${key}))")
        elif kind == "expect_column_values_to_be_in_set":
            params[key] = list(kwargs["value_set"])
            conditions.append(f"({name} IS NOT NULL AND NOT list_contains(${key}, {name}))")
        elif kind == "expect_column_values_to_be_between":
            bounds = []
            for bound, strict, below in (("min_value", "strict_min", True), ("max_value", "strict_max", False)):
                if kwargs.get(bound) is not None:
                    operator = ("<" if below else ">") + ("=" if kwargs.get(strict) else "")
                    params[f"{key}_{bound}"] = kwargs[bound]
                    bounds.append(f"{name} {operator} ${key}_{bound}")
            if bounds:
                conditions.append(f"({' OR '.join(bounds)})")
        elif kind == "expect_column_values_to_be_unique":
            conditions.append(_repeated([column], query))
    return (" OR ".join(conditions) or "false"), params


def _repeated(columns: list[str], query: str) -> str:
    names = ", ".join(quote_identifier(column) for column in columns)
    return f"({names}) IN (SELECT ({names}) FROM ({query}) GROUP BY ALL HAVING count(*) > 1)"
