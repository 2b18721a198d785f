"""The FOCUS export step alone, on a month already run: its wall time and peak memory.

    /usr/bin/time -v .venv/bin/python benchmarks/focus_export.py --data-dir DIR --period YYYY-MM

The month must have gone through `csp-recon run` (ingest, dbt, checks) in DIR. This script
opens the warehouse read-only as the `exports/focus` asset does, and writes, checks and swaps in
`<DIR>/exports/<YYYY-MM>/focus/` once (no Dagster, no dbt), so `/usr/bin/time -v` measures the
export only, plus the interpreter and imports.
"""

from __future__ import annotations

import argparse
import time

import duckdb

from pipelines.config import config_dir_in_use, load_config
from pipelines.focus.export import export_month
from pipelines.periods import BillingPeriod
from pipelines.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--period", required=True)
    args = parser.parse_args()
    settings = Settings.load(data_dir=args.data_dir)
    paths = settings.paths
    partner = load_config(config_dir_in_use(paths)).partner
    started = time.perf_counter()
    with duckdb.connect(
        str(paths.warehouse), read_only=True, config={"memory_limit": settings.duckdb_memory_limit}
    ) as con:
        month = export_month(con, paths, BillingPeriod.parse(args.period), partner)
    elapsed = time.perf_counter() - started
    print(
        f"{month.period}: {month.cost_rows} cost rows, {month.customer_rows} customer rows, "
        f"{len(month.customers)} customer folders, {len(month.files)} files in {elapsed:.1f} s (export only)"
    )


if __name__ == "__main__":
    main()
