"""Fixtures every test module shares."""

from pathlib import Path

import pytest

from pipelines.publishing.immutable import release_tree


@pytest.fixture(autouse=True)
def _published_copies_deletable(tmp_path: Path):
    """Published copies are made immutable (chattr +i) when the tests run as root: release them
    after each test, so pytest can remove its temporary folders."""
    yield
    release_tree(tmp_path)
