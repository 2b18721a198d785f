"""Opening the pipeline's DuckDB file, which one process at a time may hold.

DuckDB lets one process open a file read-write, or several read-only, never both. Inside a run the
`warehouse` pool keeps steps apart, but the quarantine sensor, the closing commands and the CLI's
summary are outside it: each holds the file for a second or two. Anything that opens the
warehouse waits for such a holder to let go instead of failing the month on a lock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from pipelines.settings import DEFAULT_LOCK_WAIT_SECONDS

LOCK_POLL_SECONDS = 0.5
# DuckDB names the holder: "Conflicting lock is held in /usr/bin/duckdb (PID 4242) by user ana."
_HOLDER = re.compile(r"lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>[^.\s]+))?")


class WarehouseLocked(duckdb.IOException):
    """Another process kept the file locked for longer than the wait: a sentence naming the file
    and, when DuckDB says, the holder."""

    def __init__(self, path: Path | str, error: BaseException, waited: float) -> None:
        self.path = Path(path)
        found = _HOLDER.search(str(error))
        self.pid = int(found["pid"]) if found else None
        self.program = found["program"] if found else None
        self.user = found["user"] if found else None
        holder = ""
        if found:
            by = f" of user {self.user}" if self.user else ""
            holder = f" (process {self.pid}{by}: {Path(found['program']).name})"
        super().__init__(
            f"The warehouse {self.path} is held by another program{holder}, still after waiting {waited:.0f} s: "
            "close it (an analyst's DuckDB CLI, DBeaver or Python session; analysts query the copy in the "
            "published folder instead), then try again."
        )


def is_lock_conflict(error: BaseException) -> bool:
    """DuckDB's "Could not set lock on file ...": another process holds the file."""
    return isinstance(error, WarehouseLocked) or (
        isinstance(error, duckdb.IOException) and "could not set lock" in str(error).lower()
    )


def connect_waiting(
    path: Path | str,
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """A connection to `path`, retried while another process holds the file, for `wait_seconds`
    at most (`Settings.lock_wait_seconds`); then WarehouseLocked, a sentence."""
    wait = max(0.0, wait_seconds)
    started = clock()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise
            if clock() - started >= wait:
                raise WarehouseLocked(path, error, clock() - started) from None
        sleep(LOCK_POLL_SECONDS)
