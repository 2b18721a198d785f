"""What a month's run is doing while the CLI waits for it, and how long each step took.

The run happens in Dagster's run worker; the CLI only reads the run's events. On a terminal the
current step, the steps done and the rows loaded so far are shown on one live line (stderr, so
what the CLI prints to stdout stays the summary); the summary then lists every step's duration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
}
ENDED = {
    dg.DagsterEventType.STEP_SUCCESS: "done",
    dg.DagsterEventType.STEP_FAILURE: "failed",
    dg.DagsterEventType.STEP_SKIPPED: "skipped",
}


@dataclass(frozen=True)
class StepTime:
    step: str
    seconds: float
    outcome: str  # done / failed / skipped / unfinished


def step_times(entries: Iterable[dg.EventLogEntry]) -> list[StepTime]:
    """Each step of the run in the order it started, with its duration and how it ended."""
    started: dict[str, float] = {}
    ended: dict[str, tuple[float, str]] = {}
    last = 0.0
    for entry in entries:
        event = entry.dagster_event
        last = max(last, entry.timestamp)
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started.setdefault(event.step_key, entry.timestamp)
        elif event.event_type in ENDED:
            ended[event.step_key] = (entry.timestamp, ENDED[event.event_type])
            started.setdefault(event.step_key, entry.timestamp)
    times = []
    for step, start in sorted(started.items(), key=lambda item: item[1]):
        end, outcome = ended.get(step, (last, "unfinished"))
        times.append(StepTime(step, max(0.0, end - start), outcome))
    return times


def duration_lines(times: list[StepTime]) -> list[str]:
    """The summary's lines: slowest steps matter, so every step is listed with its seconds."""
    width = max((len(time.step) for time in times), default=0)
    lines = [
        f"  {time.step:<{width}}  {time.seconds:7.1f} s" + ("" if time.outcome == "done" else f"  ({time.outcome})")
        for time in times
    ]
    total = sum(time.seconds for time in times)
    return [*lines, f"  {'all steps':<{width}}  {total:7.1f} s"]


def rows_loaded(event: dg.DagsterEvent) -> int:
    """The rows a raw table's materialization says it loaded (0 for any other event)."""
    if event.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
        return 0
    value = event.step_materialization_data.materialization.metadata.get("rows_loaded")
    return int(value.value) if value is not None and isinstance(value.value, int) else 0


class LiveProgress:
    """The live line on a terminal; does nothing when stderr is not one (logs, cron, tests)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, console: Console | None = None) -> None:
        self._instance = instance
        self._run_id = run_id
        self._console = console or Console(stderr=True)
        self._cursor: str | None = None
        self._current = "starting the run"
        self._done = 0
        self._rows = 0
        self._total: int | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._current, total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self) -> None:
        if self._progress is None or self._task is None:
            return
        connection = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, of_type=STEP_EVENTS)
        self._cursor = connection.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                self._current = f"step {event.step_key}"
            elif event.event_type in ENDED:
                self._done += 1
            self._rows += rows_loaded(event)
        rows = f", {self._rows:,} rows loaded" if self._rows else ""
        self._progress.update(
            self._task, completed=self._done, total=self._total_steps(), description=self._current + rows
        )

    def _total_steps(self) -> int | None:
        if self._total is None:
            run = self._instance.get_run_by_id(self._run_id)
            if run is not None and run.execution_plan_snapshot_id is not None:
                self._total = len(self._instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id).steps)
        return self._total
