"""Azure usage on the customer's invoice: its lines grouped as the customer chose, and the usage
detail attachment (CSV and XLSX) beside the invoice, whose amounts add up to those lines.

Both read `marts.azure_daily_usage`, where each invoiced Azure plan line is already shared over
the daily rows to the cent and each row carries the invoice line it belongs to
(`invoice_group`, from the customer's `azure_grouping`). A customer without billed daily rows
for the month has no rows there and keeps its Azure lines per product. The attachment shows the
customer's prices only: never Microsoft's cost, the margin or the pricing rule.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.invoicing.model import InvoiceLine
from pipelines.invoicing.safety import CSV_FORMULA_PATTERN
from pipelines.periods import BillingPeriod

AZURE_DETAIL = "marts.azure_daily_usage"
AZURE_PLAN_SOURCE = "azure_plan"
# Rows that are on the invoice: shares of an Azure plan line, and lines the daily file lacks.
INVOICED_STATUSES = ("billed", "not_itemised")
ATTACHMENT_SUFFIX = "-azure-usage"
ATTACHMENT_KINDS = ("csv", "xlsx")
SHEET_NAME = "Azure usage"

# (header, mart column) of the attachment, in order; `amount` is the customer's price.
ATTACHMENT_COLUMNS = (
    ("billing_period", "billing_period"),
    ("customer_id", "customer_id"),
    ("customer_name", "customer_name"),
    ("currency", "currency"),
    ("invoice_line", "invoice_group"),
    ("usage_date", "usage_date"),
    ("azure_subscription_id", "entitlement_id"),
    ("azure_subscription_name", "entitlement_description"),
    ("resource_group", "resource_group"),
    ("service", "meter_category"),
    ("meter", "meter_name"),
    ("meter_sub_category", "meter_sub_category"),
    ("region", "meter_region"),
    ("product", "product_name"),
    ("unit", "unit"),
    ("quantity", "quantity"),
    ("tags", "tags"),
    ("amount", "billed_pretax"),
)
TEXT_HEADERS = tuple(
    header for header, _ in ATTACHMENT_COLUMNS if header not in ("billing_period", "usage_date", "quantity", "amount")
)


@dataclass(frozen=True)
class UsageDetail:
    """One customer's invoiced Azure rows of the month: the attachment as a table (attachment
    column order, text made inert for spreadsheets, amounts exact decimals)."""

    customer_id: str
    frame: pl.DataFrame

    def in_currency(self, currency: str) -> UsageDetail:
        return UsageDetail(self.customer_id, self.frame.filter(pl.col("currency") == currency))

    @property
    def total(self) -> Decimal:
        return Decimal(self.frame["amount"].sum() or 0)


def has_azure_detail(con: duckdb.DuckDBPyConnection) -> bool:
    schema, table = AZURE_DETAIL.split(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()
    return bool(found[0])


def load_azure_lines(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dict[tuple[str, str], list[InvoiceLine]]:
    """Per (customer, currency) itemised this month: one invoice line per invoice_group, sorted."""
    if not has_azure_detail(con):
        return {}
    found = con.execute(
        f"""SELECT customer_id, currency, invoice_group, sum(billed_pretax)::DECIMAL(28, 2)
            FROM {AZURE_DETAIL}
            WHERE billing_period = ? AND line_status IN ({", ".join("?" for _ in INVOICED_STATUSES)})
            GROUP BY ALL ORDER BY customer_id, currency, invoice_group""",
        [period.start, *INVOICED_STATUSES],
    ).fetchall()
    lines: dict[tuple[str, str], list[InvoiceLine]] = defaultdict(list)
    for customer_id, currency, group, amount in found:
        lines[(str(customer_id).lower(), currency)].append(
            InvoiceLine(
                description=str(group),
                quantity=None,
                unit_price=None,
                amount=amount,
                period_start=period.start,
                period_end=period.end,
            )
        )
    return dict(lines)


def load_usage_details(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, customer_ids: Iterable[str] | None = None
) -> dict[str, UsageDetail]:
    """Every itemised customer's invoiced Azure rows of the month (or only `customer_ids`'),
    read through Arrow, so DECIMAL stays exact and no row becomes a Python object."""
    if not has_azure_detail(con):
        return {}
    columns = ", ".join(
        f"{column}::VARCHAR AS {header}" if column == "tags" else f"{column} AS {header}"
        for header, column in ATTACHMENT_COLUMNS
    )
    wanted = sorted({customer_id.lower() for customer_id in customer_ids}) if customer_ids is not None else None
    only = "AND lower(customer_id) IN (SELECT unnest(?::VARCHAR[]))" if wanted is not None else ""
    with con.cursor() as cursor:  # a fresh cursor: Arrow output needs no other result pending
        frame = cursor.sql(
            f"""SELECT {columns} FROM {AZURE_DETAIL}
                WHERE billing_period = ? AND line_status IN ({", ".join("?" for _ in INVOICED_STATUSES)}) {only}
                ORDER BY customer_id, currency, invoice_group, usage_date NULLS LAST, entitlement_id, resource_group, meter_category,
                         meter_name, product_name, tags::VARCHAR""",
            params=[period.start, *INVOICED_STATUSES, *([wanted] if wanted is not None else [])],
        ).pl()
    inert = _inert_attachment(frame)
    return {
        str(key[0]).lower(): UsageDetail(str(key[0]).lower(), part)
        for key, part in inert.partition_by("customer_id", as_dict=True, maintain_order=True).items()
    }


def _inert_attachment(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would read as a formula quoted (as `csv_safe_cell` does), and
    quantities written without trailing zeros (as `plain_number` does)."""
    quantity = pl.col("quantity").cast(pl.String)
    return frame.with_columns(
        *(
            pl.when(pl.col(header).cast(pl.String).str.contains(CSV_FORMULA_PATTERN))
            .then(pl.lit("'") + pl.col(header).cast(pl.String))
            .otherwise(pl.col(header).cast(pl.String))
            .alias(header)
            for header in TEXT_HEADERS
        ),
        pl.when(quantity.str.contains(r"\."))
        .then(quantity.str.replace(r"0+$", "").str.replace(r"\.$", ""))
        .otherwise(quantity)
        .alias("quantity"),
        pl.col("amount").cast(pl.Decimal(28, 2)),
    )


def attachment_files(detail: UsageDetail) -> dict[str, bytes]:
    """{"csv": ..., "xlsx": ...}: CSV as the invoices' (UTF-8 with BOM, CRLF), XLSX one sheet."""
    frame = detail.frame
    csv_bytes = frame.write_csv(include_bom=True, line_terminator="\r\n").encode("utf-8")
    workbook = io.BytesIO()
    frame.write_excel(workbook, worksheet=SHEET_NAME, autofit=True)
    return {"csv": csv_bytes, "xlsx": workbook.getvalue()}


def attachment_name(file_stem: str, kind: str) -> str:
    return f"{file_stem}{ATTACHMENT_SUFFIX}.{kind}"
