import os
from datetime import date

import pytest

from pipelines.defs.partitions import first_month, monthly_partitions, outside_partitions
from pipelines.periods import BillingPeriod
from pipelines.settings import (
    CLOSE_DAY_ENV,
    CLOSE_TIME_ENV,
    CONFIG_DIR_ENV,
    DATA_DIR_ENV,
    FIRST_MONTH_ENV,
    DataPaths,
    SettingError,
    Settings,
    dbt_environment,
    environment_for_dbt,
    validate_period,
)


def test_partition_keys_are_months():
    keys = monthly_partitions.get_partition_keys()
    assert keys and keys[0] > "2015-01"
    assert all(len(key) == 7 and key[4] == "-" for key in keys)


def test_partitions_start_at_the_setting_else_the_earliest_landing_month(tmp_path):
    landing = tmp_path / "landing"
    for month in ("2026-09", "2026-07", "notes", "2026-13"):
        (landing / month).mkdir(parents=True)
    (landing / "2025-01.csv").write_text("not a month folder")
    assert first_month(Settings(data_dir=tmp_path)) == "2026-07"
    assert first_month(Settings.load({FIRST_MONTH_ENV: "2024-03", DATA_DIR_ENV: str(tmp_path)})) == "2024-03"
    with pytest.raises(SettingError, match=FIRST_MONTH_ENV):
        Settings.load({FIRST_MONTH_ENV: "March"})
    # No landing folder and no setting: last month, so the UI never lists a decade of "missing".
    last = first_month(Settings(data_dir=tmp_path / "none"))
    today = date.today()
    assert (
        BillingPeriod.parse(last).start < date(today.year, today.month, 1)
        and (date(today.year, today.month, 1) - BillingPeriod.parse(last).start).days <= 31
    )


def test_dbt_gets_the_warehouse_its_memory_limit_and_the_whole_range_of_months_in_any_order(tmp_path):
    settings = Settings(data_dir=tmp_path, duckdb_memory_limit="3GB")
    assert dbt_environment(settings, ["2026-03", "2026-01", "2026-02"]) == {
        "CSP_RECON_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "CSP_RECON_DUCKDB_MEMORY_LIMIT": "3GB",
        "CSP_RECON_MIN_PERIOD": "2026-01-01",
        "CSP_RECON_MAX_PERIOD": "2026-03-01",
    }
    assert dbt_environment(settings, ["2026-10"])["CSP_RECON_MIN_PERIOD"] == "2026-10-01"
    assert "CSP_RECON_MIN_PERIOD" not in dbt_environment(settings)  # by hand: dbt's defaults, every month


def test_dbt_sees_its_variables_only_while_it_runs(monkeypatch):
    monkeypatch.setenv("CSP_RECON_MIN_PERIOD", "2020-01-01")
    monkeypatch.delenv("CSP_RECON_MAX_PERIOD", raising=False)
    with environment_for_dbt({"CSP_RECON_MIN_PERIOD": "2026-10-01", "CSP_RECON_MAX_PERIOD": "2026-10-01"}):
        assert os.environ["CSP_RECON_MIN_PERIOD"] == os.environ["CSP_RECON_MAX_PERIOD"] == "2026-10-01"
    assert os.environ["CSP_RECON_MIN_PERIOD"] == "2020-01-01" and "CSP_RECON_MAX_PERIOD" not in os.environ


def test_settings_come_from_flags_then_the_environment_then_defaults(tmp_path, monkeypatch):
    environ = {DATA_DIR_ENV: str(tmp_path / "from-env"), CONFIG_DIR_ENV: str(tmp_path / "config-env")}
    assert Settings.load(environ, data_dir=tmp_path / "explicit").data_dir == tmp_path / "explicit"
    from_env = Settings.load(environ)
    assert from_env.data_dir == tmp_path / "from-env"
    assert from_env.paths.config_dir == tmp_path / "config-env"
    assert Settings.load(environ, config_dir=tmp_path / "flag").paths.config_dir == tmp_path / "flag"
    monkeypatch.chdir(tmp_path)
    defaults = Settings.load({})
    assert defaults.data_dir == tmp_path / "data" and defaults.paths.config_dir == tmp_path / "data" / "config"
    assert (defaults.close_day, defaults.close_hour, defaults.close_minute) == (5, 6, 0)


def test_a_child_process_rebuilds_the_same_settings_from_their_environment(tmp_path):
    chosen = Settings.load(
        {
            FIRST_MONTH_ENV: "2024-03",
            CLOSE_DAY_ENV: "9",
            CLOSE_TIME_ENV: "07:30",
            "CSP_RECON_COST_JUMP_PERCENT": "12.5",
        },
        data_dir=tmp_path,
        config_dir=tmp_path / "elsewhere",
    )
    assert Settings.load(chosen.environment()) == Settings.load({**chosen.environment(), "USER": chosen.user})
    rebuilt = Settings.load(chosen.environment())
    assert (rebuilt.data_dir, rebuilt.config_dir, rebuilt.first_month) == (tmp_path, tmp_path / "elsewhere", "2024-03")
    assert (rebuilt.close_day, rebuilt.close_hour, rebuilt.close_minute, str(rebuilt.cost_jump_percent)) == (
        9,
        7,
        30,
        "12.5",
    )


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({CLOSE_DAY_ENV: "31"}, "CSP_RECON_CLOSE_DAY=31: choose a day from 1 to 28"),
        ({CLOSE_DAY_ENV: "fifth"}, "CSP_RECON_CLOSE_DAY=fifth: write the day as a number"),
        ({CLOSE_TIME_ENV: "7h30"}, "CSP_RECON_CLOSE_TIME_UTC=7h30: write the time as HH:MM"),
        (
            {"CSP_RECON_SENSOR_SETTLE_SECONDS": "-5"},
            "CSP_RECON_SENSOR_SETTLE_SECONDS=-5: write a number of zero or more",
        ),
        ({"CSP_RECON_COST_JUMP_PERCENT": "NaN"}, "CSP_RECON_COST_JUMP_PERCENT=NaN: write a number of zero or more"),
    ],
)
def test_a_setting_the_pipeline_cannot_use_is_refused_naming_its_variable(environ, said):
    with pytest.raises(SettingError, match=said):
        Settings.load(environ)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026-10/../..", ""])
def test_periods_are_validated(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        validate_period(bad)


def test_paths_stay_inside_the_data_dir(tmp_path):
    paths = DataPaths(tmp_path)
    assert paths.landing(BillingPeriod.parse("2026-10")) == tmp_path / "landing" / "2026-10"
    assert paths.exports(BillingPeriod.parse("2026-10")) == tmp_path / "exports" / "2026-10"
    with pytest.raises(ValueError, match="outside"):
        paths.inside(tmp_path / ".." / "elsewhere")
    with pytest.raises(ValueError, match="YYYY-MM"):  # a month folder is named by a period, never by path text
        BillingPeriod.parse("../../etc")


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


def test_the_first_month_named_by_the_landing_folder_says_how_to_run_earlier_months(tmp_path):
    (tmp_path / "landing" / "2026-07").mkdir(parents=True)
    settings = Settings(data_dir=tmp_path)
    assert outside_partitions(BillingPeriod.parse("2026-07"), settings) is None
    assert outside_partitions(BillingPeriod.parse("2026-06"), settings) == (
        "2026-06 is before the first month the pipeline runs, 2026-07 (the earliest month folder in the landing "
        "folder: set CSP_RECON_FIRST_MONTH=2026-06 to run earlier months)"
    )
