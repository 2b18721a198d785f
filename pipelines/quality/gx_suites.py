"""Run the Great Expectations suites kept as JSON in `expectations/` on a month's rows.

GX's SQL datasource does not work against DuckDB (stack-notes.md), so the month's rows are
fetched with DuckDB and validated as a pandas DataFrame in an ephemeral context. Money is
never compared here: `.df()` turns DECIMAL into float. Totals are checked exactly in SQL by
the blocking reconciliation checks; row arithmetic arrives here as booleans computed in SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb

from pipelines.periods import BillingPeriod
from pipelines.quality.gx_sentences import Failure, failure_sentence
from pipelines.quality.gx_suspects import SUSPECT_ROWS, suspect_condition
from pipelines.quality.thresholds import ROW_ARITHMETIC_TOLERANCE
from pipelines.settings import EXPECTATIONS_DIR
from pipelines.sql import scalar

# Above about this many rows a month is validated on a random sample (shapes, sets and patterns);
# exact counts and totals are the SQL checks' job.
SAMPLE_ROWS = 100_000
# Every failing row is named by the file and line it came from (raw tables and fct_charges carry them).
LINEAGE = ("source_file", "source_line")
# Annual subscriptions renew with a charge period of a year, in either direction.
CHARGE_DATE_WINDOW = timedelta(days=400)

# A suite's rows are its `meta.query` for the month, with row arithmetic evaluated exactly in SQL
# against this tolerance.
ROW_TOLERANCE_PLACEHOLDER = "$row_tolerance"


def suite_query(suite: dict) -> str:
    """The month's rows the suite validates (`$month` is the query's parameter)."""
    return suite["meta"]["query"].replace(ROW_TOLERANCE_PLACEHOLDER, f"{ROW_ARITHMETIC_TOLERANCE}::DECIMAL(18,6)")


class SuiteError(Exception):
    """A suite could not be evaluated: a code or configuration error, never a data verdict."""


@dataclass
class SuiteOutcome:
    suite: str
    table: str
    severity: str
    rows_total: int
    rows_validated: int
    expectations: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def sampled(self) -> bool:
        return self.rows_validated < self.rows_total


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def suite_names(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.json"))


def resolve_placeholders(suite: dict, period: BillingPeriod) -> dict:
    """`$window_start` / `$window_end`: the plausible charge-date window around the month, as
    datetimes, which GX compares with the frame's timestamp columns."""
    values = {
        "$window_start": datetime.combine(period.start - CHARGE_DATE_WINDOW, time.min),
        "$window_end": datetime.combine(period.end + CHARGE_DATE_WINDOW, time.max),
    }

    def resolved(node):
        if isinstance(node, dict):
            return {key: resolved(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolved(value) for value in node]
        return values.get(node, node) if isinstance(node, str) else node

    return resolved(suite)


def suite_columns(suite: dict) -> set[str]:
    """Every column the suite's expectations name, and the lineage: the only ones worth fetching."""
    named: set[str] = set(LINEAGE)
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                named.add(kwargs[key])
        for key in ("column_list", "column_set"):
            named.update(kwargs.get(key) or [])
    return named


def month_frame(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    period: BillingPeriod,
    columns: set[str] | None = None,
    suite: dict | None = None,
):
    """The month's rows for the suite as pandas, and the row count. Above SAMPLE_ROWS, a random
    sample plus every row one of `suite`'s expectations could fail on (up to SUSPECT_ROWS; the
    suite with its placeholders resolved), so a single bad line is never sampled away.

    With `columns`, only those of them the query has are fetched (a missing one stays missing,
    for the suite to report): a wide table costs what the suite reads, not its width.
    """
    query = suite_query(suite or load_suite(suite_name))
    month = period.start
    total = scalar(con, f"SELECT count(*) FROM ({query})", {"month": month})
    available = [d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0", {"month": month}).description]
    projection = "*"
    if columns is not None:
        projection = ", ".join(f'"{name}"' for name in available if name in columns) or "*"
    if total <= SAMPLE_ROWS:
        return con.execute(f"SELECT {projection} FROM ({query})", {"month": month}).df(), total
    condition, params = suspect_condition(suite["expectations"] if suite else [], query, set(available))
    suspect = f"coalesce({condition}, false)"
    # Bernoulli, not reservoir: it samples while scanning instead of materialising every row (6x faster).
    # The two parts are disjoint, so no row is validated twice (a repeated row would fail uniqueness).
    frame = con.execute(
        f"""SELECT {projection} FROM (SELECT * FROM ({query}) WHERE NOT {suspect})
                USING SAMPLE {100 * SAMPLE_ROWS / total:.6f}% (bernoulli, 42)
            UNION ALL
            (SELECT {projection} FROM ({query}) WHERE {suspect} LIMIT {SUSPECT_ROWS})""",
        {"month": month, **params},
    ).df()
    return frame, total


def validate_month(con: duckdb.DuckDBPyConnection, suite_name: str, suite: dict, period: BillingPeriod) -> SuiteOutcome:
    """The suite on the month's rows (sampled above SAMPLE_ROWS, with every suspect row)."""
    resolved = resolve_placeholders(suite, period)
    frame, total = month_frame(con, suite_name, period, suite_columns(suite), resolved)
    return validate(frame, resolved, total)


def validate(frame, suite: dict, rows_total: int) -> SuiteOutcome:
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("csp_recon")
        .add_dataframe_asset("month")
        .add_batch_definition_whole_dataframe("rows")
    )
    gx_suite = context.suites.add(ExpectationSuite(name=suite["name"], expectations=suite["expectations"]))
    # COMPLETE: the index of every failing row, to name its file and line.
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx_suite, result_format="COMPLETE"
    )
    outcome = SuiteOutcome(
        suite=suite["name"],
        table=suite.get("meta", {}).get("table", ""),
        severity=suite.get("meta", {}).get("severity", "ERROR"),
        rows_total=rows_total,
        rows_validated=len(frame),
        expectations=len(result.results),
    )
    for item in result.results:
        config = item.expectation_config
        assert config is not None, "GX reports every result with its expectation"
        raised = _raised(item.exception_info)
        if raised:
            raise SuiteError(
                f"suite {suite['name']}: {config.type} on {config.kwargs.get('column', '')} raised: {raised}"
            )
        if not item.success:
            outcome.failures.append(
                {
                    "expectation": config.type,
                    "column": config.kwargs.get("column") or config.kwargs.get("column_list") or "",
                    "kwargs": dict(config.kwargs),
                    "means": (config.meta or {}).get("means"),
                    "unexpected_count": item.result.get("unexpected_count"),
                    "examples": [str(v) for v in (item.result.get("partial_unexpected_list") or [])[:5]],
                    "rows": _failing_rows(frame, item.result, config.kwargs.get("column")),
                    "observed": str(item.result.get("observed_value", ""))[:200],
                }
            )
    return outcome


def _failing_rows(frame, result: dict, column: str | None) -> list[tuple[str, int, str]]:
    """(file, line, value) of each failing row GX points at, when the frame has the lineage."""
    indexes = result.get("unexpected_index_list") or []
    if not indexes or not set(LINEAGE) <= set(frame.columns) or not all(isinstance(i, int) for i in indexes):
        return []
    picked = frame.loc[indexes]
    values = picked[column] if column in frame.columns else [""] * len(picked)
    return [
        (str(file_name), int(line), "" if value is None or value != value else str(value))
        for file_name, line, value in zip(picked["source_file"], picked["source_line"], values)
    ]


def outcome_sentences(outcome: SuiteOutcome) -> list[str]:
    """One clerk's sentence per failed expectation."""
    return [failure_sentence(failure, outcome.table) for failure in outcome.failures]


def _raised(exception_info: dict | None) -> str | None:
    """GX reports code errors inside results; both its flat and per-metric shapes are read."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        return exception_info.get("exception_message") if exception_info["raised_exception"] else None
    for detail in exception_info.values():
        if isinstance(detail, dict) and detail.get("raised_exception"):
            return detail.get("exception_message") or "an exception"
    return None
