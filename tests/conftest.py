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


@pytest.fixture
def definitions() -> dg.Definitions:
    """The project's definitions, loaded inside an instance as Dagster loads them: the loader
    reads the current instance's state storage, and outside one it can find an earlier test's
    closed instance ("undefined DagsterInstance weakref")."""
    from pipelines.definitions import defs

    with dg.instance_for_test():
        yield defs()
