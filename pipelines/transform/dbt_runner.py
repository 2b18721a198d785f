"""dbt in this process (dbt-core's `dbtRunner`), not as a second Python.

A month's `dbt build` used to start dbt twice more (dagster-dbt's `dbt --version`, then dbt
itself), each importing dbt and setting up the DuckDB adapter again: about 3 to 5 s of a small
month's run for a few seconds of dbt's own work.

Each invocation writes its artifacts and logs into its own folder of the data directory's dbt
state (`<data>/dbt/<run>/`); dbt's parse state travels from one invocation to the next there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.files import write_whole
from pipelines.settings import DBT_PROJECT_DIR, environment_for_dbt

RUN_RESULTS = "run_results.json"
PARSE_STATE = "partial_parse.msgpack"
# The compiled SQL and run results of the latest invocations stay for inspection; older ones go.
KEPT_TARGETS = 10
# Usage statistics would be a network call from every run of a machine that has none.
QUIET_ENVIRONMENT = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@dataclass(frozen=True)
class DbtInvocation:
    """What one dbt command did: whether every node passed, and its run results."""

    success: bool
    run_results: Mapping[str, Any] = field(default_factory=lambda: {"results": []})
    # Why dbt stopped before running its nodes (a broken project or profile, a held file).
    error: str | None = None


def invoke_dbt(
    args: Sequence[str],
    environment: Mapping[str, str],
    state_dir: Path,
    run_name: str,
    project_dir: Path = DBT_PROJECT_DIR,
) -> DbtInvocation:
    """`dbt <args>` with `environment` over this process's while it runs, its artifacts in
    `state_dir/run_name`."""
    from dbt.cli.main import dbtRunner  # dbt's CLI and tasks: imported by the step that runs dbt

    target = state_dir / run_name
    start_from_last_parse(state_dir, target)
    target.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target),
        "--log-path",
        str(target),
    ]
    with environment_for_dbt({**QUIET_ENVIRONMENT, **environment}):
        try:
            result = dbtRunner().invoke(command)
        finally:
            _release_warehouse()
    keep_parse_state(target, state_dir)
    if result.exception is not None and not isinstance(result.exception, Exception):
        raise result.exception  # an interrupt (Ctrl-C, a stop from the UI) stops the step as it came
    results_file = target / RUN_RESULTS
    run_results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {"results": []}
    error = None if result.exception is None else str(result.exception).strip() or repr(result.exception)
    return DbtInvocation(success=bool(result.success), run_results=run_results, error=error)


def _release_warehouse() -> None:
    """dbt-duckdb keeps its database open for the life of the process (one open for all of a
    build's nodes): closed once dbt is done, so the step's own connections, with the pipeline's
    settings, and other processes can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # dbt stopped before connecting
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()


def start_from_last_parse(state_dir: Path, target: Path) -> None:
    """dbt reparses the whole project when its profile changes, and the warehouse path is in the
    profile: the parse state is kept per data directory, so only a data directory's first run
    pays for a full parse (about 7 s)."""
    kept = state_dir / PARSE_STATE
    if kept.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, target / PARSE_STATE)


def keep_parse_state(target: Path, state_dir: Path) -> None:
    written = target / PARSE_STATE
    if written.exists():
        write_whole(state_dir / PARSE_STATE, written.read_bytes())
    _prune_targets(state_dir)


def _prune_targets(state_dir: Path) -> None:
    if not state_dir.is_dir():  # dbt stopped before writing anything
        return
    targets = sorted((path for path in state_dir.iterdir() if path.is_dir()), key=lambda path: path.stat().st_mtime)
    for old in targets[:-KEPT_TARGETS]:
        shutil.rmtree(old, ignore_errors=True)
