"""What the daily rated usage file needs beyond the reading every reconciliation file gets.

The file is read by the same streaming DuckDB reader as the invoice reconciliation file (every
value as text, checked, cast only where nothing is lost). Three of its columns are special:

- The two percentages come on two scales: `PartnerEarnedCreditPercentage` 15 and
  `CreditPercentage` 100 in the portal's CSV, `rateOfPartnerEarnedCredit` 0.15 and `rateOfCredit`
  1.00 under the renamed headers (recon-formats.md §6). Both are stored on the 0..100 scale; a
  value outside its header's scale (15 under `rateOfCredit`) is a rejected line, said so.
- `Tags` is "JSON-ish" (§5): Microsoft writes a JSON object, an object without its braces
  (`"env": "prod"`), or nothing. An object, braced or not, is stored as that object; a blank
  value as NULL; any other text as a JSON string holding the text exactly as written, so the
  line (and its cost) still loads and nothing of it is lost; grouping by a tag key finds no key
  in it.
- `AdditionalInfo` is a JSON string (§5): a value that is not JSON rejects the line.

A month whose landing folder holds only unbilled daily files (blank InvoiceNumber: Microsoft
has not invoiced it yet) is the open month: its rows load without an invoice summary, and no
customer invoice is made from them.
"""

from __future__ import annotations

import duckdb

from pipelines.formats import DAILY_USAGE_RATE_HEADERS, Column, FileKind, header_key
from pipelines.ingest.schema import FILE_MANIFEST
from pipelines.periods import BillingPeriod

PERCENTAGE_COLUMNS = ("PartnerEarnedCreditPercentage", "CreditPercentage")
PERCENT_SCALE = 100  # stored scale: 15 for 15 %
LENIENT_JSON_COLUMNS = ("Tags",)
CURRENCY_COLUMN = "billing_currency"


def percentage_factor(header: str) -> int:
    """What a percentage written under `header` is multiplied by to be on the 0..100 scale."""
    return DAILY_USAGE_RATE_HEADERS.get(header_key(header), 1)


def value_sql(column: Column, header: str) -> str | None:
    """The stored value of a daily-file column that is not loaded as written; None otherwise."""
    value = column.sql_name
    if column.name in PERCENTAGE_COLUMNS:
        factor = percentage_factor(header)
        cast = f"CAST({value} AS {column.type})"
        return cast if factor == 1 else f"CAST({cast} * {factor} AS {column.type})"
    if column.name in LENIENT_JSON_COLUMNS:
        braced = f"'{{' || {value} || '}}'"
        return (
            f"CASE WHEN {value} IS NULL OR trim({value}) = '' THEN NULL "
            f"WHEN json_valid({value}) THEN CAST({value} AS JSON) "
            f"WHEN json_valid({braced}) THEN CAST({braced} AS JSON) "
            f"ELSE to_json({value}) END"
        )
    return None


def value_checks(column: Column, header: str, label: str) -> list[str] | None:
    """WHEN clauses checked before a column's usual ones (first match wins); None to keep only
    the usual ones. `label` is the header as SQL text (quotes doubled)."""
    value = column.sql_name
    shown = f"'{label} is ''' || {value} || ''', which "
    if column.name in PERCENTAGE_COLUMNS:
        top = PERCENT_SCALE // percentage_factor(header)
        if top == 1:
            scale = "a rate from 0 to 1 (this column writes 15 % as 0.15)"
        else:
            scale = f"a percentage from 0 to {top} (this column writes 15 % as 15)"
        return [
            f"WHEN try_cast({value} AS DECIMAL(38, 18)) NOT BETWEEN 0 AND {top} "
            f"THEN ['{label}', {shown}is outside its scale: {scale}']"
        ]
    return None


def skips_json_check(column: Column) -> bool:
    return column.name in LENIENT_JSON_COLUMNS


# The reason of a rejected AdditionalInfo, after "AdditionalInfo is '...', which ".
JSON_PROBLEM = 'is not valid JSON (Partner Center writes an object such as {"ServiceType": "Standard_B1s"})'


def billed_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Lines of a read daily file that carry an invoice number (billed usage)."""
    return con.execute(f"SELECT count(*) FROM {table} WHERE nullif(trim(invoice_number), '') IS NOT NULL").fetchone()[0]


def open_month_sentence(period: BillingPeriod) -> str:
    return f"{period} is open: month-to-date usage loaded, no invoice yet"


def is_open_month(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> bool:
    """The month as loaded holds only unbilled daily rated usage: files were loaded, every one a
    daily file without an invoice number, and no invoice summary or reconciliation file."""
    kinds = con.execute(
        f"""SELECT count(*), count(*) FILTER (file_kind = ? AND invoice_number IS NULL)
            FROM {FILE_MANIFEST} WHERE billing_period = ? AND status = 'loaded'""",
        [FileKind.DAILY_USAGE.value, period.start],
    ).fetchone()
    return kinds[0] > 0 and kinds[0] == kinds[1]
