"""The dbt project and its manifest, built on demand where `dagster dev` is not there to."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Settings, child_environment, dbt_environment

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest(settings: Settings, project: DbtProject = dbt_project) -> Path:
    """`dbt parse` in the environment runs use, so their partial parsing can reuse its work."""
    environment = child_environment(dbt_environment(settings))
    subprocess.run([str(DBT_EXECUTABLE), "parse", "--quiet"], cwd=project.project_dir, env=environment, check=True)
    return project.manifest_path


def ensure_manifest(settings: Settings, project: DbtProject = dbt_project) -> Path:
    """The manifest, parsed when missing: tests, CI, the CLI and the daemon all need it."""
    return project.manifest_path if project.manifest_path.exists() else prepare_manifest(settings, project)
