"""Warnings: visible in the UI and the run summary, never blocking an invoice."""

from datetime import date

import dagster as dg
import duckdb

from pipelines.defs.quality.reconciliation import month_check
from pipelines.metadata import markdown_table
from pipelines.quality.thresholds import COST_JUMP_PERCENT, KNOWN_CHARGE_TYPES

WARN = dg.AssetCheckSeverity.WARN


def unknown_charge_types(con: duckdb.DuckDBPyConnection, month: date) -> dg.AssetCheckResult:
    found = con.execute(
        "SELECT charge_type, count(*) FROM marts.fct_charges WHERE billing_period = ? GROUP BY ALL ORDER BY 1", [month]
    ).fetchall()
    unknown = [(kind, lines) for kind, lines in found if (kind or "").strip().lower() not in KNOWN_CHARGE_TYPES]
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=WARN,
        description=f"unknown ChargeType values: {', '.join(repr(k) for k, _ in unknown)}" if unknown else "every ChargeType is known",
        metadata={"unknown_charge_types": len(unknown), "examples": markdown_table(unknown, ("charge type", "lines"))},
    )


def cost_jumps(con: duckdb.DuckDBPyConnection, month: date) -> dg.AssetCheckResult:
    jumps = con.execute(
        """SELECT customer_id, customer_name, currency, cost_pretax, cost_change_percent
           FROM marts.customer_trends
           WHERE billing_period = ? AND cost_change_percent > ? ORDER BY cost_change_percent DESC""",
        [month, COST_JUMP_PERCENT],
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not jumps,
        severity=WARN,
        description=(
            f"{len(jumps)} customer(s) cost more than {COST_JUMP_PERCENT}% above last month" if jumps else "no unusual cost jump"
        ),
        metadata={"customers": len(jumps), "examples": markdown_table(jumps, ("customer id", "name", "currency", "cost", "change %"))},
    )


def usage_over_budget(con: duckdb.DuckDBPyConnection, month: date) -> dg.AssetCheckResult:
    over = con.execute(
        """SELECT m.customer_id, m.customer_name, m.currency, m.usage_cost_pretax, c.monthly_usage_budget
           FROM marts.customer_monthly m JOIN config.customers c USING (customer_id)
           WHERE m.billing_period = ? AND c.monthly_usage_budget IS NOT NULL
             AND m.usage_cost_pretax > c.monthly_usage_budget
           ORDER BY m.customer_id""",
        [month],
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not over,
        severity=WARN,
        description=f"{len(over)} customer(s) above their monthly usage budget" if over else "usage within budgets",
        metadata={"customers": len(over), "examples": markdown_table(over, ("customer id", "name", "currency", "usage", "budget"))},
    )


def lines_below_cost(con: duckdb.DuckDBPyConnection, month: date, examples: int = 20) -> dg.AssetCheckResult:
    """Charges billed for less than Microsoft charges the partner: a pricing rule losing money."""
    count, loss = con.execute(
        """SELECT count(*), coalesce(sum(cost_pretax - billed_pretax), 0) FROM marts.fct_charges
           WHERE billing_period = ? AND cost_pretax > 0 AND billed_pretax < cost_pretax""",
        [month],
    ).fetchone()
    shown = con.execute(
        """SELECT customer_id, customer_name, product_name, pricing_rule_id, cost_pretax, billed_pretax,
                  source_file, source_line
           FROM marts.fct_charges
           WHERE billing_period = ? AND cost_pretax > 0 AND billed_pretax < cost_pretax
           ORDER BY cost_pretax - billed_pretax DESC, source_file, source_line LIMIT ?""",
        [month, examples],
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
            "examples": markdown_table(shown, ("customer id", "name", "product", "rule", "cost", "billed", "file", "line")),
        },
    )


charge_types_known = month_check("charge_types_known", "ChargeType values are the documented ones.", unknown_charge_types, blocking=False)
no_cost_jump = month_check("no_cost_jump", "No customer's cost jumps above the threshold month over month.", cost_jumps, blocking=False)
usage_within_budget = month_check("usage_within_budget", "Azure usage within each customer's configured budget.", usage_over_budget, blocking=False)
no_line_below_cost = month_check(
    "no_line_below_cost", "No charge line is billed for less than Microsoft's cost.", lines_below_cost, blocking=False
)
