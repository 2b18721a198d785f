"""The dbt project and its manifest, built on demand where `dagster dev` is not there to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.defs.resources import WAREHOUSE_ENV
from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, resolve_data_dir

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """`dbt parse` when the manifest is missing: tests, CI, the CLI and the daemon all need it."""
    if not project.manifest_path.exists():
        environment = {WAREHOUSE_ENV: str(resolve_data_dir() / "warehouse.duckdb"), **os.environ}
        subprocess.run(
            [str(DBT_EXECUTABLE), "parse", "--quiet"],
            cwd=project.project_dir,
            env=environment,
            check=True,
        )
    return project.manifest_path
