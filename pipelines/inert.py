"""Untrusted text (customer and file names, rejected values) made inert for where it is shown:
the Dagster UI's markdown (metadata tables and check descriptions) and the terminal."""

from __future__ import annotations

import html
import re

# ANSI/VT escape sequences (CSI, OSC, other ESC-introduced) first, then any other control
# character: a file name must not colour, move or rewrite what the clerk reads.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Markdown that would turn a name into a link, an image, code, emphasis, a heading or a table cell.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!~|])")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+!~|])")


def printable(text: object) -> str:
    """`text` for the terminal: escape sequences and control characters removed, line breaks kept."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", "" if text is None else str(text)))


def inert_markdown(value: object) -> str:
    """Untrusted text for any markdown the Dagster UI renders (MetadataValue.md, check
    descriptions): shown as written, never a link, image, HTML, code, emphasis or table cell of
    its own; bare web and mail addresses are not made clickable; one line."""
    text = printable(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = _MARKDOWN.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("://", ":&#47;&#47;").replace("www.", "www&#46;").replace("@", "&#64;")


def plain_text(markdown: str | None) -> str:
    """What `inert_markdown` made of a text, back as the text (for the terminal)."""
    return html.unescape(_ESCAPED.sub(r"\1", markdown or ""))
