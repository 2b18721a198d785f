"""dbt models as partitioned assets: each run rebuilds exactly its months."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.transform.failures import describe_dbt_failures
from pipelines.defs.transform.project import dbt_project, ensure_manifest
from pipelines.partitions import ONE_MONTH_PER_RUN, dbt_period_env, monthly_partitions


class SchemaKeyedTranslator(DagsterDbtTranslator):
    """Models are keyed by warehouse schema and name (`marts/fct_charges`), like the raw tables."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "transform"


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    partitions_def=monthly_partitions,
    dagster_dbt_translator=SchemaKeyedTranslator(),
    pool=WAREHOUSE_POOL,
    # Each month is its own run in a backfill: independent, idempotent, retried alone.
    backfill_policy=ONE_MONTH_PER_RUN,
)
def csp_recon_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    warehouse.export_to_dbt()
    periods = dbt_period_env(context.partition_keys)
    os.environ.update(periods)
    context.log.info(f"dbt build for {periods}")
    invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    yield from invocation.stream()
    if not invocation.is_successful():
        with warehouse.connect(read_only=True) as con:
            description = describe_dbt_failures(
                invocation.get_artifact("run_results.json"),
                lambda sql: [row[0] for row in con.execute(sql).fetchall()],
            )
        raise dg.Failure(description=description)
