"""The daily rated usage file against the invoice reconciliation file, per Azure plan line.

Billing platforms import a month's Azure usage only when the daily file agrees with the
reconciliation file within a money tolerance (work365's "checksum"), and block with the list of
lines that do not (recon-formats.md §8 item 4). Here, per Azure plan group of the month's
reconciliation file, on billed rows of the same invoice only:

    customer x currency x invoice x SubscriptionId x ProductId x SkuId x AvailabilityId
    x partner-earned-credit segment (with or without the 15 % credit)

- Σ daily Quantity equals Σ recon BillableQuantity (an Azure plan line's Quantity is 1, §11.5)
  to within QUANTITY_TOLERANCE per recon line;
- Σ daily BillingPreTaxTotal equals Σ recon Subtotal within the group's tolerance, the ONE rule:

      |Σ daily BillingPreTaxTotal - Σ recon Subtotal| - allowance < Σ per recon line of its truncation bound

  where a recon line's truncation bound is what Microsoft's ROUNDDOWN to the cent can cut from
  it: Subtotal = ROUNDDOWN(ROUNDDOWN(EffectiveUnitPrice x BillableQuantity, 2) x FX, 2), so
  under one cent when PCToBCExchangeRate is 1 (the outer ROUNDDOWN cuts nothing), under
  0.01 x (1 + FX) otherwise (the inner cent lost, converted, then the outer cent). `allowance` is
  the partner's own (`[reconciliation] daily_usage_allowance` in partner.toml, 0.00 unless set).

Daily rows with no recon group, and recon Azure plan groups with no daily row, are mismatches
too. Customer credits (ChargeType customerCredit) are not in the daily file by design and are
left out; so are unbilled daily rows (blank InvoiceNumber: an estimate, not the invoice). A
month with no billed daily row is not cross-checked, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb

from pipelines.config.partner import DEFAULT_DAILY_USAGE_ALLOWANCE, PARTNER_SETTINGS
from pipelines.periods import BillingPeriod

QUANTITY_TOLERANCE = Decimal("0.000001")  # BillableQuantity is written to 6 decimals (0.005001)
SKIPPED_NO_FILE = "cross-check skipped: no daily rated usage file"
SKIPPED_UNBILLED = (
    "cross-check skipped: the month's daily rated usage is unbilled only (no invoice number), an estimate"
)
CSV_FILE = "daily_usage_crosscheck.csv"
CSV_COLUMNS = (
    "customer_id",
    "customer_name",
    "currency",
    "invoice_number",
    "subscription_id",
    "product_id",
    "sku_id",
    "availability_id",
    "partner_earned_credit",
    "meter",
    "recon_lines",
    "daily_rows",
    "recon_quantity",
    "daily_quantity",
    "recon_subtotal",
    "daily_pretax",
    "difference",
    "tolerance",
    "problem",
)


@dataclass(frozen=True)
class Mismatch:
    customer_id: str
    customer_name: str | None
    currency: str
    invoice_number: str
    subscription_id: str
    product_id: str | None
    sku_id: str | None
    availability_id: str | None
    partner_earned_credit: bool
    meter: str | None
    recon_lines: int
    daily_rows: int
    recon_quantity: Decimal | None
    daily_quantity: Decimal | None
    recon_subtotal: Decimal | None
    daily_pretax: Decimal | None
    tolerance: Decimal
    problem: str

    @property
    def difference(self) -> Decimal | None:
        if self.recon_subtotal is None or self.daily_pretax is None:
            return None
        return self.daily_pretax - self.recon_subtotal

    def sentence(self) -> str:
        who = f"{self.customer_name} ({self.customer_id})" if self.customer_name else self.customer_id
        credit = "with" if self.partner_earned_credit else "without"
        where = (
            f"customer {who}, subscription {self.subscription_id}, meter '{self.meter}' "
            f"({credit} partner-earned credit, {self.currency}, invoice {self.invoice_number})"
        )
        return f"{where}: {self.problem}"

    def row(self) -> tuple:
        return (
            self.customer_id,
            self.customer_name,
            self.currency,
            self.invoice_number,
            self.subscription_id,
            self.product_id,
            self.sku_id,
            self.availability_id,
            "yes" if self.partner_earned_credit else "no",
            self.meter,
            self.recon_lines,
            self.daily_rows,
            self.recon_quantity,
            self.daily_quantity,
            self.recon_subtotal,
            self.daily_pretax,
            self.difference,
            self.tolerance,
            self.problem,
        )


@dataclass(frozen=True)
class CrossCheck:
    period: BillingPeriod
    skipped: str  # why the month was not cross-checked; empty when it was
    groups: int
    allowance: Decimal
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def sentences(self) -> list[str]:
        return [mismatch.sentence() for mismatch in self.mismatches]

    def summary(self) -> str:
        if self.skipped:
            return self.skipped
        if self.passed:
            return (
                f"the daily rated usage agrees with all {self.groups} Azure plan line(s) of the reconciliation file "
                f"(quantity, and pre-tax within Microsoft's truncation to the cent plus an allowance of {self.allowance:.2f})"
            )
        first = self.mismatches[0].sentence()
        return f"{len(self.mismatches)} of {self.groups} Azure plan group(s) disagree with the daily rated usage; first: {first}"


def partner_allowance(con: duckdb.DuckDBPyConnection) -> Decimal:
    """The allowance of the configuration the run loaded; the strict default before any is loaded."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name || '.' || table_name = ?", [PARTNER_SETTINGS]
    ).fetchone()[0]
    if not exists:
        return DEFAULT_DAILY_USAGE_ALLOWANCE
    row = con.execute(f"SELECT daily_usage_allowance FROM {PARTNER_SETTINGS}").fetchone()
    return DEFAULT_DAILY_USAGE_ALLOWANCE if row is None or row[0] is None else Decimal(row[0])


