"""What a month's run is known by outside the definitions: its job, the tags the CLI sets, and
the assets whose events the CLI's summary reads.

Kept apart from the asset modules so that `csp-recon run` names them without loading the
definitions (dbt, Great Expectations, the report's charts): the CLI's own start is on the path of
every run, before the run's processes load them.
"""

import dagster as dg

from pipelines.ingest.schema import FILE_MANIFEST

MONTHLY_CLOSE_JOB = "monthly_close"
# A run launched with this tag (`csp-recon run --period P --correct`, or from the UI) issues the
# corrections of an issued month whose figures changed; without it they are only marked pending.
CORRECT_TAG = "csp-recon/correct"
# Who launched a run: the CLI settles its own failed runs; the sensor settles the others.
LAUNCHED_BY_TAG = "csp-recon/launched-by"
LAUNCHED_BY_CLI = "cli"

MANIFEST_KEY = dg.AssetKey(FILE_MANIFEST.split("."))
MONTH_STATUS = dg.AssetKey(["closing", "month_status"])
PUBLISHED_WAREHOUSE = dg.AssetKey(["published", "warehouse"])
