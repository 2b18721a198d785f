"""The Great Expectations suites in `expectations/`, each an asset check on its table.

Suites of severity ERROR block what is downstream of their table; WARN suites (row
arithmetic, where Microsoft's own figures are not always exact) are shown, never blocking.
A suite that raises is an error of the check, never a pass.
"""

import dagster as dg

from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.periods import BillingPeriod
from pipelines.quality.gx_suites import (
    load_suite,
    outcome_sentences,
    suite_names,
    validate_month,
)


def suite_check(name: str) -> dg.AssetChecksDefinition:
    suite = load_suite(name)
    meta = suite.get("meta", {})
    severity = dg.AssetCheckSeverity.WARN if meta.get("severity") == "WARN" else dg.AssetCheckSeverity.ERROR

    @dg.asset_check(
        asset=dg.AssetKey(meta["table"].split(".")),
        name=f"gx_{name}",
        description=meta.get("notes"),
        blocking=severity == dg.AssetCheckSeverity.ERROR,
        partitions_def=monthly_partitions,
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            outcome = validate_month(con, name, suite, BillingPeriod.parse(context.partition_key))
        total = outcome.rows_total
        sampled = f" (in a sample of {outcome.rows_validated:,} of its {total:,} rows)" if outcome.sampled else ""
        sentences = outcome_sentences(outcome)
        return inert_check(
            dg.AssetCheckResult(
                passed=outcome.passed,
                severity=severity,
                description=(
                    f"{meta['table']}{sampled}: " + "; ".join(sentences)
                    if outcome.failures
                    else f"{outcome.expectations} expectations met on {total:,} rows{sampled}"
                ),
                metadata={
                    "rows": total,
                    "rows_validated": outcome.rows_validated,
                    "expectations": outcome.expectations,
                    "failed_expectations": len(outcome.failures),
                    "failures": markdown_table(
                        [
                            (f["expectation"], str(f["column"]), f["unexpected_count"], sentence)
                            for f, sentence in zip(outcome.failures, sentences)
                        ],
                        ("expectation", "column", "failing rows", "where and what"),
                    ),
                },
            )
        )

    return _check


gx_suite_checks = [suite_check(name) for name in suite_names()]
