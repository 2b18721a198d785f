"""The Dagster wiring, one folder per domain."""

import warnings

import dagster as dg

# Two features of Dagster 1.13 chosen knowingly, so their notices are not repeated in every
# process's output: partitioned asset checks (preview; each dbt test and money check is a check of
# its month) and backfill policies (beta; a backfill of N months is N one-month runs). Any other
# preview or beta notice still shows.
warnings.filterwarnings(
    "ignore",
    message=r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
    category=dg.PreviewWarning,
)
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning)
