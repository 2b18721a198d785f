from datetime import date

import dagster as dg
import pytest

from pipelines.partitions import (
    FIRST_MONTH_ENV,
    billing_period,
    dbt_period_env,
    first_month,
    monthly_partitions,
    outside_partitions,
)
from pipelines.settings import DATA_DIR_ENV, DataPaths, resolve_data_dir, validate_period


def test_partition_keys_are_months():
    keys = monthly_partitions.get_partition_keys()
    assert keys and keys[0] > "2015-01"
    assert all(len(key) == 7 and key[4] == "-" for key in keys)


def test_partitions_start_at_the_setting_else_the_earliest_landing_month(tmp_path):
    for month in ("2026-09", "2026-07", "notes", "2026-13"):
        (tmp_path / month).mkdir()
    (tmp_path / "2025-01.csv").write_text("not a month folder")
    assert first_month({}, landing_root=tmp_path) == "2026-07"
    assert first_month({FIRST_MONTH_ENV: "2024-03"}, landing_root=tmp_path) == "2024-03"
    with pytest.raises(ValueError, match=FIRST_MONTH_ENV):
        first_month({FIRST_MONTH_ENV: "March"}, landing_root=tmp_path)
    # No landing folder and no setting: last month, so the UI never lists a decade of "missing".
    last = first_month({}, landing_root=tmp_path / "none")
    today = date.today()
    assert (
        billing_period(last) < date(today.year, today.month, 1)
        and (date(today.year, today.month, 1) - billing_period(last)).days <= 31
    )


def test_billing_period_is_first_day_of_month():
    assert billing_period("2026-02") == date(2026, 2, 1)


def test_dbt_periods_cover_the_whole_range_in_any_order():
    assert dbt_period_env(["2026-03", "2026-01", "2026-02"]) == {
        "CSP_RECON_MIN_PERIOD": "2026-01-01",
        "CSP_RECON_MAX_PERIOD": "2026-03-01",
    }
    assert dbt_period_env(["2026-10"]) == {"CSP_RECON_MIN_PERIOD": "2026-10-01", "CSP_RECON_MAX_PERIOD": "2026-10-01"}


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv(DATA_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == tmp_path / "data"


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026-10/../..", ""])
def test_periods_are_validated(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        validate_period(bad)


def test_paths_stay_inside_the_data_dir(tmp_path):
    paths = DataPaths(tmp_path)
    assert paths.landing("2026-10") == tmp_path / "landing" / "2026-10"
    with pytest.raises(ValueError, match="outside"):
        paths.inside(tmp_path / ".." / "elsewhere")
    with pytest.raises(ValueError):
        paths.exports("../../etc")


@pytest.mark.parametrize(
    ("period", "said"),
    [
        (
            "2019-01",
            "csp-recon run 2019-01: not started, because 2019-01 is before the first month the pipeline runs, "
            "2025-01 (CSP_RECON_FIRST_MONTH is 2025-01: set it to 2019-01 or earlier to run this month).",
        ),
        (
            "2099-01",
            "csp-recon run 2099-01: not started, because 2099-01 has not ended yet: the latest month that can run is ",
        ),
    ],
)
def test_a_month_outside_the_partitions_is_refused_before_launch_with_a_sentence(tmp_path, capsys, period, said):
    from pipelines.cli import main

    assert monthly_partitions.get_partition_keys()[0] == "2025-01"  # conftest's CSP_RECON_FIRST_MONTH
    assert main(["run", "--period", period, "--data-dir", str(tmp_path)]) == 1
    output = capsys.readouterr()
    assert said in output.out and "Traceback" not in output.out + output.err
    assert not (tmp_path / "dagster_home").exists() and not (tmp_path / "logs").exists()  # nothing launched


def test_a_backfill_of_months_before_the_first_refuses_each_with_a_sentence(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["backfill", "--from", "2019-01", "--to", "2019-02", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for period in ("2019-01", "2019-02"):
        assert (
            f"csp-recon run {period}: not started, because {period} is before the first month the pipeline runs" in out
        )
    assert "Backfill 2019-01 to 2019-02: 0 of 2 month(s) passed." in out


def test_the_first_month_named_by_the_landing_folder_says_how_to_run_earlier_months():
    partitions = dg.MonthlyPartitionsDefinition(start_date="2026-07", fmt="%Y-%m")
    assert outside_partitions("2026-07", partitions, {}) is None
    assert outside_partitions("2026-06", partitions, {}) == (
        "2026-06 is before the first month the pipeline runs, 2026-07 (the earliest month folder in the landing "
        "folder: set CSP_RECON_FIRST_MONTH=2026-06 to run earlier months)"
    )
