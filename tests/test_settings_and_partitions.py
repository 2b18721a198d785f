from datetime import date

import pytest

from pipelines.partitions import FIRST_MONTH_ENV, billing_period, dbt_period_env, first_month, monthly_partitions
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
