"""The issuing gate: a month's invoices and published copy exist only if its blocking checks pass
on the data as it is now, whatever run (backfill, partial selection, re-executed step) asks.

A check's verdict recorded in another run may be about other data (a re-ingest since), so the
gate judges the warehouse itself, in the same process and pool slot as the step it guards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb

from pipelines.periods import BillingPeriod

# A blocking check: the month's problems in sentences, empty when it passes.
Judgement = Callable[[duckdb.DuckDBPyConnection, BillingPeriod], list[str]]


@dataclass(frozen=True)
class GateVerdict:
    period: BillingPeriod
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def sentence(self, what: str) -> str:
        listed = "; ".join(self.problems)
        return f"{what} for {self.period} not produced: the month's blocking checks do not pass on its current data ({listed})."


def judge_month(
    con: duckdb.DuckDBPyConnection, period: BillingPeriod, checks: Iterable[tuple[str, Judgement]]
) -> GateVerdict:
    """Every blocking check on the month; a check that cannot run (missing table) fails the gate."""
    problems = []
    for name, judge in checks:
        try:
            found = judge(con, period)
        except duckdb.Error as error:
            found = [f"could not be evaluated ({str(error).splitlines()[0]})"]
        problems += [f"{name}: {problem}" for problem in found]
    return GateVerdict(period, tuple(problems))
