"""The resource shared by every domain: the warehouse, configured from the settings."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import dagster as dg
import duckdb

from pipelines.defs.partitions import MONTH_TAG
from pipelines.defs.runs.month_runs import earlier_run_in_progress, interleaving_sentence
from pipelines.periods import BillingPeriod
from pipelines.settings import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    DEFAULT_LOCK_WAIT_SECONDS,
    DataPaths,
    Settings,
    process_settings,
    resolve_data_dir,
)
from pipelines.warehouse_file import WarehouseLocked, connect_waiting

# Every step that opens the warehouse runs in this pool; dagster.yaml limits it to one at a time.
WAREHOUSE_POOL = "warehouse"


class Warehouse(dg.ConfigurableResource):
    """The pipeline-owned DuckDB file under the data directory, and the partner's configuration.

    Connections are short-lived: DuckDB allows one writer process, and other processes (the
    quarantine sensor, closing commands) need the same file between steps.
    """

    data_dir: str
    config_dir: str = ""
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> "Warehouse":
        return cls(
            data_dir=str(settings.data_dir),
            config_dir=str(settings.config_dir or ""),
            memory_limit=settings.duckdb_memory_limit,
            lock_wait_seconds=settings.lock_wait_seconds,
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run takes the warehouse here (once in process, at each step otherwise): a run of a month that another run of the
        month, started first, is still running stops now, before anything touches the file."""
        run = context.run
        if run is None or context.instance is None:
            return
        earlier = earlier_run_in_progress(context.instance, run)
        if earlier is not None:
            raise dg.Failure(description=interleaving_sentence(BillingPeriod.parse(run.tags[MONTH_TAG]), earlier))

    @property
    def settings(self) -> Settings:
        """The process's settings with this resource's configuration over them (a run's config
        may name another data directory), for the domain code it calls."""
        return replace(
            process_settings(),
            data_dir=resolve_data_dir(self.data_dir),
            config_dir=resolve_data_dir(self.config_dir) if self.config_dir else None,
            duckdb_memory_limit=self.memory_limit,
            lock_wait_seconds=self.lock_wait_seconds,
        )

    @property
    def paths(self) -> DataPaths:
        return self.settings.paths

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        try:
            connection = connect_waiting(
                self.paths.warehouse,
                read_only=read_only,
                config={"memory_limit": self.memory_limit},
                wait_seconds=self.lock_wait_seconds,
            )
        except WarehouseLocked as locked:  # the step fails with the sentence, not DuckDB's traceback
            raise dg.Failure(
                description=str(locked), metadata={"file": str(locked.path), "holder_pid": locked.pid or "unknown"}
            ) from None
        try:
            yield connection
        finally:
            connection.close()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": Warehouse.from_settings(process_settings()),
        }
    )
