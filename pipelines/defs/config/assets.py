"""The partner's configuration, checked and loaded into `config.*` at the start of every run.

The dbt models read these tables as the `config` source, so every month is priced and billed
with the configuration as it stands when the month runs; a configuration with a mistake stops
the run before anything is priced, naming file, line and field.
"""

import dagster as dg

from pipelines.config import ConfigError, config_dir_in_use, load_config, load_into_warehouse
from pipelines.config.tables import CONFIG_TABLES
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse

CONFIG_KEYS = {table.name: dg.AssetKey(["config", table.name]) for table in CONFIG_TABLES}
# partner.toml as a one-row table: the invoice issuer the FOCUS datasets name.
PARTNER_PROFILE_KEY = dg.AssetKey(["config", "partner_profile"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            description=f"`{table}.csv` of the partner's config directory, checked.",
            group_name="config",
            kinds={"csv", "duckdb"},
        )
        for table, key in CONFIG_KEYS.items()
    ]
    + [
        dg.AssetSpec(
            PARTNER_PROFILE_KEY,
            description="`partner.toml` of the partner's config directory, checked.",
            group_name="config",
            kinds={"toml", "duckdb"},
        )
    ],
    partitions_def=monthly_partitions,
    backfill_policy=ONE_MONTH_PER_RUN,
    pool=WAREHOUSE_POOL,
)
def partner_config(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Read the config directory (`--config-dir`, else `<data>/config`, else the shipped sample)."""
    directory = config_dir_in_use(warehouse.paths)
    try:
        config = load_config(directory)
    except ConfigError as error:
        raise dg.Failure(description=str(error)) from None
    with warehouse.connect() as con:
        counts = load_into_warehouse(con, config)
    incomplete = [
        f"{row['billing_name']} ({row['customer_id']}): {row['billing_profile_problems']}"
        for row in config.customers
        if row["billing_profile_problems"]
    ]
    if incomplete:
        context.log.warning("Not invoiced until their billing details are completed: " + "; ".join(incomplete))
    for table, key in CONFIG_KEYS.items():
        metadata: dict[str, dg.RawMetadataValue] = {
            "config_dir": dg.MetadataValue.path(str(directory)),
            "rows": counts[table],
        }
        if table == "customers":
            metadata["incomplete_billing_profiles"] = len(incomplete)
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=PARTNER_PROFILE_KEY, metadata={"config_dir": dg.MetadataValue.path(str(directory)), "rows": 1}
    )
