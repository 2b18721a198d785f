"""Blocking check: no rejected line carrying money goes unnoticed into a month's invoices.

Attached to the reconciliation report like the reconciliation checks, so that customer
invoices and the analysts' copy wait behind it; the rules are in `pipelines/quality/rejections.py`.
"""

import dagster as dg

from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.partitions import monthly_partitions
from pipelines.defs.quality.report import RECONCILIATION_REPORT
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.periods import BillingPeriod
from pipelines.quality.rejections import AcknowledgementError, holding_sentence, month_rejections


@dg.asset_check(
    asset=RECONCILIATION_REPORT,
    name="rejected_lines_resolved",
    description=(
        "Every rejected line carrying money (each line on its own: offsetting amounts do not cancel) is fixed "
        "or acknowledged by file and line, with who and why, in <data>/acknowledgements/<YYYY-MM>.yml."
    ),
    blocking=True,
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
)
def rejected_lines_resolved(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    period = BillingPeriod.parse(context.partition_key)
    paths = warehouse.paths
    try:
        with warehouse.connect(read_only=True) as con:
            lines, held, let_through = month_rejections(con, period, paths.landing(period), paths.root)
    except AcknowledgementError as error:
        return inert_check(dg.AssetCheckResult(passed=False, description=str(error)))
    if held:
        description = holding_sentence(held, period)
    elif let_through:
        description = (
            f"{len(let_through)} rejected line(s) carrying money are acknowledged; no other rejected line carries money"
        )
    else:
        description = f"none of the {len(lines)} rejected line(s) carries money" if lines else "no line was rejected"
    return inert_check(
        dg.AssetCheckResult(
            passed=not held,
            description=description,
            metadata={
                "rejected_lines": len(lines),
                "holding_lines": len(held),
                "acknowledged_lines": len(let_through),
                "holding": markdown_table(
                    [
                        (h.line.file_name, h.line.line_number, h.line.column_name, h.amounts, h.line.reason)
                        for h in held
                    ],
                    ("file", "line", "column", "amounts as written", "why rejected"),
                ),
                "acknowledged": markdown_table(
                    [(h.line.file_name, h.line.line_number, h.amounts, a.by, a.reason) for h, a in let_through],
                    ("file", "line", "amounts as written", "acknowledged by", "why"),
                ),
            },
        )
    )
