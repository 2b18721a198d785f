"""The settings of a csp-recon process, built once: command-line flags, then the environment, then
defaults. This is the one module that reads the environment; everything else is handed a
`Settings` (or the `DataPaths` it holds), and child processes (Dagster's code location and run
workers, dbt) get theirs from `Settings.environment()` and `dbt_environment()`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from pipelines.periods import BillingPeriod, validate_period

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
# dbt installed beside this interpreter: the pipeline runs without the venv on PATH.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

DATA_DIR_ENV = "CSP_RECON_DATA_DIR"
CONFIG_DIR_ENV = "CSP_RECON_CONFIG_DIR"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
DUCKDB_MEMORY_LIMIT_ENV = "CSP_RECON_DUCKDB_MEMORY_LIMIT"
LOCK_WAIT_ENV = "CSP_RECON_WAREHOUSE_LOCK_WAIT"
FIRST_MONTH_ENV = "CSP_RECON_FIRST_MONTH"
CLOSE_DAY_ENV, CLOSE_TIME_ENV = "CSP_RECON_CLOSE_DAY", "CSP_RECON_CLOSE_TIME_UTC"
SETTLE_SECONDS_ENV = "CSP_RECON_SENSOR_SETTLE_SECONDS"
COST_JUMP_PERCENT_ENV = "CSP_RECON_COST_JUMP_PERCENT"
# What dbt reads (dbt_project/profiles.yml and macros/periods.sql), written by `dbt_environment`.
WAREHOUSE_ENV = "CSP_RECON_WAREHOUSE"
DBT_MIN_PERIOD_ENV, DBT_MAX_PERIOD_ENV = "CSP_RECON_MIN_PERIOD", "CSP_RECON_MAX_PERIOD"

DEFAULT_DATA_DIR = Path("data")
# Beyond this DuckDB spills to disk instead of growing with the month: a 2.2M-line month peaks
# at ~3.1 GB unbounded (dbt's fct_charges build), well under that with the limit.
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"
# Long enough for the quarantine sensor or a closing command to finish with the file.
DEFAULT_LOCK_WAIT_SECONDS = 120.0
# Legacy invoices are out 2 to 4 days after the billing date: the 5th at 06:00 UTC.
DEFAULT_CLOSE_DAY, DEFAULT_CLOSE_TIME = 5, "06:00"
# Partner Center uploads arrive file by file: a month runs once no file changed for this long.
DEFAULT_SETTLE_SECONDS = 120.0
# A customer's cost rising by more than this month over month is the non-payment, fraud or
# misuse signal Partner Center asks partners to watch.
DEFAULT_COST_JUMP_PERCENT = Decimal(50)


class SettingError(ValueError):
    """A setting the pipeline cannot use, named with the variable or flag that set it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_dir: Path | None = None  # None: <data>/config
    dagster_home: Path | None = None  # None: <data>/dagster_home
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
    first_month: str | None = None  # None: the earliest landing month folder
    close_day: int = DEFAULT_CLOSE_DAY
    close_hour: int = 6
    close_minute: int = 0
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    cost_jump_percent: Decimal = DEFAULT_COST_JUMP_PERCENT
    user: str = "csp-recon issue"

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        data_dir: str | os.PathLike | None = None,
        config_dir: str | os.PathLike | None = None,
    ) -> Settings:
        """Flags given, else the environment (the process's own unless `environ`), else defaults;
        checked here, so a typo fails before anything runs, in a sentence naming the variable."""
        env = os.environ if environ is None else environ
        chosen_config = config_dir or env.get(CONFIG_DIR_ENV)
        home = env.get(DAGSTER_HOME_ENV)
        day, hour, minute = close_timing(env.get(CLOSE_DAY_ENV), env.get(CLOSE_TIME_ENV))
        first = env.get(FIRST_MONTH_ENV) or None
        if first is not None:
            try:
                validate_period(first)
            except ValueError as error:
                raise SettingError(f"{FIRST_MONTH_ENV}: {error}") from None
        return cls(
            data_dir=resolve_data_dir(data_dir or env.get(DATA_DIR_ENV)),
            config_dir=Path(chosen_config).expanduser().resolve() if chosen_config else None,
            dagster_home=Path(home).expanduser().resolve() if home else None,
            duckdb_memory_limit=env.get(DUCKDB_MEMORY_LIMIT_ENV) or DEFAULT_DUCKDB_MEMORY_LIMIT,
            lock_wait_seconds=float(_number(env, LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT_SECONDS)),
            first_month=first,
            close_day=day,
            close_hour=hour,
            close_minute=minute,
            settle_seconds=float(_number(env, SETTLE_SECONDS_ENV, DEFAULT_SETTLE_SECONDS)),
            cost_jump_percent=_number(env, COST_JUMP_PERCENT_ENV, DEFAULT_COST_JUMP_PERCENT),
            user=env.get("USER") or "csp-recon issue",
        )

    @property
    def paths(self) -> DataPaths:
        return DataPaths(self.data_dir, self.config_dir)

    def with_data_dir(self, data_dir: str | os.PathLike) -> Settings:
        return replace(self, data_dir=resolve_data_dir(data_dir))

    def environment(self) -> dict[str, str]:
        """These settings as the variables a child process (`dagster job launch`, `dagster dev`,
        the run workers they start) rebuilds them from with `Settings.load()`."""
        variables = {
            DATA_DIR_ENV: str(self.data_dir),
            DUCKDB_MEMORY_LIMIT_ENV: self.duckdb_memory_limit,
            LOCK_WAIT_ENV: f"{self.lock_wait_seconds:g}",
            CLOSE_DAY_ENV: str(self.close_day),
            CLOSE_TIME_ENV: f"{self.close_hour:02d}:{self.close_minute:02d}",
            SETTLE_SECONDS_ENV: f"{self.settle_seconds:g}",
            COST_JUMP_PERCENT_ENV: str(self.cost_jump_percent),
        }
        if self.config_dir is not None:
            variables[CONFIG_DIR_ENV] = str(self.config_dir)
        if self.first_month is not None:
            variables[FIRST_MONTH_ENV] = self.first_month
        return variables


