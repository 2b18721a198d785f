"""Opening the pipeline's DuckDB file, which one process at a time may hold.

DuckDB lets one process open a file read-write, or several read-only, never both. Inside a run the
`warehouse` pool keeps steps apart, but the quarantine sensor, the closing commands and the CLI's
summary are outside it: each holds the file for a second or two. Anything that opens the
warehouse waits for such a holder to let go instead of failing the month on a lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

LOCK_WAIT_SECONDS = 120.0
LOCK_POLL_SECONDS = 0.5


def is_lock_conflict(error: BaseException) -> bool:
    """DuckDB's "Could not set lock on file ...": another process holds the file."""
    return isinstance(error, duckdb.IOException) and "could not set lock" in str(error).lower()


def connect_waiting(
    path: Path | str,
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """A connection to `path`, retried while another process holds the file, for `wait_seconds` at most."""
    deadline = clock() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            if not is_lock_conflict(error) or clock() >= deadline:
                raise
        sleep(LOCK_POLL_SECONDS)
