"""A warehouse built straight from raw rows, and dbt run on it as the pipeline runs it.

dbt-level tests write hand-made or Microsoft-published lines into `raw.*` (the tables the
ingest creates) and run `dbt` with the months in the environment, exactly as the transform
asset does, without going through the files and the ingest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

import duckdb

from pipelines.config import SAMPLE_DIR, load_config, load_into_warehouse
from pipelines.ingest.schema import ensure_raw_schema
from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, DataPaths, Settings, dbt_environment

MART_TABLES = (
    "marts.fct_charges",
    "marts.customer_monthly",
    "marts.customer_invoice_lines",
    "marts.invoice_reconciliation",
    "marts.reseller_monthly",
)


def new_warehouse(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = DataPaths(data_dir).warehouse
    with duckdb.connect(str(path)) as con:
        ensure_raw_schema(con)
        # The partner's configuration, as the config asset loads it before dbt: the shipped sample.
        load_into_warehouse(con, load_config(SAMPLE_DIR))
    return path


def insert_rows(warehouse: Path, table: str, period: str, rows: Sequence[Mapping[str, object]], file_name: str) -> None:
    """Rows as the ingest loads them: typed values, plus the lineage of a file of that name."""
    month = date.fromisoformat(f"{period}-01")
    sha = hashlib.sha256(f"{table}:{period}:{file_name}".encode()).hexdigest()
    with duckdb.connect(str(warehouse)) as con:
        for line, row in enumerate(rows, start=2):
            values = {**row, "billing_period": month, "source_file": file_name, "source_line": line, "file_sha256": sha}
            names = list(values)
            con.execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [values[name] for name in names],
            )


def dbt(data_dir: Path, periods: Iterable[str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`dbt <args>` on this warehouse for these months (YYYY-MM), in a target folder of its own
    so tests running side by side do not share dbt's artefacts."""
    target = data_dir / "dbt_target"
    environment = {
        **os.environ,
        **dbt_environment(Settings(data_dir=data_dir), list(periods)),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    result = subprocess.run(
        [str(DBT_EXECUTABLE), *args], cwd=DBT_PROJECT_DIR, env=environment, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    return result


def query(warehouse: Path, sql: str, params: Sequence | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params or [])).fetchall()


def dicts(warehouse: Path, sql: str, params: Sequence | None = None) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, list(params or []))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def month_rows(warehouse: Path, table: str, period: str) -> list[tuple]:
    """A mart's rows of one month, sorted, to compare two warehouses table by table."""
    return sorted(
        query(warehouse, f"SELECT * FROM {table} WHERE billing_period = ?", [date.fromisoformat(f"{period}-01")]),
        key=repr,
    )
