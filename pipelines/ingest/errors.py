"""Errors a billing clerk can act on: which file, which line, which column, what to do."""

from __future__ import annotations


class IngestError(Exception):
    """A file the month cannot be loaded with. The message is one plain sentence."""

    def __init__(
        self,
        file_name: str,
        problem: str,
        action: str,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.line = line
        self.column = column
        self.problem = problem
        self.action = action
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [f"file '{self.file_name}'"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.problem}; {self.action}."
