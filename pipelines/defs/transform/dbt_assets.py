"""dbt models as partitioned assets: each run rebuilds exactly its months.

dbt tests are asset checks of the month they tested, described in words ("customer_id is never
null in marts.customer_monthly"); their verdicts are also recorded with the fingerprint of the
month's data, for the gate of later runs."""

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.transform.project import dbt_project, parsed_manifest
from pipelines.files import write_whole
from pipelines.periods import BillingPeriod
from pipelines.quality.dbt_results import data_fingerprint, describe_test, record_results
from pipelines.settings import dbt_environment, environment_for_dbt
from pipelines.transform.failures import describe_dbt_failures


class SchemaKeyedTranslator(DagsterDbtTranslator):
    """Models are keyed by warehouse schema and name (`marts/fct_charges`), like the raw tables."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        """A test is a check of each month it runs for (a failed month leaves the others' status
        alone), described by its YAML or by what it asserts."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return dg.AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=describe_test(manifest["nodes"][unique_id], manifest),
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=spec.blocking,
            partitions_def=monthly_partitions,
        )


@dbt_assets(
    manifest=parsed_manifest(),
    project=dbt_project,
    partitions_def=monthly_partitions,
    dagster_dbt_translator=SchemaKeyedTranslator(),
    pool=WAREHOUSE_POOL,
    # Each month is its own run in a backfill: independent, idempotent, retried alone.
    backfill_policy=ONE_MONTH_PER_RUN,
)
def csp_recon_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    variables = dbt_environment(warehouse.settings, context.partition_keys)
    context.log.info(f"dbt build for {', '.join(context.partition_keys)}: {variables}")
    target = warehouse.paths.dbt_targets / context.run_id
    start_from_last_parse(warehouse.paths.dbt_targets, target)
    # dbt-duckdb fails at once on a held file: let a holder outside the pool (the quarantine
    # sensor, a closing command) finish first.
    with warehouse.connect():
        pass
    # Unit tests check the models' SQL, not a month's data: `make test` runs them, months do not.
    with environment_for_dbt(variables):
        invocation = dbt.cli(
            ["build", "--exclude", "resource_type:unit_test"], context=context, raise_on_error=False, target_path=target
        )
        yield from invocation.stream()
    keep_parse_state(target, warehouse.paths.dbt_targets)
    try:
        run_results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:  # dbt stopped before running anything: no verdict to record
        run_results = {"results": []}
    with warehouse.connect() as con:  # dbt has finished: the warehouse is free
        for key in context.partition_keys:
            period = BillingPeriod.parse(key)
            record_results(con, period, data_fingerprint(con, period), run_results, context.run_id)
    if not invocation.is_successful():
        with warehouse.connect(read_only=True) as con:
            description = describe_dbt_failures(
                run_results,
                lambda sql: [row[0] for row in con.execute(sql).fetchall()],
            )
        raise dg.Failure(description=description)


PARSE_STATE = "partial_parse.msgpack"


def start_from_last_parse(state_dir: Path, target: Path) -> None:
    """dbt reparses the whole project when its profile changes, and the warehouse path is in the
    profile: the parse state is kept per data directory, so only a data directory's first run
    pays for a full parse (about 7 s)."""
    kept = state_dir / PARSE_STATE
    if kept.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, target / PARSE_STATE)


def keep_parse_state(target: Path, state_dir: Path) -> None:
    written = target / PARSE_STATE
    if written.exists():
        write_whole(state_dir / PARSE_STATE, written.read_bytes())
    _prune_targets(state_dir)


# The compiled SQL and run results of the latest runs stay for inspection; older ones go.
KEPT_TARGETS = 10


def _prune_targets(state_dir: Path) -> None:
    if not state_dir.is_dir():  # dbt stopped before writing anything
        return
    targets = sorted((path for path in state_dir.iterdir() if path.is_dir()), key=lambda path: path.stat().st_mtime)
    for old in targets[:-KEPT_TARGETS]:
        shutil.rmtree(old, ignore_errors=True)
