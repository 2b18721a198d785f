"""Explain a failed dbt build in the words its tests were written in."""

from collections.abc import Callable, Mapping
from typing import Any

ProblemQuery = Callable[[str], list[str]]


def describe_dbt_failures(
    run_results: Mapping[str, Any], problems_of: ProblemQuery, examples: int = 3, stopped: str | None = None
) -> str:
    """One line per failed node. Configuration checks select a `problem` sentence per bad row:
    those sentences are quoted, so the message says what to fix, not just which test failed.
    `stopped`: dbt's own error when it ran no node (a broken project, profile or file)."""
    lines = []
    for result in run_results.get("results", []):
        if result.get("status") not in ("fail", "error"):
            continue
        name = result["unique_id"].split(".")[-1]
        sentences: list[str] = []
        if result.get("status") == "fail" and "as problem" in (result.get("compiled_code") or ""):
            sentences = problems_of(f"select problem from ({result['compiled_code']}) limit {examples}")
        detail = "; ".join(sentences) if sentences else (result.get("message") or "failed")
        lines.append(f"dbt {name}: {detail}")
    if lines:
        return "\n".join(lines)
    if stopped:
        return f"dbt stopped before running any model: {stopped}"
    return "dbt failed before running any model (see the run log)"