@cache
def process_settings() -> Settings:
    """The settings of this process, from its environment, read once: what Dagster's code
    location (started by `csp-recon run`/`ui`, or by hand) builds its definitions with."""
    return Settings.load()


def dbt_environment(settings: Settings, partition_keys: list[str] | None = None) -> dict[str, str]:
    """What dbt reads from its environment: the warehouse and memory limit (profiles.yml) and the
    months a run replaces (macros/periods.sql; not --vars, which voids dbt's partial parsing)."""
    variables = {WAREHOUSE_ENV: str(settings.paths.warehouse), DUCKDB_MEMORY_LIMIT_ENV: settings.duckdb_memory_limit}
    if partition_keys:
        months = sorted(partition_keys)
        variables[DBT_MIN_PERIOD_ENV] = f"{validate_period(months[0])}-01"
        variables[DBT_MAX_PERIOD_ENV] = f"{validate_period(months[-1])}-01"
    return variables


def child_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """A subprocess's whole environment: this process's (PATH, locale, HOME) with `variables` over it."""
    return {**os.environ, **variables}


@contextmanager
def environment_for_dbt(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` in this process's environment while the block runs, then as they were.

    dbt runs in the step's process and reads its profile and macros' `env_var()` from this
    process's environment. This is the one place the pipeline changes its environment, for the
    duration of one dbt invocation."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def close_timing(day_text: str | None, time_text: str | None) -> tuple[int, int, int]:
    """(day, hour, minute) of the monthly close in UTC, checked so a typo fails at load time."""
    try:
        day = int(day_text or DEFAULT_CLOSE_DAY)
    except ValueError:
        raise SettingError(f"{CLOSE_DAY_ENV}={day_text}: write the day as a number from 1 to 28.") from None
    if not 1 <= day <= 28:
        raise SettingError(f"{CLOSE_DAY_ENV}={day}: choose a day from 1 to 28, which every month has.")
    hour_text, _, minute_text = (time_text or DEFAULT_CLOSE_TIME).partition(":")
    try:
        hour, minute = int(hour_text), int(minute_text or 0)
    except ValueError:
        hour, minute = -1, -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise SettingError(f"{CLOSE_TIME_ENV}={time_text}: write the time as HH:MM, 24-hour clock.")
    return day, hour, minute


def _number(environ: Mapping[str, str], name: str, default: float | Decimal) -> Decimal:
    text = environ.get(name)
    if not text:
        return Decimal(str(default))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SettingError(f"{name}={text}: write a number, e.g. {default}.") from None
    if not value.is_finite() or value < 0:
        raise SettingError(f"{name}={text}: write a number of zero or more, e.g. {default}.")
    return value


def resolve_data_dir(chosen: str | os.PathLike | None = None) -> Path:
    """The data directory, always absolute: `chosen`, else `./data`."""
    return Path(chosen or DEFAULT_DATA_DIR).expanduser().resolve()


@dataclass(frozen=True)
class DataPaths:
    """Where csp-recon keeps its files, all under the data directory `root` (but the partner's
    configuration, which may live elsewhere)."""

    root: Path
    config_override: Path | None = None

    @property
    def config_dir(self) -> Path:
        """`--config-dir` or `$CSP_RECON_CONFIG_DIR`, else `<data>/config`."""
        return self.config_override or self.root / "config"

    @property
    def landing_root(self) -> Path:
        return self.root / "landing"

    def landing(self, period: BillingPeriod) -> Path:
        return self.inside(self.landing_root / period.key)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def exports(self, period: BillingPeriod) -> Path:
        return self.inside(self.root / "exports" / period.key)

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def published_warehouse(self) -> Path:
        return self.published_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        """Dagster's runs, schedules and sensor cursors, when $DAGSTER_HOME does not say otherwise."""
        return self.root / "dagster_home"

    @property
    def dbt_targets(self) -> Path:
        """dbt's target folder of each run, and the parse state its next run starts from."""
        return self.root / "dbt"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def locks(self) -> Path:
        """Each month's run lock (`pipelines/runs/lock.py`): files the kernel locks, never to delete by hand."""
        return self.root / "locks"

    @property
    def scratch(self) -> Path:
        """Transcoded copies and other temporary files, kept inside the data directory."""
        return self.root / ".scratch"

    def inside(self, path: Path) -> Path:
        """Refuse any path that would escape the data directory."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise ValueError(f"{path} is outside the data directory {self.root}.")
        return resolved