def cross_check(con: duckdb.DuckDBPyConnection, period: BillingPeriod, allowance: Decimal | None = None) -> CrossCheck:
    """The month's Azure plan groups compared; `allowance` defaults to the loaded configuration's."""
    allowance = partner_allowance(con) if allowance is None else allowance
    daily_files, billed_rows = con.execute(
        """SELECT (SELECT count(*) FROM raw.file_manifest
                   WHERE billing_period = $month AND status = 'loaded' AND file_kind = 'daily_usage'),
                  (SELECT count(*) FROM raw.daily_usage
                   WHERE billing_period = $month AND nullif(trim(invoice_number), '') IS NOT NULL)""",
        {"month": period.start},
    ).fetchone()
    if not daily_files:
        return CrossCheck(period, SKIPPED_NO_FILE, 0, allowance, ())
    if not billed_rows:
        return CrossCheck(period, SKIPPED_UNBILLED, 0, allowance, ())
    rows = con.execute(
        _GROUPS_SQL, {"month": period.start, "allowance": allowance, "quantity_tolerance": QUANTITY_TOLERANCE}
    ).fetchall()
    mismatches = tuple(_mismatch(row) for row in rows if row[-1])
    return CrossCheck(period, "", len(rows), allowance, mismatches)


def _mismatch(row: tuple) -> Mismatch:
    (
        customer_id,
        customer_name,
        currency,
        invoice,
        subscription,
        product,
        sku,
        availability,
        earned,
        meter,
        recon_lines,
        daily_rows,
        recon_quantity,
        daily_quantity,
        recon_subtotal,
        daily_pretax,
        bound,
        allowance,
        _,
    ) = row
    tolerance = Decimal(bound or 0) + Decimal(allowance)
    if not daily_rows:
        problem = f"the reconciliation file bills Subtotal {recon_subtotal:,.2f} for quantity {_number(recon_quantity)}, but no daily rated usage row has this Azure plan line"
    elif not recon_lines:
        problem = f"{daily_rows} daily rated usage row(s) (pre-tax {_number(daily_pretax)}, quantity {_number(daily_quantity)}) have no Azure plan line in the reconciliation file"
    else:
        parts = []
        if abs(daily_quantity - recon_quantity) >= QUANTITY_TOLERANCE * recon_lines:
            parts.append(
                f"daily quantity {_number(daily_quantity)} vs reconciliation BillableQuantity {_number(recon_quantity)}"
            )
        if abs(daily_pretax - recon_subtotal) - Decimal(allowance) >= Decimal(bound):
            parts.append(
                f"daily pre-tax {_number(daily_pretax)} vs reconciliation Subtotal {recon_subtotal:,.2f} "
                f"(difference {_number(daily_pretax - recon_subtotal)}, tolerance under {tolerance:.4f})"
            )
        problem = "; ".join(parts)
    return Mismatch(
        customer_id,
        customer_name,
        currency,
        invoice,
        subscription,
        product,
        sku,
        availability,
        bool(earned),
        meter,
        recon_lines,
        daily_rows,
        recon_quantity,
        daily_quantity,
        recon_subtotal,
        daily_pretax,
        tolerance,
        problem,
    )


