"""The Dagster instance csp-recon runs in: persistent, under the data directory by default."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.settings import REPO_ROOT, DataPaths

DAGSTER_HOME_ENV = "DAGSTER_HOME"
INSTANCE_SETTINGS = REPO_ROOT / "dagster.yaml"


def prepare_dagster_home(paths: DataPaths) -> Path:
    """$DAGSTER_HOME if set, else `<data>/dagster_home`, holding the project's dagster.yaml.

    The default home always gets the committed settings; a home the user chose keeps its own
    dagster.yaml if it has one. The environment is left as it is: callers pass the path on.
    """
    chosen = os.environ.get(DAGSTER_HOME_ENV)
    home = Path(chosen) if chosen else paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not (chosen and settings.exists()) and (not settings.exists() or settings.read_bytes() != INSTANCE_SETTINGS.read_bytes()):
        shutil.copyfile(INSTANCE_SETTINGS, settings)
    return home
