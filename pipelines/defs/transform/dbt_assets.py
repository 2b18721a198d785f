"""dbt models as partitioned assets: each run rebuilds exactly its months.

dbt tests are asset checks of the month they tested, described in words ("customer_id is never
null in marts.customer_monthly"); their verdicts are also recorded with the fingerprint of the
month's data, for the gate of later runs."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.transform.dbt_events import dbt_events, dbt_selection
from pipelines.defs.transform.project import dbt_project, parsed_manifest
from pipelines.periods import BillingPeriod
from pipelines.quality.dbt_results import data_fingerprint, describe_test, record_results
from pipelines.settings import dbt_environment
from pipelines.transform.dbt_runner import invoke_dbt
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
def csp_recon_dbt_models(context: dg.AssetExecutionContext, warehouse: Warehouse):
    variables = dbt_environment(warehouse.settings, context.partition_keys)
    context.log.info(f"dbt build for {', '.join(context.partition_keys)}: {variables}")
    # dbt-duckdb fails at once on a held file: let a holder outside the pool (the quarantine
    # sensor, a closing command) finish first.
    with warehouse.connect():
        pass
    # Unit tests check the models' SQL, not a month's data: `make test` runs them, months do not.
    invocation = invoke_dbt(
        ["build", "--exclude", "resource_type:unit_test", "--select", *dbt_selection(context)],
        environment=variables,
        state_dir=warehouse.paths.dbt_targets,
        run_name=context.run.run_id,
    )
    yield from dbt_events(context, invocation.run_results)
    with warehouse.connect() as con:  # dbt has finished: the warehouse is free
        for key in context.partition_keys:
            period = BillingPeriod.parse(key)
            record_results(con, period, data_fingerprint(con, period), invocation.run_results, context.run.run_id)
    if not invocation.success:
        with warehouse.connect(read_only=True) as con:
            description = describe_dbt_failures(
                invocation.run_results,
                lambda sql: [row[0] for row in con.execute(sql).fetchall()],
                stopped=invocation.error,
            )
        raise dg.Failure(description=description)
