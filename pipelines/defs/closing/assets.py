"""The month's status after each run (`closing/month_status`), and the `close_month` job that
approves, issues or corrects a month from the UI with the same functions as the CLI."""

from dataclasses import replace

import dagster as dg

from pipelines.automation.landing_watch import content_fingerprint
from pipelines.closing import month as closing
from pipelines.closing.marts import refresh_closing_marts
from pipelines.closing.status import StatusError, history
from pipelines.defs.closing.warnings import warning_checks
from pipelines.defs.invoicing.assets import CUSTOMER_INVOICES
from pipelines.defs.metadata import markdown_table
from pipelines.defs.partitions import ONE_MONTH_PER_RUN, monthly_partitions
from pipelines.defs.quality.gate import blocking_checks
from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse
from pipelines.defs.runs.names import CORRECT_TAG, MONTH_STATUS
from pipelines.periods import BillingPeriod
from pipelines.publishing.warehouse_copy import PublishError, publish_month
from pipelines.quality.gate import judge_month
from pipelines.settings import Settings, dbt_environment
from pipelines.warehouse_file import connect_waiting


def status_metadata(settings: Settings, outcome: closing.Outcome) -> dict:
    with connect_waiting(settings.paths.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds) as con:
        changes = history(con, outcome.period)
    return {
        "status": outcome.status.value,
        "what_happened": outcome.message,
        "documents_issued": ", ".join(outcome.documents) or "none",
        "history": markdown_table(
            [
                (f"{at:%Y-%m-%d %H:%M}", by, before, after, reason)
                for at, by, before, after, reason in reversed(changes)
            ],
            ("when (UTC)", "who", "from", "to", "reason"),
        ),
    }


@dg.asset(
    key=MONTH_STATUS,
    deps=[CUSTOMER_INVOICES],
    partitions_def=monthly_partitions,
    pool=WAREHOUSE_POOL,
    backfill_policy=ONE_MONTH_PER_RUN,
    group_name="closing",
    description=(
        "The month's status after this run: an approved month whose figures changed is open again; an issued month "
        f"whose figures changed is correction pending, or corrected (credit note and corrected invoice, or the difference "
        f"on the next open month) when the run carries the tag {CORRECT_TAG}=true."
    ),
)
def month_status(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = BillingPeriod.parse(context.partition_key)
    correct = context.run.tags.get(CORRECT_TAG, "").lower() == "true"
    outcome = closing.after_run(warehouse.paths, period, correct, wait_seconds=warehouse.lock_wait_seconds)
    (context.log.warning if outcome.changed else context.log.info)(outcome.message)
    if outcome.changed:  # the run's dbt built the close marts with the status before this step
        not_refreshed = refresh_closing_marts(
            warehouse.paths, dbt_environment(warehouse.settings), wait_seconds=warehouse.lock_wait_seconds
        )
        if not_refreshed:
            context.log.warning(f"marts.billing_periods and marts.payables_calendar not rebuilt: {not_refreshed}")
    return dg.MaterializeResult(metadata=status_metadata(warehouse.settings, outcome))


class CloseMonthConfig(dg.Config):
    """What the person closing the month says: which month, what to do, who they are."""

    period: str
    action: str = "approve"  # approve | issue | correct
    by: str
    acknowledge: list[str] = []


def run_close_action(
    settings: Settings, config: CloseMonthConfig, published_by: str, refresh_marts: bool = True
) -> closing.Outcome:
    """One step of the close, then marts.billing_periods and marts.payables_calendar rebuilt and
    the month published again, so analysts see its status and due dates at once."""
    if config.action not in ("approve", "issue", "correct"):
        raise StatusError(f"action '{config.action}': write approve, issue or correct.")
    period = BillingPeriod.parse(config.period)
    paths = settings.paths
    with connect_waiting(paths.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds) as con:
        problems = list(judge_month(con, period, blocking_checks(paths)).problems)
    if config.action == "correct" and problems:
        raise StatusError(f"{period}: no correction is issued while its blocking checks fail ({'; '.join(problems)}).")
    if config.action == "approve":
        outcome = closing.approve(
            paths,
            period,
            config.by,
            list(config.acknowledge),
            warning_checks(settings),
            problems,
            wait_seconds=settings.lock_wait_seconds,
        )
    elif config.action == "issue":
        outcome = closing.issue(
            paths,
            period,
            config.by,
            problems,
            content_fingerprint(paths.landing(period)),
            wait_seconds=settings.lock_wait_seconds,
        )
    else:
        outcome = closing.after_run(paths, period, correct=True, by=config.by, wait_seconds=settings.lock_wait_seconds)
    if not refresh_marts:
        return outcome
    not_refreshed = refresh_closing_marts(paths, dbt_environment(settings), wait_seconds=settings.lock_wait_seconds)
    if not_refreshed:
        return replace(outcome, message=f"{outcome.message} (marts not rebuilt: {not_refreshed})")
    try:
        publish_month(paths.warehouse, paths.published_warehouse, period, published_by, settings.duckdb_memory_limit)
    except PublishError as error:
        return replace(outcome, message=f"{outcome.message} (analysts' copy not updated: {error})")
    return outcome


@dg.op(pool=WAREHOUSE_POOL)
def close_month_step(context: dg.OpExecutionContext, config: CloseMonthConfig, warehouse: Warehouse) -> None:
    """Approve (with the warnings acknowledged by name), issue, or issue the corrections of a month."""
    try:
        outcome = run_close_action(warehouse.settings, config, published_by=context.run_id)
    except StatusError as refusal:
        raise dg.Failure(description=str(refusal)) from None
    context.log.info(outcome.message)
    context.log_event(
        dg.AssetObservation(
            asset_key=MONTH_STATUS, partition=outcome.period.key, metadata=status_metadata(warehouse.settings, outcome)
        )
    )


@dg.job(
    name="close_month",
    description=(
        "Launched by hand with run config: period (YYYY-MM), action (approve | issue | correct), by (your name), "
        "acknowledge (the failing warning checks you accept, by name). The same steps as csp-recon approve / issue / run --correct."
    ),
    tags={"csp-recon/kind": "closing"},
)
def close_month():
    close_month_step()
