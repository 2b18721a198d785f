"""The marts that show the close (`marts.billing_periods`, `marts.payables_calendar`) are rebuilt
by every run; after an approval or an issue they are rebuilt at once, so analysts see the
status and the due dates without waiting for the next run."""

from __future__ import annotations

import subprocess

from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, DataPaths, child_environment
from pipelines.warehouse_file import connect_waiting

CLOSING_MARTS = ("billing_periods", "payables_calendar")


def refresh_closing_marts(paths: DataPaths, environment: dict[str, str]) -> str | None:
    """Rebuild the two marts with dbt; None when done, else why not (the status itself is recorded)."""
    with connect_waiting(paths.warehouse, read_only=True) as con:
        found = {
            row[0]
            for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        }
    if "customer_monthly" not in found:
        return "the marts are built by the month's first run"
    command = [
        str(DBT_EXECUTABLE),
        "run",
        "--select",
        *CLOSING_MARTS,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--quiet",
    ]
    done = subprocess.run(
        command, cwd=DBT_PROJECT_DIR, env=child_environment(environment), capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"dbt could not rebuild {', '.join(CLOSING_MARTS)}: {(done.stdout + done.stderr).strip().splitlines()[-1:] or 'no output'}"
    return None
