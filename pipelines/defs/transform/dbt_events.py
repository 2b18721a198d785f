"""A dbt build as the Dagster events of the dbt assets, read from its run results.

Each model dbt built is a materialization; each test that is an asset check is that check's
result. The other tests (on the configuration sources, on an ephemeral model, across several
models) are not checks of one asset: their verdicts are stored with the month's fingerprint
(quality.dbt_test_results) and a failing one fails the step with its sentence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

UNIQUE_ID = "dagster_dbt/unique_id"  # dagster-dbt's metadata key naming a spec's dbt node
BUILT = {"success"}
CHECK_PASSED = {"pass"}
CHECK_WARNED = {"warn"}
CHECK_RAN = {"pass", "warn", "fail", "error"}  # a skipped test has no verdict


def dbt_selection(context: dg.AssetExecutionContext) -> list[str]:
    """dbt's `--select` for what the run selected: every node, or (a subset chosen in the UI, a
    re-execution of some assets) the selected models and the tests of the selected checks."""
    assets_def = context.assets_def
    if not context.is_subset:
        return ["fqn:*"]
    models = [assets_def.specs_by_key[key].metadata[UNIQUE_ID] for key in context.selected_asset_keys]
    tests = [
        spec.metadata[UNIQUE_ID] for spec in assets_def.check_specs if spec.key in context.selected_asset_check_keys
    ]
    return [_node_name(unique_id) for unique_id in (*models, *tests)]


def _node_name(unique_id: str) -> str:
    """A node's dbt selector: its name, unique within the project (`model.csp_recon.fct_charges`)."""
    return unique_id.split(".", 2)[2]


def dbt_events(
    context: dg.AssetExecutionContext, run_results: Mapping[str, Any]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """A materialization per model built and a result per selected check that ran, in dbt's order."""
    assets_def = context.assets_def
    keys_by_node = {spec.metadata[UNIQUE_ID]: spec.key for spec in assets_def.specs}
    checks_by_node = {
        spec.metadata[UNIQUE_ID]: spec
        for spec in assets_def.check_specs
        if spec.key in context.selected_asset_check_keys
    }
    for result in run_results.get("results", []):
        node, status = result.get("unique_id", ""), result.get("status")
        key = keys_by_node.get(node)
        if key is not None and key in context.selected_asset_keys and status in BUILT:
            yield dg.MaterializeResult(asset_key=key, metadata=_timing(result))
        check = checks_by_node.get(node)
        if check is not None and status in CHECK_RAN:
            failures = result.get("failures")
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=status in CHECK_PASSED,
                severity=dg.AssetCheckSeverity.WARN if status in CHECK_WARNED else dg.AssetCheckSeverity.ERROR,
                description=None if status in CHECK_PASSED else _verdict(check, result),
                metadata={
                    **_timing(result),
                    "status": status,
                    **({} if failures is None else {"failed_row_count": failures}),
                },
            )


def _timing(result: Mapping[str, Any]) -> dict[str, Any]:
    return {"dbt_unique_id": result["unique_id"], "execution_seconds": round(result.get("execution_time") or 0.0, 3)}


def _verdict(check: dg.AssetCheckSpec, result: Mapping[str, Any]) -> str:
    """What failed, in the test's words: its description, then dbt's count or error."""
    said = (result.get("message") or "").strip()
    return f"{check.description or check.name} ({said or result.get('status')})"
