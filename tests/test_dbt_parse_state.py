"""dbt's parse state travels from one run's target folder to the next run's, per data directory,
and only the latest run folders are kept."""

import os

import pytest

from pipelines.transform.dbt_runner import KEPT_TARGETS, PARSE_STATE, keep_parse_state, start_from_last_parse


def test_a_run_starts_from_the_parse_state_the_previous_run_left(tmp_path):
    state = tmp_path / "dbt"
    first = state / "run-1"
    start_from_last_parse(state, first)
    assert not first.exists(), "a data directory's first run has nothing to start from"
    first.mkdir(parents=True)
    (first / PARSE_STATE).write_bytes(b"parsed by run 1")
    keep_parse_state(first, state)
    second = state / "run-2"
    start_from_last_parse(state, second)
    assert (second / PARSE_STATE).read_bytes() == b"parsed by run 1"
    assert [path.name for path in state.iterdir() if path.name.startswith(".")] == []


def test_only_the_latest_run_folders_are_kept(tmp_path):
    state = tmp_path / "dbt"
    for number in range(KEPT_TARGETS + 3):
        folder = state / f"run-{number:02d}"
        folder.mkdir(parents=True)
        os.utime(folder, (1_700_000_000 + number, 1_700_000_000 + number))
    keep_parse_state(state / "run-missing", state)  # dbt wrote no parse state: the folders are still pruned
    kept = sorted(path.name for path in state.iterdir())
    assert kept == [f"run-{number:02d}" for number in range(3, KEPT_TARGETS + 3)]


def test_a_dbt_that_wrote_nothing_leaves_nothing_to_prune(tmp_path):
    keep_parse_state(tmp_path / "dbt" / "run-1", tmp_path / "dbt")
    assert not (tmp_path / "dbt").exists()


def test_loading_the_definitions_never_runs_dbt_and_says_what_to_run(tmp_path):
    from types import SimpleNamespace

    from pipelines.defs.transform.project import parsed_manifest

    unparsed = SimpleNamespace(manifest_path=tmp_path / "target" / "manifest.json")
    with pytest.raises(FileNotFoundError, match=r"not parsed yet .*: run `make manifest`, or any csp-recon command"):
        parsed_manifest(unparsed)
    assert not (tmp_path / "target").exists(), "nothing was parsed"
