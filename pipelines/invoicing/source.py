"""Read one month's invoices from the warehouse, keeping every amount a Decimal.

Totals and VAT come from `marts.customer_monthly` (the one place tax is computed); the lines
from `marts.fct_charges` and `marts.service_charges_monthly`, grouped here by
product, implied unit price and service period, so every printed unit price is one Microsoft's
charge actually implies (never an average of mixed lines). DuckDB's `.df()` turns DECIMAL into
float, so rows are fetched with `fetchall()`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import duckdb

from pipelines.config import PartnerProfile
from pipelines.invoicing.azure_detail import AZURE_PLAN_SOURCE, load_azure_lines
from pipelines.invoicing.model import (
    MONEY_COLUMNS,
    BlockedCustomer,
    Buyer,
    CurrencyInvoice,
    CustomerInvoice,
    InvoiceDataError,
    InvoiceLine,
    MonthInvoices,
)
from pipelines.invoicing.money import mart_amount, to_number
from pipelines.invoicing.safety import safe_file_stem
from pipelines.periods import BillingPeriod
from pipelines.sql import records

CUSTOMER_MONTHLY = "marts.customer_monthly"
CHARGES = "marts.fct_charges"
SERVICE_CHARGES = "marts.service_charges_monthly"
CUSTOMERS = "config.customers"
MAX_PROBLEMS_SHOWN = 20
# Unit prices implied by a charge (billed / quantity) are compared at this precision: charges
# are rounded to the cent, so two seats at the same price may imply 21.9999 and 22.0001.
UNIT_PRICE_PLACES = Decimal("0.0001")
USAGE_SOURCES = ("usage", "azure_plan")


def load_month(con: duckdb.DuckDBPyConnection, period: BillingPeriod, seller: PartnerProfile) -> MonthInvoices:
    monthly = _fetch(
        con,
        f"SELECT customer_id, currency, customer_name, {', '.join(MONEY_COLUMNS)}, line_count FROM {CUSTOMER_MONTHLY} "
        "WHERE billing_period = ? ORDER BY customer_id, currency",
        [period.start],
    )
    charges = _fetch(
        con,
        f"SELECT customer_id, currency, source, product_name, subscription_id, charge_start_date::DATE AS period_start, "
        f"charge_end_date::DATE AS period_end, quantity, billed_pretax FROM {CHARGES} WHERE billing_period = ?",
        [period.start],
    )
    services = _fetch(
        con,
        f"SELECT customer_id, currency, description, quantity, unit_price, amount FROM {SERVICE_CHARGES} WHERE billing_period = ?",
        [period.start],
    )
    buyers = {row["customer_id"]: row for row in _fetch(con, f"SELECT * FROM {CUSTOMERS}", [])}
    return assemble_month(period, seller, monthly, charges, services, buyers, load_azure_lines(con, period))


def assemble_month(
    period: BillingPeriod,
    seller: PartnerProfile,
    monthly_rows: list[dict],
    charge_rows: list[dict],
    service_rows: list[dict],
    customer_rows: dict[str, dict],
    azure_lines: dict[tuple[str, str], list[InvoiceLine]] | None = None,
) -> MonthInvoices:
    """Group the lines under their customer and currency, check they add up, set aside customers
    without a complete billing profile (named, never billed at a guessed 0 %). A customer whose
    Azure usage is itemised (`azure_lines`, from the daily usage file) has those lines in place
    of its Azure plan lines per product."""
    azure_lines = azure_lines or {}
    customer_rows = {str(key).lower(): row for key, row in customer_rows.items()}
    problems: list[str] = []
    monthly_of: dict[str, list[dict]] = defaultdict(list)
    for row in monthly_rows:
        if not row["customer_id"] or not str(row["customer_id"]).strip():
            problems.append("marts.customer_monthly has a row without customer_id")
            continue
        monthly_of[str(row["customer_id"]).lower()].append(row)

    customers, blocked = [], []
    for customer_id in sorted(monthly_of):
        rows = sorted(monthly_of[customer_id], key=lambda row: str(row["currency"]))
        name = next((str(row["customer_name"]) for row in rows if row.get("customer_name")), "")
        profile = customer_rows.get(customer_id)
        if profile is None:
            blocked.append(
                BlockedCustomer(
                    customer_id, name, "not in customers.csv of the config: add the customer's billing details"
                )
            )
            continue
        if profile.get("billing_profile_problems"):
            blocked.append(
                BlockedCustomer(
                    customer_id,
                    profile["billing_name"],
                    f"billing details incomplete in customers.csv: {profile['billing_profile_problems']}",
                )
            )
            continue
        buyer = _buyer(customer_id, profile)
        invoices = []
        for row in rows:
            currency = row["currency"]
            itemised = azure_lines.get((customer_id, currency))
            charges = (
                charge_rows if itemised is None else [row for row in charge_rows if row["source"] != AZURE_PLAN_SOURCE]
            )
            lines = (
                product_lines(charges, customer_id, currency, buyer.grouping, period)
                + (itemised or [])
                + _service_lines(service_rows, customer_id, currency)
            )
            invoice = CurrencyInvoice(
                currency=currency,
                totals={column: mart_amount(row[column]) for column in MONEY_COLUMNS},
                line_count=int(row.get("line_count") or 0),
                lines=tuple(lines),
            )
            problems.extend(f"the invoice of customer {customer_id} ({currency}): {p}" for p in invoice.problems())
            invoices.append(invoice)
        customers.append(
            CustomerInvoice(
                period=period,
                customer_id=customer_id,
                customer_name=name,
                file_stem=safe_file_stem(customer_id),
                buyer=buyer,
                invoices=tuple(invoices),
            )
        )
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise InvoiceDataError(f"No invoices were written for {period}: " + "; ".join(shown) + more + ".")
    return MonthInvoices(period=period, seller=seller, customers=tuple(customers), blocked=tuple(blocked))


def product_lines(
    charge_rows: list[dict], customer_id: str, currency: str, grouping: str, period: BillingPeriod
) -> list[InvoiceLine]:
    """One line per product, implied unit price and service period (and subscription when the
    customer's invoice_grouping says so); credits apart from charges."""
    groups: dict[tuple, list[Decimal]] = {}
    for row in charge_rows:
        if str(row["customer_id"]).lower() != customer_id or row["currency"] != currency:
            continue
        amount = mart_amount(row["billed_pretax"])
        quantity = to_number(row["quantity"])
        if quantity is not None and amount < 0 < quantity:
            quantity = -quantity  # a credit: negative quantity at the price charged
        unit = (amount / quantity).quantize(UNIT_PRICE_PLACES) if quantity else None
        description = str(row["product_name"] or "") + (" (Azure usage)" if row["source"] in USAGE_SOURCES else "")
        subscription = (
            str(row["subscription_id"]) if grouping == "subscription" and row.get("subscription_id") else None
        )
        key = (description, subscription, row["period_start"], row["period_end"], unit, amount < 0)
        into = groups.setdefault(key, [Decimal(0), Decimal(0)])
        into[0] += quantity or 0
        into[1] += amount
    lines = [
        InvoiceLine(
            description=description,
            quantity=quantity if unit is not None else None,
            unit_price=unit,
            amount=amount,
            subscription_id=subscription,
            period_start=period_start,
            period_end=period_end,
            period_kind=period_kind(period_start, period_end, period),
        )
        for (description, subscription, period_start, period_end, unit, _), (quantity, amount) in groups.items()
    ]
    return sorted(
        lines,
        key=lambda line: (
            line.description,
            line.subscription_id or "",
            line.period_start or date.min,
            line.unit_price or 0,
            line.amount,
        ),
    )


def period_kind(period_start: date | None, period_end: date | None, billed: BillingPeriod) -> str | None:
    """How the service period differs from the billed month: what the invoice must say."""
    if period_start is None or period_end is None:
        return None
    if period_end < billed.start:
        return "prior_period"  # a correction of an earlier month (issue 14), shown with its own service period
    days = (period_end - period_start).days + 1
    if days >= 360:
        return "annual"
    month_days = (billed.end - billed.start).days + 1
    if days > month_days:
        return "multi_month"
    if days < month_days:
        return "prorated"
    return None


def _service_lines(service_rows: list[dict], customer_id: str, currency: str) -> list[InvoiceLine]:
    lines = [
        InvoiceLine(
            description=str(row["description"]),
            quantity=to_number(row["quantity"]),
            unit_price=to_number(row["unit_price"]),
            amount=mart_amount(row["amount"]),
        )
        for row in service_rows
        if str(row["customer_id"]).lower() == customer_id and row["currency"] == currency
    ]
    return sorted(lines, key=lambda line: line.description)


def _buyer(customer_id: str, row: dict) -> Buyer:
    return Buyer(
        customer_id=customer_id,
        billing_name=row["billing_name"],
        street=tuple(part for part in (row.get("address_line1"), row.get("address_line2")) if part),
        postal_code=row.get("postal_code"),
        city=row.get("city"),
        country=row.get("country") or "",
        vat_id=row.get("vat_id"),
        tax_treatment=row["tax_treatment"],
        vat_rate=to_number(row.get("vat_rate")),
        exemption_text=row.get("exemption_text"),
        language=row.get("language") or "en",
        grouping=row.get("invoice_grouping") or "product",
    )


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    try:
        return records(con, sql, params)
    except duckdb.CatalogException as error:
        raise InvoiceDataError(
            f"The warehouse lacks a table the invoices are made from ({error}): run the month's transform first."
        ) from None
