"""Where csp-recon keeps its files: one resolver for the data directory and its layout."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "CSP_RECON_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")
PERIOD_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
# dbt installed beside this interpreter: the pipeline runs without the venv on PATH.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


DUCKDB_MEMORY_LIMIT_ENV = "CSP_RECON_DUCKDB_MEMORY_LIMIT"
# Beyond this DuckDB spills to disk instead of growing with the month: a 2.2M-line month peaks
# at ~3.1 GB unbounded (dbt's fct_charges build), well under that with the limit.
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


def duckdb_memory_limit() -> str:
    return os.environ.get(DUCKDB_MEMORY_LIMIT_ENV) or DEFAULT_DUCKDB_MEMORY_LIMIT


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`--data-dir`, else `$CSP_RECON_DATA_DIR`, else `./data`; always absolute."""
    chosen = explicit or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def validate_period(period: str) -> str:
    if not PERIOD_PATTERN.match(period):
        raise ValueError(f"'{period}' is not a billing month: write it as YYYY-MM, e.g. 2026-10.")
    return period


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def landing_root(self) -> Path:
        return self.root / "landing"

    def landing(self, period: str) -> Path:
        return self.inside(self.landing_root / validate_period(period))

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def exports(self, period: str) -> Path:
        return self.inside(self.root / "exports" / validate_period(period))

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def published_warehouse(self) -> Path:
        return self.published_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        """Dagster's runs, schedules and sensor cursors, when $DAGSTER_HOME does not say otherwise."""
        return self.root / "dagster_home"

    @property
    def dbt_targets(self) -> Path:
        """dbt's target folder of each run, and the parse state its next run starts from."""
        return self.root / "dbt"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def locks(self) -> Path:
        """Each month's run lock (`run_lock.py`): files the kernel locks, never to delete by hand."""
        return self.root / "locks"

    @property
    def scratch(self) -> Path:
        """Transcoded copies and other temporary files, kept inside the data directory."""
        return self.root / ".scratch"

    def inside(self, path: Path) -> Path:
        """Refuse any path that would escape the data directory."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise ValueError(f"{path} is outside the data directory {self.root}.")
        return resolved
