"""The Dagster instance csp-recon runs in: persistent, under the data directory by default."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from pipelines.settings import REPO_ROOT, Settings

INSTANCE_SETTINGS = REPO_ROOT / "dagster.yaml"
# `csp-recon run` launches through this home: the same storage as the instance, but runs start at
# once (no daemon needed for a CLI run) instead of waiting in the UI's queue.
LAUNCH_HOME = "cli_launch"


def prepare_dagster_home(settings: Settings) -> Path:
    """$DAGSTER_HOME if set, else `<data>/dagster_home`, holding the project's dagster.yaml.

    The default home always gets the committed settings; a home the user chose keeps its own
    dagster.yaml if it has one. Callers pass the path on to the processes they start.
    """
    chosen = settings.dagster_home
    home = chosen or settings.paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not (chosen and instance_yaml.exists()) and (
        not instance_yaml.exists() or instance_yaml.read_bytes() != INSTANCE_SETTINGS.read_bytes()
    ):
        shutil.copyfile(INSTANCE_SETTINGS, instance_yaml)
    return home


def prepare_launch_home(home: Path) -> Path:
    """A home whose instance is `home`'s (same run, event and artifact storage, same pools) with
    the default run coordinator, for `dagster job launch` from the CLI."""
    settings = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8")) or {}
    settings.pop("run_queue", None)
    settings.setdefault("storage", {"sqlite": {"base_dir": str(home)}})
    settings.setdefault(
        "local_artifact_storage",
        {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(home)},
        },
    )
    settings.setdefault(
        "compute_logs",
        {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(home / "storage")},
        },
    )
    settings["run_coordinator"] = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
    launch_home = home / LAUNCH_HOME
    launch_home.mkdir(exist_ok=True)
    (launch_home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return launch_home
