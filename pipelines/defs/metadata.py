"""Metadata and check results as the Dagster UI shows them, with every untrusted text inert."""

from __future__ import annotations

import dagster as dg

from pipelines.inert import inert_markdown

PREVIEW_ROWS = 20


def inert_check(result: dg.AssetCheckResult) -> dg.AssetCheckResult:
    """A check result as the UI gets it: its description, which the UI renders as markdown and
    which names customers, files and values from the files, made inert."""
    if result.description is None:
        return result
    return result._replace(description=inert_markdown(result.description))


def markdown_table(rows: list[tuple], headers: tuple[str, ...], limit: int = PREVIEW_ROWS) -> dg.MetadataValue:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(inert_markdown(value) for value in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n{len(rows) - limit} more not shown.")
    return dg.MetadataValue.md("\n".join(lines))
