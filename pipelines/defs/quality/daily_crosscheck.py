"""The daily rated usage cross-check (blocking): the daily file agrees with the reconciliation
file's Azure plan lines, or the month's invoices wait. Its mismatching lines are listed in the
check's metadata and in `<data>/exports/<YYYY-MM>/daily_usage_crosscheck.csv`; a month without a
billed daily file passes with a warning that it was not cross-checked."""

import csv
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.quality.report import RECONCILIATION_REPORT
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.files import replaced_whole
from pipelines.invoicing.safety import csv_safe_cell
from pipelines.periods import BillingPeriod
from pipelines.quality.daily_crosscheck import CSV_COLUMNS, CSV_FILE, CrossCheck, cross_check


def daily_crosscheck_problems(con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
    """For the issuing gate: the mismatch sentences; none when the month agrees or was skipped."""
    return cross_check(con, period).sentences()


def write_mismatches_csv(result: CrossCheck, folder: Path) -> Path | None:
    """The mismatching lines as a CSV a clerk opens in Excel (names made inert), or None when
    there are none (a stale list of an earlier run is removed)."""
    target = folder / CSV_FILE
    if result.passed:
        target.unlink(missing_ok=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with replaced_whole(target, "w", encoding="utf-8-sig", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(CSV_COLUMNS)
        for mismatch in result.mismatches:
            writer.writerow(
                [
                    "" if v is None else (str(v) if isinstance(v, (int, Decimal)) else csv_safe_cell(v))
                    for v in mismatch.row()
                ]
            )
    return target


@dg.asset_check(
    asset=RECONCILIATION_REPORT,
    name="daily_usage_crosscheck",
    description=(
        "Per Azure plan line of the reconciliation file (customer x subscription x product x SKU x availability x "
        "partner-earned-credit segment x currency, billed rows of the same invoice), the daily rated usage file's "
        "quantity equals its BillableQuantity and its pre-tax its Subtotal within Microsoft's truncation to the cent "
        "plus the partner's daily_usage_allowance; daily rows without a recon line, and recon lines without daily rows, "
        "fail. Skipped, with a warning, when the month has no billed daily file."
    ),
    blocking=True,
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
)
def daily_usage_crosscheck(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    return crosscheck_result(warehouse, BillingPeriod.parse(context.partition_key))


def crosscheck_result(warehouse: Warehouse, period: BillingPeriod) -> dg.AssetCheckResult:
    """The month's cross-check as the UI shows it, its mismatching lines written to the CSV."""
    with warehouse.connect(read_only=True) as con:
        result = cross_check(con, period)
    written = write_mismatches_csv(result, warehouse.paths.exports(period))
    metadata = {
        "azure_plan_groups": result.groups,
        "mismatches": len(result.mismatches),
        "allowance": f"{result.allowance:.2f}",
        "mismatching_lines": markdown_table(
            [m.row() for m in result.mismatches],
            CSV_COLUMNS,
        ),
    }
    if written is not None:
        metadata["csv"] = dg.MetadataValue.path(str(written))
    # Skipped: shown as a failed warning (visible, never blocking: Dagster blocks on ERROR only).
    return inert_check(
        dg.AssetCheckResult(
            passed=result.passed and not result.skipped,
            severity=dg.AssetCheckSeverity.WARN if result.skipped else dg.AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata=metadata,
        )
    )
