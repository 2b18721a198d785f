"""The warning checks a person acknowledges, by name, when approving a month: the same
functions the run's WARN checks call, judged on the warehouse as it is now."""

from __future__ import annotations

import duckdb

from pipelines.closing.month import WarningCheck
from pipelines.config import config_dir_in_use, load_config
from pipelines.defs.invoicing.assets import BILLING_PROFILES_CHECK
from pipelines.defs.quality.warnings import cost_jumps_above, lines_below_cost, unknown_charge_types, usage_over_budget
from pipelines.invoicing.source import load_month
from pipelines.periods import BillingPeriod
from pipelines.quality.gx_suites import (
    load_suite,
    suite_names,
    validate_month,
)
from pipelines.settings import DataPaths, Settings


def judged_by(query):
    """A WARN check function of the run (con, period) -> AssetCheckResult, as a list of problems."""

    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        result = query(con, period)
        return [] if result.passed else [result.description or "failed"]

    return judge


def _warn_suite(name: str, suite: dict):
    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        outcome = validate_month(con, name, suite, period)
        return [f"{f['expectation']} {f['column']} ({f['unexpected_count']} rows)" for f in outcome.failures]

    return judge


def _billing_profiles(paths: DataPaths):
    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        invoices = load_month(con, period, load_config(config_dir_in_use(paths)).partner)
        return [f"not invoiced: {blocked}" for blocked in invoices.blocked]

    return judge


def warning_checks(settings: Settings) -> list[WarningCheck]:
    """Named as in the Dagster UI: spikes, budgets, negative margins, unknown charge types,
    customers without a billing profile (unknown customers), and the WARN expectation suites."""
    checks: list[WarningCheck] = [
        ("charge_types_known", judged_by(unknown_charge_types)),
        ("no_cost_jump", judged_by(cost_jumps_above(settings.cost_jump_percent))),
        ("usage_within_budget", judged_by(usage_over_budget)),
        ("no_line_below_cost", judged_by(lines_below_cost)),
        (BILLING_PROFILES_CHECK, _billing_profiles(settings.paths)),
    ]
    for name in suite_names():
        suite = load_suite(name)
        if suite.get("meta", {}).get("severity") == "WARN":
            checks.append((f"gx_{name}", _warn_suite(name, suite)))
    return checks
