"""The issuing gate: a month's invoices and published copy exist only if its blocking checks pass
on the data as it is now, whatever run (backfill, partial selection, re-executed step) asks.

A check's verdict recorded in another run may be about other data (a re-ingest since), so the
gate judges the warehouse itself, in the same process and pool slot as the step it guards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import duckdb

# A blocking check: the month's problems in sentences, empty when it passes.
Judgement = Callable[[duckdb.DuckDBPyConnection, date], list[str]]


@dataclass(frozen=True)
class GateVerdict:
    month: date
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def sentence(self, what: str) -> str:
        listed = "; ".join(self.problems)
        return f"{what} for {self.month:%Y-%m} not produced: the month's blocking checks do not pass on its current data ({listed})."


def judge_month(con: duckdb.DuckDBPyConnection, month: date, checks: Iterable[tuple[str, Judgement]]) -> GateVerdict:
    """Every blocking check on the month; a check that cannot run (missing table) fails the gate."""
    problems = []
    for name, judge in checks:
        try:
            found = judge(con, month)
        except duckdb.Error as error:
            found = [f"could not be evaluated ({str(error).splitlines()[0]})"]
        problems += [f"{name}: {problem}" for problem in found]
    return GateVerdict(month, tuple(problems))
