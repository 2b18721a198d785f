"""A CLI run on a full disk fails with a sentence, frees its slot, and the next run succeeds.

Apart from test_runs.py, whose runs share one data directory, so that under `-n 2 --dist
loadfile` the two files, each several minutes of whole runs, go to different workers. The
month is test_runs.py's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.settings import REPO_ROOT

PERIOD = "2026-10"
RUN_TIMEOUT = 1200  # a loaded CI machine runs a small month in minutes


@pytest.fixture
def data_dir(tmp_path):
    data_dir = tmp_path / "generated"
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                PERIOD,
                "--customers",
                "3",
                "--license-rows",
                "8",
                "--usage-rows",
                "12",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    return data_dir


def _environment(data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return {**environment, "CSP_RECON_DATA_DIR": str(data_dir)}


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )


def test_a_run_on_a_full_disk_fails_with_a_sentence_frees_its_slot_and_the_next_run_succeeds(data_dir, tmp_path):
    disk = tmp_path / "disk"
    # The month's files fit; its warehouse (about 12 MB after a run) does not.
    if not _mount_tmpfs(disk, "3m"):
        pytest.skip("a small tmpfs cannot be mounted here (needs root and mount rights)")
    try:
        small = disk / "data"
        shutil.copytree(data_dir / "landing", small / "landing")
        home = tmp_path / "dagster_home"  # Dagster's own records stay on a disk with room
        environment = {**_environment(small), "DAGSTER_HOME": str(home)}
        command = [
            str(Path(sys.executable).with_name("csp-recon")),
            "run",
            "--period",
            PERIOD,
            "--data-dir",
            str(small),
        ]
        full = subprocess.run(
            command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        assert full.returncode == 1, full.stdout
        assert (
            f"the disk holding the data directory {small} is full: free some space, then run the month again"
            in full.stdout
        )
        assert "Traceback" not in full.stdout + full.stderr
        assert not (small / "published" / "warehouse.duckdb").exists()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [failed] = instance.get_runs()
            assert failed.is_finished and not instance.event_log_storage.get_concurrency_run_ids()
        subprocess.run(["mount", "-o", "remount,size=300m", str(disk)], check=True)
        again = subprocess.run(
            command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        assert again.returncode == 0, again.stdout
        assert "OK: every blocking check passed." in again.stdout
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
