"""Early Azure warnings: budgets reached and day-over-day spikes, from the daily usage file.

They read `marts.azure_daily_usage` at the partner's sell price (`sell_pretax`: the billed share
in a closed month, the estimate at the customer's pricing rule in the open month), so they work
on an open month whose only data is the unbilled daily file, before any invoice exists. A
customer without daily rows in a month is measured on its priced usage lines instead
(`marts.fct_charges`, legacy usage and Azure plan). Never blocking: shown in the Dagster UI,
the CLI summary and the reconciliation report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from pipelines.config import ConfigError, PartnerProfile, config_dir_in_use, load_config
from pipelines.periods import BillingPeriod
from pipelines.quality.thresholds import (
    AZURE_BUDGET_WARNING_PERCENTS,
    AZURE_SPIKE_MINIMUM_INCREASE,
    AZURE_SPIKE_PERCENT,
)
from pipelines.settings import DataPaths

AZURE_DETAIL = "marts.azure_daily_usage"
CHARGES = "marts.fct_charges"
CUSTOMERS = "config.customers"
BUDGET, SPIKE = "budget", "spike"
PERCENT_PLACES = Decimal("0.1")
# Rows whose sell price counts as spend: on the invoice, or estimated before it.
SPEND_STATUSES = ("billed", "not_itemised", "unbilled")
USAGE_SOURCES = ("usage", "azure_plan")
NO_SPEND = "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::DECIMAL(38, 6), NULL::DATE, false WHERE false"


@dataclass(frozen=True)
class SpikeRule:
    """A day is a spike when it costs more than `percent` above the day before and by at least
    `minimum_increase` (partner.toml [azure_warnings])."""

    percent: Decimal = AZURE_SPIKE_PERCENT
    minimum_increase: Decimal = AZURE_SPIKE_MINIMUM_INCREASE

    @classmethod
    def of(cls, partner: PartnerProfile) -> SpikeRule:
        return cls(partner.spike_percent, partner.spike_minimum_increase)


def configured_spike_rule(paths: DataPaths) -> SpikeRule:
    """The partner's rule; the documented defaults while the configuration cannot be read (the
    config step reports why, in its own words)."""
    try:
        return SpikeRule.of(load_config(config_dir_in_use(paths)).partner)
    except ConfigError:
        return SpikeRule()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0]
        for row in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    }


def azure_warning_rows(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, rule: SpikeRule | None = None
) -> list[dict]:
    """Every warning of the month, budgets first (the most consumed first), then spikes (the
    largest increase first). Each row: kind, level, customer_id, customer_name, currency,
    azure_subscription_id, azure_subscription_name, usage_date, amount, compared_with, message."""
    tables = _tables(con)
    if CUSTOMERS not in tables:
        return []
    rows = _budget_rows(con, period)
    if AZURE_DETAIL in tables:
        rows += _spike_rows(con, period, rule or SpikeRule())
    return rows


@dataclass(frozen=True)
class BudgetSpend:
    """A customer with a monthly usage budget and its Azure spend of the month at sell price."""

    customer_id: str
    customer_name: str
    currency: str
    spend: Decimal
    through: date | None  # the last usage day counted, when the daily file itemises the spend
    estimated: bool  # from the unbilled file: the open month's running estimate
    budget: Decimal


def budget_spend(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[BudgetSpend]:
    """Every customer with a budget, used or not this month, the most consumed first: what the
    budget warnings judge and the report draws."""
    tables = _tables(con)
    if CUSTOMERS not in tables:
        return []
    spend_queries = []
    params: list = []
    if AZURE_DETAIL in tables:
        spend_queries.append(
            f"""SELECT customer_id, currency, max(customer_name) AS file_name, sum(sell_pretax)::DECIMAL(38, 6) AS spend, max(usage_date) AS through,
                       bool_or(line_status = 'unbilled') AS estimated
                FROM {AZURE_DETAIL} WHERE billing_period = ? AND line_status IN ({", ".join("?" for _ in SPEND_STATUSES)})
                GROUP BY customer_id, currency"""
        )
        params += [period.start, *SPEND_STATUSES]
    if CHARGES in tables:
        itemised = (
            f"AND customer_id NOT IN (SELECT customer_id FROM {AZURE_DETAIL} WHERE billing_period = ?)"
            if AZURE_DETAIL in tables
            else ""
        )
        spend_queries.append(
            f"""SELECT customer_id, currency, max(customer_name) AS file_name, sum(billed_pretax)::DECIMAL(38, 6) AS spend, NULL::DATE AS through,
                       false AS estimated
                FROM {CHARGES} WHERE billing_period = ? AND source IN ({", ".join("?" for _ in USAGE_SOURCES)}) {itemised}
                GROUP BY customer_id, currency"""
        )
        params += [period.start, *USAGE_SOURCES] + ([period.start] if itemised else [])
    found = con.execute(
        f"""WITH spend (customer_id, currency, file_name, spend, through, estimated) AS ({" UNION ALL ".join(spend_queries) or NO_SPEND})
            SELECT c.customer_id, coalesce(c.billing_name, s.file_name), upper(c.currency), coalesce(s.spend, 0)::DECIMAL(38, 6),
                   s.through, coalesce(s.estimated, false), c.monthly_usage_budget
            FROM {CUSTOMERS} AS c
            LEFT JOIN spend AS s ON lower(c.customer_id) = lower(s.customer_id) AND upper(c.currency) = s.currency
            WHERE c.monthly_usage_budget > 0
            ORDER BY coalesce(s.spend, 0) / c.monthly_usage_budget DESC, c.customer_id""",
        params,
    ).fetchall()
    return [BudgetSpend(*row) for row in found]


def _budget_rows(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[dict]:
    threshold = min(AZURE_BUDGET_WARNING_PERCENTS)
    found = [
        (b.customer_id, b.customer_name, b.currency, b.spend, b.through, b.estimated, b.budget)
        for b in budget_spend(con, period)
        if b.spend * 100 >= b.budget * threshold
    ]
    rows = []
    for customer_id, name, currency, spend, through, estimated, budget in found:
        used = (spend * 100 / budget).quantize(PERCENT_PLACES)
        level = max(percent for percent in AZURE_BUDGET_WARNING_PERCENTS if spend * 100 >= budget * percent)
        when = f" month to date (usage until {through.isoformat()})" if through else ""
        kind_of_spend = "estimated Azure spend" if estimated else "Azure spend"
        verdict = "over its monthly budget" if level >= 100 else f"past {level:f} % of its monthly budget"
        rows.append(
            {
                "kind": BUDGET, "level": f"{level:f} %", "customer_id": customer_id, "customer_name": name, "currency": currency,
                "azure_subscription_id": None, "azure_subscription_name": None, "usage_date": through,
                "amount": spend, "compared_with": budget,
                "message": f"{name or customer_id} is {verdict}: {kind_of_spend} {spend:,.2f} {currency}{when} "
                f"is {used:f} % of {budget:,.2f} {currency}",
            }
        )  # fmt: skip
    return rows


def _spike_rows(con: duckdb.DuckDBPyConnection, period: BillingPeriod, rule: SpikeRule) -> list[dict]:
    found = con.execute(
        f"""WITH daily AS (
                SELECT customer_id, currency, entitlement_id, usage_date, max(entitlement_description) AS subscription_name,
                       max(customer_name) AS file_name, sum(sell_pretax) AS spend
                FROM {AZURE_DETAIL}
                WHERE billing_period = ? AND usage_date IS NOT NULL AND entitlement_id IS NOT NULL
                  AND line_status IN ({", ".join("?" for _ in SPEND_STATUSES)})
                GROUP BY customer_id, currency, entitlement_id, usage_date
            )
            SELECT d.customer_id, coalesce(c.billing_name, d.file_name) AS customer_name, d.currency, d.entitlement_id,
                   d.subscription_name, d.usage_date, d.spend, coalesce(p.spend, 0) AS previous
            FROM daily AS d
            LEFT JOIN daily AS p
              ON p.customer_id = d.customer_id AND p.currency = d.currency AND p.entitlement_id = d.entitlement_id
             AND p.usage_date = d.usage_date - 1
            LEFT JOIN {CUSTOMERS} AS c ON lower(c.customer_id) = d.customer_id
            -- The month's first day has no day before it in this month: no run reads another month.
            WHERE d.usage_date > ?
              AND d.spend - coalesce(p.spend, 0) >= ?
              AND d.spend * 100 > coalesce(p.spend, 0) * (100 + ?)
            ORDER BY d.spend - coalesce(p.spend, 0) DESC, d.customer_id, d.entitlement_id, d.usage_date""",
        [period.start, *SPEND_STATUSES, period.start, rule.minimum_increase, rule.percent],
    ).fetchall()
    rows = []
    for customer_id, name, currency, subscription, subscription_name, day, spend, previous in found:
        label = f"{subscription_name} ({subscription})" if subscription_name else subscription
        rows.append(
            {
                "kind": SPIKE, "level": f"+{rule.percent:f} %", "customer_id": customer_id, "customer_name": name, "currency": currency,
                "azure_subscription_id": subscription, "azure_subscription_name": subscription_name, "usage_date": day,
                "amount": spend, "compared_with": previous,
                "message": f"{name or customer_id}, Azure subscription {label}: {spend:,.2f} {currency} on {day.isoformat()}, "
                f"up {spend - previous:,.2f} from {previous:,.2f} on {(day - timedelta(days=1)).isoformat()}",
            }
        )  # fmt: skip
    return rows


# A terminal shows the worst few; budgets come first, then the largest spikes.
SUMMARY_SHOWN = 10


def summary_lines(con: duckdb.DuckDBPyConnection, period: BillingPeriod, paths: DataPaths) -> list[str]:
    """The CLI summary's Azure section: one line per warning (empty when there is none)."""
    rows = azure_warning_rows(con, period, configured_spike_rule(paths))
    if not rows:
        return []
    shown = [f"  - {row['kind']}: {row['message']}" for row in rows[:SUMMARY_SHOWN]]
    if len(rows) > SUMMARY_SHOWN:
        shown.append(f"  ... and {len(rows) - SUMMARY_SHOWN} more (the report and the Dagster checks list them all)")
    return ["\nAzure warnings (early, not blocking):", *shown]
