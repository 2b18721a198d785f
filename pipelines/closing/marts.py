"""The marts that show the close (`marts.billing_periods`, `marts.payables_calendar`) are rebuilt
by every run; after an approval or an issue they are rebuilt at once, so analysts see the
status and the due dates without waiting for the next run."""

from __future__ import annotations

import uuid

from pipelines.settings import DEFAULT_LOCK_WAIT_SECONDS, DataPaths
from pipelines.transform.dbt_runner import invoke_dbt
from pipelines.warehouse_file import connect_waiting

CLOSING_MARTS = ("billing_periods", "payables_calendar")


def refresh_closing_marts(
    paths: DataPaths, environment: dict[str, str], *, wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
) -> str | None:
    """Rebuild the two marts with dbt; None when done, else why not (the status itself is recorded)."""
    with connect_waiting(paths.warehouse, read_only=True, wait_seconds=wait_seconds) as con:
        found = {
            row[0]
            for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        }
    if "customer_monthly" not in found:
        return "the marts are built by the month's first run"
    done = invoke_dbt(
        ["run", "--select", *CLOSING_MARTS, "--quiet"],
        environment=environment,
        state_dir=paths.dbt_targets,
        run_name=f"closing-{uuid.uuid4().hex[:12]}",
    )
    if not done.success:
        failed = [
            result.get("message") for result in done.run_results.get("results", []) if result.get("status") == "error"
        ]
        why = (
            done.error or "; ".join(message for message in failed if message) or "see the dbt log in the data directory"
        )
        return f"dbt could not rebuild {', '.join(CLOSING_MARTS)}: {why}"
    return None
