"""Untrusted text (customer and file names, rejected values) made inert for where it is shown:
the Dagster UI's markdown metadata tables and the terminal."""

from __future__ import annotations

import re

import dagster as dg

PREVIEW_ROWS = 20

# ANSI/VT escape sequences (CSI, OSC, other ESC-introduced) first, then any other control
# character: a file name must not colour, move or rewrite what the clerk reads.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Markdown that would turn a name into a link, an image, code or emphasis.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!~])")


def printable(text: object) -> str:
    """`text` for the terminal: escape sequences and control characters removed, line breaks kept."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", "" if text is None else str(text)))


def markdown_cell(value: object) -> str:
    """Customer and file names are untrusted: nothing in them may break the table or inject markup
    (links, images, HTML), and bare addresses are not made clickable."""
    text = printable(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = _MARKDOWN.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("://", ":&#47;&#47;").replace("www.", "www&#46;")


def markdown_table(rows: list[tuple], headers: tuple[str, ...], limit: int = PREVIEW_ROWS) -> dg.MetadataValue:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n{len(rows) - limit} more not shown.")
    return dg.MetadataValue.md("\n".join(lines))
