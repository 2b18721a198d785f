"""One run per month at a time, whatever starts it in-process (`csp-recon run`, `csp-recon backfill`).

The lock is the kernel's (`flock` on `<data>/locks/run-<YYYY-MM>.lock`), held by the process that
starts and watches the run for as long as the run lasts: a second run of the month is refused at
once, and a process that dies, however it dies, releases it with no leftover to clear. The file
keeps the holder's process id, so the refusal can say who holds the month.

Runs launched from the UI (a backfill, a re-execution), the sensor or the schedule go through the
instance's queue, which lets one run per month start at a time (dagster.yaml); the CLI refuses a
month with a run queued or started there (`month_runs.unfinished_runs_of`), and a
run that slipped past the CLI's check stops at its first step (`month_runs.earlier_run_in_progress`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths


class MonthBusy(Exception):
    """Another process holds the month's run lock."""

    def __init__(self, period: BillingPeriod, holder: int | None, lock_file: Path) -> None:
        self.period, self.holder, self.lock_file = period, holder, lock_file
        by = f" (process {holder})" if holder else ""
        super().__init__(f"another run of {period} is in progress{by}")


def lock_file(paths: DataPaths, period: BillingPeriod) -> Path:
    return paths.locks / f"run-{period.key}.lock"


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


@contextmanager
def month_lock(paths: DataPaths, period: BillingPeriod) -> Iterator[Path]:
    """Hold `period`'s run lock for the block, or raise MonthBusy at once if another process has it."""
    path = lock_file(paths, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="ascii") as held:
        try:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MonthBusy(period, _holder(path), path) from None
        held.truncate(0)
        held.write(f"{os.getpid()}\n")
        held.flush()
        try:
            yield path
        finally:
            held.truncate(0)  # the kernel releases the lock when the file closes
