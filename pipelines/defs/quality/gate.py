"""The gate customer invoices and the published copy call before producing a month: the same
blocking checks as the UI shows (row conservation, reconciliation, marts tie-out, pricing, the
ERROR Great Expectations suites, rejected lines, the error-severity dbt tests), judged on the
warehouse as it is now. dbt tests run in dbt, not here: their verdicts count only while the
month's data has the fingerprint they were recorded with (pipelines/quality/dbt_results.py)."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from pipelines.defs.ingest.checks import conservation_breaks
from pipelines.defs.quality.daily_crosscheck import daily_crosscheck_problems
from pipelines.defs.quality.reconciliation import every_line_priced, invoices_match, marts_tie_out
from pipelines.defs.resources import Warehouse
from pipelines.defs.transform.project import parsed_manifest
from pipelines.ingest.quarantine import keep_as_last_good
from pipelines.periods import BillingPeriod
from pipelines.quality.dbt_results import data_fingerprint, error_tests, judge_tests
from pipelines.quality.gate import GateVerdict, judge_month
from pipelines.quality.gx_suites import (
    load_suite,
    suite_names,
    validate_month,
)
from pipelines.quality.rejections import AcknowledgementError, holding_sentence, month_rejections
from pipelines.settings import DataPaths, Settings
from pipelines.warehouse_file import connect_waiting


def _from_check(month_check):
    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        result = month_check(con, period)
        return [] if result.passed else [result.description or "failed"]

    return judge


def _suite(name: str, suite: dict):
    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        outcome = validate_month(con, name, suite, period)
        return (
            []
            if outcome.passed
            else [f"{f['expectation']} {f['column']} ({f['unexpected_count']} rows)" for f in outcome.failures]
            or ["failed"]
        )

    return judge


def _rejected_lines(paths: DataPaths):
    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        try:
            _, held, _ = month_rejections(con, period, paths.landing(period), paths.root)
        except AcknowledgementError as error:
            return [str(error)]
        return [holding_sentence(held, period)] if held else []

    return judge


def _dbt_tests(manifest_path):
    required = error_tests(json.loads(manifest_path.read_text(encoding="utf-8")))

    def judge(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
        return judge_tests(con, period, data_fingerprint(con, period), required)

    return judge


def blocking_checks(paths: DataPaths, manifest_path=None):
    """Every blocking check of a month, as (name, judgement); `paths` says where its landing files
    and acknowledgements are, `manifest_path` which dbt tests exist (default: the project's)."""
    checks = [
        ("row_conservation", conservation_breaks),
        ("invoices_reconcile", _from_check(invoices_match)),
        ("marts_tie", _from_check(marts_tie_out)),
        ("every_line_priced", _from_check(every_line_priced)),
        ("daily_usage_crosscheck", daily_crosscheck_problems),
        ("rejected_lines_resolved", _rejected_lines(paths)),
        ("dbt_tests", _dbt_tests(manifest_path or parsed_manifest())),
    ]
    for name in suite_names():
        suite = load_suite(name)
        if suite.get("meta", {}).get("severity") != "WARN":
            checks.append((f"gx_{name}", _suite(name, suite)))
    return checks


def judge_month_now(settings: Settings, period: BillingPeriod) -> GateVerdict:
    """The gate's verdict on the month's data as it is in the warehouse now (waiting for the file
    as long as the settings say)."""
    paths = settings.paths
    with connect_waiting(paths.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds) as con:
        return judge_month(con, period, blocking_checks(paths))


def require_month_passed(warehouse: Warehouse, period: BillingPeriod, what: str, run_id: str | None = None) -> None:
    """Raise a Failure with a sentence unless every blocking check of the month passes now; when
    they pass, the month's rows are kept as its last good data (a later failed delivery comes back
    to them)."""
    with warehouse.connect(read_only=True) as con:
        verdict = judge_month(con, period, blocking_checks(warehouse.paths))
    if not verdict.passed:
        raise dg.Failure(description=verdict.sentence(what))
    with warehouse.connect() as con:
        keep_as_last_good(con, period, run_id)
