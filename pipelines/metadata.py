"""Tables shown in the Dagster UI's metadata panels, built from untrusted text safely."""

from __future__ import annotations

import dagster as dg

PREVIEW_ROWS = 20


def markdown_cell(value: object) -> str:
    """Customer and file names are untrusted: nothing in them may break the table or inject markup."""
    text = "" if value is None else str(value)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    )


def markdown_table(rows: list[tuple], headers: tuple[str, ...], limit: int = PREVIEW_ROWS) -> dg.MetadataValue:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n{len(rows) - limit} more not shown.")
    return dg.MetadataValue.md("\n".join(lines))
