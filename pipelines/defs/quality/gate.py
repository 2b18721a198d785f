"""The gate customer invoices and the published copy call before producing a month: the same
blocking checks as the UI shows (row conservation, reconciliation, marts tie-out, pricing, the
ERROR Great Expectations suites), judged on the warehouse as it is now."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb

from pipelines.defs.ingest.checks import conservation_breaks
from pipelines.defs.quality.daily_crosscheck import daily_crosscheck_problems
from pipelines.defs.quality.reconciliation import every_line_priced, invoices_match, marts_tie_out
from pipelines.defs.resources import Warehouse
from pipelines.partitions import billing_period
from pipelines.quality.gate import judge_month
from pipelines.quality.gx_suites import load_suite, month_frame, resolve_placeholders, suite_columns, suite_names, validate


def _from_check(month_check):
    def judge(con: duckdb.DuckDBPyConnection, month: date) -> list[str]:
        result = month_check(con, month)
        return [] if result.passed else [result.description or "failed"]

    return judge


def _suite(name: str, suite: dict):
    def judge(con: duckdb.DuckDBPyConnection, month: date) -> list[str]:
        frame, total = month_frame(con, name, month, suite_columns(suite))
        outcome = validate(frame, resolve_placeholders(suite, month), total)
        return [] if outcome.passed else [
            f"{f['expectation']} {f['column']} ({f['unexpected_count']} rows)" for f in outcome.failures
        ] or ["failed"]

    return judge


def blocking_checks():
    checks = [
        ("row_conservation", conservation_breaks),
        ("invoices_reconcile", _from_check(invoices_match)),
        ("marts_tie", _from_check(marts_tie_out)),
        ("every_line_priced", _from_check(every_line_priced)),
        ("daily_usage_crosscheck", daily_crosscheck_problems),
    ]
    for name in suite_names():
        suite = load_suite(name)
        if suite.get("meta", {}).get("severity") != "WARN":
            checks.append((f"gx_{name}", _suite(name, suite)))
    return checks


def require_month_passed(warehouse: Warehouse, partition_key: str, what: str) -> None:
    """Raise a Failure with a sentence unless every blocking check of the month passes now."""
    with warehouse.connect(read_only=True) as con:
        verdict = judge_month(con, billing_period(partition_key), blocking_checks())
    if not verdict.passed:
        raise dg.Failure(description=verdict.sentence(what))
