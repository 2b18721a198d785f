"""What is wrong with the partner's configuration, in a billing clerk's words."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f" line {self.line}" if self.line else "") + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class ConfigError(ValueError):
    """The configuration cannot be used: every problem found, each naming file, line and field."""

    def __init__(self, directory: str, problems: list[ConfigProblem]):
        self.problems = tuple(problems)
        shown = [str(problem) for problem in problems[:MAX_PROBLEMS_SHOWN]]
        more = f"\n  (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__(
            f"The configuration in {directory} needs correcting before anything is billed:\n  "
            + "\n  ".join(shown)
            + more
        )
