"""Resources shared by every domain: the warehouse and the dbt CLI."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipelines.settings import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    DUCKDB_MEMORY_LIMIT_ENV,
    DataPaths,
    duckdb_memory_limit,
    resolve_data_dir,
)
from pipelines.warehouse_file import WarehouseLocked, connect_waiting

WAREHOUSE_ENV = "CSP_RECON_WAREHOUSE"
# Every step that opens the warehouse runs in this pool; dagster.yaml limits it to one at a time.
WAREHOUSE_POOL = "warehouse"


def dbt_environment(paths: DataPaths) -> dict[str, str]:
    """What dbt reads from the environment (profiles.yml): the warehouse path and memory limit."""
    return {WAREHOUSE_ENV: str(paths.warehouse), DUCKDB_MEMORY_LIMIT_ENV: duckdb_memory_limit()}


class Warehouse(dg.ConfigurableResource):
    """The pipeline-owned DuckDB file under the data directory.

    Connections are short-lived: DuckDB allows one writer process, and dbt runs as a
    subprocess that needs the same file.
    """

    data_dir: str = ""

    @property
    def paths(self) -> DataPaths:
        return DataPaths(resolve_data_dir(self.data_dir or None))

    def export_to_dbt(self) -> None:
        os.environ.update(dbt_environment(self.paths))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        try:
            connection = connect_waiting(
                self.paths.warehouse, read_only=read_only, config={"memory_limit": duckdb_memory_limit()}
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
            "warehouse": Warehouse(),
            "dbt": DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=str(DBT_EXECUTABLE),
            ),
        }
    )
