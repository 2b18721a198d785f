"""The Dagster wiring, one folder per domain."""

import warnings

import dagster as dg

# Partitioned asset checks (each dbt test and money check is a check of its month, issue 11) are a
# preview feature of Dagster 1.13: chosen knowingly, so its notice is not repeated in every
# process's output. Any other preview or beta notice still shows.
warnings.filterwarnings(
    "ignore",
    message=r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
    category=dg.PreviewWarning,
)