def _number(value: Decimal | None) -> str:
    """Every decimal the figure has, without trailing zeros: the daily file is not cent-exact."""
    if value is None:
        return "none"
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# One row per group on either side; the last column says whether it is a mismatch.
_GROUPS_SQL = """
WITH recon AS (
    SELECT lower(customer_id) AS customer_id, any_value(customer_name) AS customer_name, currency, invoice_number,
           lower(subscription_id) AS subscription_id, product_id, sku_id, availability_id,
           coalesce(price_adjustment_description::VARCHAR ILIKE '%partner earned credit%', false) AS earned,
           string_agg(DISTINCT sku_name, ' / ') AS meter, count(*) AS lines,
           sum(billable_quantity) AS quantity, sum(subtotal) AS subtotal,
           -- Microsoft's truncation: under a cent, or 0.01 x (1 + FX) when an FX conversion sits between two ROUNDDOWNs.
           sum(CASE WHEN coalesce(pc_to_bc_exchange_rate, 1) = 1 THEN 0.01 ELSE 0.01 * (1 + pc_to_bc_exchange_rate) END) AS bound
    FROM raw.nce_recon
    WHERE billing_period = $month AND lower(subscription_description) = 'azure plan' AND lower(charge_type) <> 'customercredit'
    GROUP BY ALL
),
daily AS (
    SELECT lower(customer_id) AS customer_id, any_value(customer_name) AS customer_name, billing_currency AS currency,
           invoice_number, lower(subscription_id) AS subscription_id, product_id, sku_id, availability_id,
           coalesce(partner_earned_credit_percentage, 0) > 0 AS earned,
           string_agg(DISTINCT coalesce(meter_name, sku_name), ' / ') AS meter, count(*) AS rows,
           sum(quantity) AS quantity, sum(billing_pre_tax_total) AS pretax
    FROM raw.daily_usage
    WHERE billing_period = $month AND nullif(trim(invoice_number), '') IS NOT NULL
    GROUP BY ALL
)
SELECT coalesce(r.customer_id, d.customer_id), coalesce(r.customer_name, d.customer_name), coalesce(r.currency, d.currency),
       coalesce(r.invoice_number, d.invoice_number), coalesce(r.subscription_id, d.subscription_id),
       coalesce(r.product_id, d.product_id), coalesce(r.sku_id, d.sku_id), coalesce(r.availability_id, d.availability_id),
       coalesce(r.earned, d.earned), coalesce(r.meter, d.meter), coalesce(r.lines, 0), coalesce(d.rows, 0),
       r.quantity, d.quantity, r.subtotal, d.pretax, coalesce(r.bound, 0), $allowance::DECIMAL(28, 2),
       r.lines IS NULL OR d.rows IS NULL
         OR abs(d.quantity - r.quantity) >= $quantity_tolerance * r.lines
         OR abs(d.pretax - r.subtotal) - $allowance::DECIMAL(28, 2) >= r.bound AS mismatch
FROM recon r
FULL JOIN daily d
  ON d.customer_id = r.customer_id AND d.currency = r.currency AND d.invoice_number = r.invoice_number
 AND d.subscription_id = r.subscription_id AND d.product_id IS NOT DISTINCT FROM r.product_id
 AND d.sku_id IS NOT DISTINCT FROM r.sku_id AND d.availability_id IS NOT DISTINCT FROM r.availability_id
 AND d.earned = r.earned
ORDER BY 1, 3, 4, 5, 6, 7, 8, 9
"""
