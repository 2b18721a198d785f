"""Warnings: visible in the UI and the run summary, never blocking an invoice."""

from collections.abc import Callable
from decimal import Decimal

import dagster as dg
import duckdb

from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.quality.reconciliation import month_check
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.inert import printable
from pipelines.periods import BillingPeriod
from pipelines.quality.azure_warnings import BUDGET, SPIKE, SpikeRule, azure_warning_rows, configured_spike_rule
from pipelines.quality.thresholds import KNOWN_CHARGE_TYPES
from pipelines.settings import process_settings

AZURE_DAILY_USAGE = dg.AssetKey(["marts", "azure_daily_usage"])

WARN = dg.AssetCheckSeverity.WARN


def unknown_charge_types(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
    found = con.execute(
        "SELECT charge_type, count(*) FROM marts.fct_charges WHERE billing_period = ? GROUP BY ALL ORDER BY 1",
        [period.start],
    ).fetchall()
    unknown = [(kind, lines) for kind, lines in found if (kind or "").strip().lower() not in KNOWN_CHARGE_TYPES]
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=WARN,
        description=f"unknown ChargeType values: {', '.join(repr(k) for k, _ in unknown)}"
        if unknown
        else "every ChargeType is known",
        metadata={"unknown_charge_types": len(unknown), "examples": markdown_table(unknown, ("charge type", "lines"))},
    )


def cost_jumps_above(percent: Decimal) -> Callable[[duckdb.DuckDBPyConnection, BillingPeriod], dg.AssetCheckResult]:
    """The check of customers whose cost rose by more than `percent` over last month."""

    def cost_jumps(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
        jumps = con.execute(
            """SELECT customer_id, customer_name, currency, cost_pretax, cost_change_percent
               FROM marts.customer_trends
               WHERE billing_period = ? AND cost_change_percent > ? ORDER BY cost_change_percent DESC""",
            [period.start, percent],
        ).fetchall()
        return dg.AssetCheckResult(
            passed=not jumps,
            severity=WARN,
            description=(
                f"{len(jumps)} customer(s) cost more than {percent}% above last month"
                if jumps
                else "no unusual cost jump"
            ),
            metadata={
                "customers": len(jumps),
                "examples": markdown_table(jumps, ("customer id", "name", "currency", "cost", "change %")),
            },
        )

    return cost_jumps


cost_jumps = cost_jumps_above(process_settings().cost_jump_percent)


def usage_over_budget(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> dg.AssetCheckResult:
    """Customers whose month-to-date Azure spend at sell price reached 80 % or 100 % of their budget."""
    return _azure_result(
        azure_warning_rows(con, period),
        BUDGET,
        "customer(s) past 80 % of their monthly Azure budget",
        "usage within budgets",
    )


def azure_usage_spikes(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, rule: SpikeRule | None = None
) -> dg.AssetCheckResult:
    """Azure subscriptions whose day cost jumped above the partner's spike rule."""
    rule = rule or SpikeRule()
    return _azure_result(
        azure_warning_rows(con, period, rule),
        SPIKE,
        f"day-over-day Azure spike(s) (a day more than {rule.percent:f} % above the day before, by {rule.minimum_increase:,.2f} or more)",
        "no day-over-day Azure spike",
    )


def _azure_result(rows: list[dict], kind: str, found: str, none: str) -> dg.AssetCheckResult:
    rows = [row for row in rows if row["kind"] == kind]
    table = [
        (row["level"], row["customer_id"], row["customer_name"], row["azure_subscription_name"] or row["azure_subscription_id"] or "",
         row["usage_date"], row["currency"], f"{row['amount']:,.2f}", f"{row['compared_with']:,.2f}")
        for row in rows
    ]  # fmt: skip
    return dg.AssetCheckResult(
        passed=not rows,
        severity=WARN,
        description=f"{len(rows)} {found}; first: {printable(rows[0]['message'])}" if rows else none,
        metadata={
            "warnings": len(rows),
            "examples": markdown_table(
                table,
                ("level", "customer id", "name", "Azure subscription", "day", "currency", "amount", "compared with"),
            ),
        },
    )


def _azure_check(name: str, description: str, evaluate) -> dg.AssetChecksDefinition:
    """A warning on marts.azure_daily_usage, built on every run: an open month whose only data is
    the unbilled daily file is warned about before any invoice or report exists."""

    @dg.asset_check(
        asset=AZURE_DAILY_USAGE,
        name=name,
        description=description,
        blocking=False,
        partitions_def=monthly_partitions,
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        rule = configured_spike_rule(warehouse.paths)
        with warehouse.connect(read_only=True) as con:
            return inert_check(evaluate(con, BillingPeriod.parse(context.partition_key), rule))

    return _check


def lines_below_cost(con: duckdb.DuckDBPyConnection, period: BillingPeriod, examples: int = 20) -> dg.AssetCheckResult:
    """Charges billed for less than Microsoft charges the partner: a pricing rule losing money."""
    count, loss = con.execute(
        """SELECT count(*), coalesce(sum(cost_pretax - billed_pretax), 0) FROM marts.fct_charges
           WHERE billing_period = ? AND cost_pretax > 0 AND billed_pretax < cost_pretax""",
        [period.start],
    ).fetchone()
    shown = con.execute(
        """SELECT customer_id, customer_name, product_name, pricing_rule_id, cost_pretax, billed_pretax,
                  source_file, source_line
           FROM marts.fct_charges
           WHERE billing_period = ? AND cost_pretax > 0 AND billed_pretax < cost_pretax
           ORDER BY cost_pretax - billed_pretax DESC, source_file, source_line LIMIT ?""",
        [period.start, examples],
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not count,
        severity=WARN,
        description=(
            f"{count} line(s) billed below Microsoft's cost, {loss:,.2f} in total; first: {shown[0][2]} for "
            f"{shown[0][1] or shown[0][0]} (rule {shown[0][3]}: cost {shown[0][4]:,.2f}, billed {shown[0][5]:,.2f})"
            if count
            else "no line billed below cost"
        ),
        metadata={
            "lines": count,
            "examples": markdown_table(
                shown, ("customer id", "name", "product", "rule", "cost", "billed", "file", "line")
            ),
        },
    )


charge_types_known = month_check(
    "charge_types_known", "ChargeType values are the documented ones.", unknown_charge_types, blocking=False
)
no_cost_jump = month_check(
    "no_cost_jump", "No customer's cost jumps above the threshold month over month.", cost_jumps, blocking=False
)
usage_within_budget = _azure_check(
    "usage_within_budget",
    "Each customer's month-to-date Azure spend at sell price below 80 % of its monthly_usage_budget (warns at 80 % and 100 %).",
    lambda con, period, _rule: usage_over_budget(con, period),
)
no_azure_usage_spike = _azure_check(
    "no_azure_usage_spike",
    "No Azure subscription's day costs more than the partner's spike rule above the day before (partner.toml [azure_warnings]).",
    azure_usage_spikes,
)
no_line_below_cost = month_check(
    "no_line_below_cost", "No charge line is billed for less than Microsoft's cost.", lines_below_cost, blocking=False
)
