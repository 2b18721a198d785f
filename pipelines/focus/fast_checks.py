"""The row rules of `checks.py` on a whole file at once, in DuckDB: is any row possibly wrong, and
what does BilledCost add up to per invoice.

A month at the daily file's grain has millions of FOCUS rows; reading each into Python to find
none wrong cost a minute. Here each row rule is a SQL condition true on every row the Python rule
could reject (it may also be true on a row the rule accepts: an amount written `+1.0`, say). When
no row meets any condition, the file keeps the row rules and only the sums are compared; when one
does, `check_file` reads the file row by row to name each row and column as before. The sums are
exact: DECIMAL(38, 18) in SQL, then given the scale Python's Decimal addition would have (the
largest of the amounts' own), so a sentence reads the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.focus.datasets import BILLING_PERIOD_STATUSES, CHARGE_CATEGORIES, TAX
from pipelines.focus.files import PARQUET_SUFFIX, parquet_columns, text_expression
from pipelines.sql import quote_identifier, string_literal

# An amount these match is a decimal Python reads exactly, without exponent; 18 places at most.
PLAIN_DECIMAL = r"-?[0-9]+(\.[0-9]{1,18})?"
# What `str.strip()` would leave empty.
BLANK = r"[\s\x{0b}\p{Z}]*"

InvoiceKey = tuple[str, ...]
Sums = tuple[dict[InvoiceKey, Decimal], dict[InvoiceKey, Decimal]]
PeriodRule = Callable[[str, str, str, str], tuple[str, ...]]


@dataclass(frozen=True)
class RowRules:
    """What `check_file` asks of every row, for the columns the file has."""

    not_null: Sequence[str]
    money: Sequence[str]
    key_columns: Sequence[str]
    period_pairs: Sequence[tuple[str, str]]
    period_problems: PeriodRule  # the Python rule for one period: (start column, end column, start, end)


def sums_if_every_row_keeps_the_rules(path: Path, header: Sequence[str], rules: RowRules) -> Sums | None:
    """(pre-tax, tax) BilledCost per invoice key when no row can break a row rule; None when one
    may, or DuckDB reads the file otherwise than a CSV reader would (a ragged row): the caller
    then reads the rows. One scan of the file answers all three: each invoice key's sums, whether
    any of its rows is suspect, and the distinct periods its rows name."""
    pairs = [(start, end) for start, end in rules.period_pairs if start in header and end in header]
    try:
        with duckdb.connect() as con:
            groups = con.execute(_per_invoice_sql(con, path, header, rules, pairs)).fetchall()
    except duckdb.Error:
        return None
    keys = len(rules.key_columns)
    if any(group[-1] for group in groups):  # a row is suspect
        return None
    for index, (start_column, end_column) in enumerate(pairs):
        periods = {tuple(period) for group in groups for period in group[keys + 3 + index] or ()}
        if any(rules.period_problems(start_column, end_column, *period) for period in periods):
            return None
    pretax: dict[InvoiceKey, Decimal] = {}
    tax: dict[InvoiceKey, Decimal] = {}
    for group in groups:
        taxed, total, places = group[keys : keys + 3]
        (tax if taxed else pretax)[tuple(group[:keys])] = Decimal(total).quantize(Decimal(1).scaleb(-places))
    return pretax, tax


def _per_invoice_sql(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    header: Sequence[str],
    rules: RowRules,
    pairs: Sequence[tuple[str, str]],
) -> str:
    """Per invoice key and tax or not: the exact BilledCost sum and its decimal places, the
    distinct (start, end) of each period pair (a month has a few hundred), and last whether any
    row is suspect."""
    keys = [quote_identifier(c) if c in header else "''" for c in rules.key_columns]
    is_tax = f'"ChargeCategory" = {string_literal(TAX)}' if "ChargeCategory" in header else "false"
    amount = '"BilledCost"' if "BilledCost" in header else "''"
    periods = "".join(
        f"list(DISTINCT [{start}, {end}]) FILTER (WHERE {start} <> '' AND {end} <> ''), "
        for start, end in ((quote_identifier(a), quote_identifier(b)) for a, b in pairs)
    )
    return f"""
        SELECT {", ".join(keys)}, {is_tax} AS tax,
               coalesce(sum(CASE WHEN {amount} = '' THEN 0 ELSE try_cast({amount} AS DECIMAL(38, 18)) END), 0)::VARCHAR,
               coalesce(max(CASE WHEN {amount} LIKE '%.%' THEN length(split_part({amount}, '.', 2)) ELSE 0 END), 0),
               {periods}bool_or({_suspect_sql(header, rules)})
        FROM ({_as_text(con, path, header)}) AS cells
        GROUP BY ALL"""


def _as_text(con: duckdb.DuckDBPyConnection, path: Path, header: Sequence[str]) -> str:
    """The file as the text cells a CSV reader gets ('' for an empty cell), every column VARCHAR."""
    if path.suffix == PARQUET_SUFFIX:
        cells = ", ".join(
            f"coalesce({text_expression(name, sql_type, guard=False)}, '') AS {quote_identifier(name)}"
            for name, sql_type in parquet_columns(con, path)
        )
        return f"SELECT {cells} FROM read_parquet({string_literal(path)})"
    cells = ", ".join(f"coalesce({quote_identifier(name)}, '') AS {quote_identifier(name)}" for name in header)
    types = ", ".join(f"{string_literal(name)}: 'VARCHAR'" for name in header)
    options = f"header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = {{{types}}}"
    return f"SELECT {cells} FROM read_csv({string_literal(path)}, {options})"


def _suspect_sql(header: Sequence[str], rules: RowRules) -> str:
    """True on every row a row rule could reject (and perhaps on a few it accepts)."""
    conditions = [
        f"regexp_full_match({quote_identifier(c)}, {string_literal(BLANK)})" for c in rules.not_null if c in header
    ]
    conditions += [
        f"({quote_identifier(c)} <> '' AND NOT regexp_full_match({quote_identifier(c)}, {string_literal(PLAIN_DECIMAL)}))"
        for c in rules.money
        if c in header
    ]
    if "ChargeCategory" in header:
        conditions.append(f'("ChargeCategory" <> \'\' AND "ChargeCategory" NOT IN ({_listed(CHARGE_CATEGORIES)}))')
    if "BillingPeriodStatus" in header:
        conditions.append(f'"BillingPeriodStatus" NOT IN ({_listed(BILLING_PERIOD_STATUSES)})')
    if "BilledCost" in header:  # summed: only plain decimals, or empty (counted as 0)
        conditions.append(
            f'("BilledCost" <> \'\' AND NOT regexp_full_match("BilledCost", {string_literal(PLAIN_DECIMAL)}))'
        )
    return " OR ".join(conditions) or "false"


def _listed(values: Sequence[str]) -> str:
    return ", ".join(string_literal(value) for value in values)
