"""Tell a file's kind from its header, never its name, and map its columns by name."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.formats import COLUMNS_BY_KIND, SIGNATURE_COLUMNS, Column, FileKind, header_key
from pipelines.ingest.errors import IngestError


@dataclass(frozen=True)
class RecognisedHeader:
    kind: FileKind
    # One entry per header position: the known column it holds, or None for an extra column.
    positions: tuple[Column | None, ...]
    header: tuple[str, ...]

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return tuple(name for name, column in zip(self.header, self.positions) if column is None)


def _lookup(kind: FileKind) -> dict[str, Column]:
    keys: dict[str, Column] = {}
    for column in COLUMNS_BY_KIND[kind]:
        for name in (column.name, *column.aliases):
            keys[header_key(name)] = column
    return keys


_LOOKUPS = {kind: _lookup(kind) for kind in FileKind}
# A header holding most of a kind's required columns is that kind with a column missing (said
# so, by name), not a file of no known kind.
LIKELY_KIND_SHARE = 0.6


def recognise_header(file_name: str, header: tuple[str, ...]) -> RecognisedHeader | None:
    """The file's kind and column mapping; None when the header is of no known kind."""
    keys = [header_key(name) for name in header]
    for kind in FileKind:
        signature = {header_key(name) for name in SIGNATURE_COLUMNS[kind]}
        if signature <= set(keys):
            return _map_columns(file_name, kind, header, keys)
    likely = max(FileKind, key=lambda kind: _required_share(kind, keys))
    if _required_share(likely, keys) >= LIKELY_KIND_SHARE:
        return _map_columns(file_name, likely, header, keys)  # raises, naming the missing column
    return None


def _required_share(kind: FileKind, keys: list[str]) -> float:
    present = {_LOOKUPS[kind][key].name for key in keys if key in _LOOKUPS[kind]}
    required = [column.name for column in COLUMNS_BY_KIND[kind] if column.required]
    return sum(name in present for name in required) / len(required)


def _map_columns(file_name: str, kind: FileKind, header: tuple[str, ...], keys: list[str]) -> RecognisedHeader:
    lookup = _LOOKUPS[kind]
    positions = tuple(lookup.get(key) for key in keys)
    seen: dict[str, int] = {}
    for index, column in enumerate(positions):
        if column is None:
            continue
        if column.name in seen:
            raise IngestError(
                file_name,
                f"the header names '{column.name}' twice (columns {seen[column.name] + 1} and {index + 1})",
                "remove the duplicate column or download the file again",
                line=1,
                column=header[index],
            )
        seen[column.name] = index
    for column in COLUMNS_BY_KIND[kind]:
        if column.required and column.name not in seen:
            raise IngestError(
                file_name,
                f"this {kind.label} has no '{column.name}' column",
                "download the file again from Partner Center without removing columns",
                line=1,
                column=column.name,
            )
    return RecognisedHeader(kind=kind, positions=positions, header=header)
