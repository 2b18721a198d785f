"""Fixtures every test module shares."""

import os

import dagster as dg
import pytest

# The tests' months (2026-01 onwards) are partitions whatever the landing folders of the machine:
# set before the definitions are imported.
os.environ.setdefault("CSP_RECON_FIRST_MONTH", "2025-01")

from pipelines.publishing.immutable import release_tree


@pytest.fixture(autouse=True, scope="session")
def _published_copies_deletable(tmp_path_factory: pytest.TempPathFactory):
    """Published copies are made immutable (chattr +i) when the tests run as root: release every
    one the session made, module fixtures' folders included, so pytest can remove its temporary
    folders."""
    yield
    release_tree(tmp_path_factory.getbasetemp())


# The modules that take longest, slowest first (seconds on 2 cores, `--durations`): under
# `-n 2 --dist loadfile` each worker takes the next module when it is almost out of work, so the
# long ones go first and the short ones fill in at the end (longest processing time first). By
# default xdist hands out the modules with the most tests first, which puts these, few tests
# each, at the very end, one worker running two of them while the other has nothing left.
# A module missing from the list runs after them, in its usual order: the list only tunes speed.
SLOWEST_FIRST = (
    "test_publish.py",
    "test_ui_browser.py",
    "test_runs.py",
    "test_warehouse_file.py",
    "test_runs_full_disk.py",
    "test_ingest_run.py",
    "test_quarantine.py",
    "test_run_lock.py",
    "test_end_to_end.py",
    "test_quality_checks.py",
    "test_rejections_hold.py",
    "test_ingest_run_rejects.py",
    "test_nce_models.py",
    "test_config.py",
    "test_periods_isolated.py",
    "test_faults_kill.py",
    "test_focus.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """xdist's loadfile and loadscope hand out modules in collection order, not by test count."""
    if getattr(config.option, "dist", "no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first (SLOWEST_FIRST); each module's tests keep their order."""
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture
def definitions() -> dg.Definitions:
    """The project's definitions, loaded inside an instance as Dagster loads them: the loader
    reads the current instance's state storage, and outside one it can find an earlier test's
    closed instance ("undefined DagsterInstance weakref")."""
    from pipelines.definitions import defs

    with dg.instance_for_test():
        yield defs()
