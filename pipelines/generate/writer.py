"""Writing CSV files the way Partner Center does: UTF-8 with BOM, CRLF, minimal quoting."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.formats import Column

WRITE_BUFFER_BYTES = 1 << 20


@contextmanager
def csv_file(path: Path) -> Iterator[Any]:
    """A CSV writer for `path`. The file appears under its name only once complete, so a
    file sensor watching the landing folder never picks up half a file."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8-sig", newline="", buffering=WRITE_BUFFER_BYTES) as handle:
            yield csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class RowLayout:
    """The columns of one file, in the order formats.py gives. Rows are built from a
    template per subscription; only the values that change per line are set per row."""

    def __init__(self, columns: Iterable[Column]) -> None:
        self.header = tuple(column.name for column in columns)
        self._position = {name: index for index, name in enumerate(self.header)}

    def positions(self, names: Iterable[str]) -> tuple[int, ...]:
        return tuple(self._position[name] for name in names)

    def template(self, values: Mapping[str, str], set_per_row: Iterable[str]) -> list[str]:
        """A row holding `values`; the `set_per_row` columns are left blank for each line to
        fill. Values for optional columns this layout leaves out are ignored."""
        per_row = set(set_per_row)
        missing = [name for name in self.header if name not in values and name not in per_row]
        if missing:
            raise ValueError(f"the generator gives no value for column(s) {', '.join(missing)}")
        return [values.get(name, "") for name in self.header]
