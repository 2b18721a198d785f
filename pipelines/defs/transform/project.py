"""The dbt project and its manifest. The manifest is parsed by `make manifest` and by every
csp-recon command that runs the pipeline, before it loads the definitions; loading them never
runs dbt."""

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
    """The manifest, parsed first when missing (a fresh install's first command)."""
    return project.manifest_path if project.manifest_path.exists() else prepare_manifest(settings, project)


def parsed_manifest(project: DbtProject = dbt_project) -> Path:
    """The manifest the definitions are built from, which must exist already."""
    if not project.manifest_path.exists():
        raise FileNotFoundError(
            f"The dbt project is not parsed yet ({project.manifest_path} is missing): run `make manifest`, "
            "or any csp-recon command, which parses it first."
        )
    return project.manifest_path
