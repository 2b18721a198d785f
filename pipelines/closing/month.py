"""Closing a month: approve the drafts, issue them, and keep the month's status true to its data.

The CLI (`csp-recon approve|issue|status|run --correct`), the Dagster `close_month` job and the
run's `closing/month_status` step all call these functions; none of them reads Dagster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from pipelines.automation.landing_watch import content_fingerprint as landing_content
from pipelines.closing.corrections import (
    CREDIT_NOTE_MODE,
    billing_profiles,
    carry_differences,
    issue_credit_notes,
    month_changes,
    next_open_period,
    with_carried_corrections,
    withdraw_carried_differences,
)
from pipelines.closing.drafts import remove_drafts
from pipelines.closing.status import (
    FINAL,
    MonthState,
    MonthStatus,
    StatusError,
    all_states,
    change_status,
    month_state,
    record_seen,
)
from pipelines.config import config_dir_in_use, load_config
from pipelines.invoicing.issuing import content_fingerprint, issue_month
from pipelines.invoicing.model import MonthInvoices
from pipelines.invoicing.source import load_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DEFAULT_LOCK_WAIT_SECONDS, DataPaths
from pipelines.warehouse_file import connect_waiting

# A warning check judged on the month's data: (name, problems), no problem when it passes.
WarningCheck = tuple[str, Callable[[duckdb.DuckDBPyConnection, BillingPeriod], list[str]]]
RUN_ACTOR = "monthly run"


@dataclass(frozen=True)
class Outcome:
    """What a step of the close did, in a sentence for the clerk; `changed` when the status moved."""

    period: BillingPeriod
    status: MonthStatus
    message: str
    documents: tuple[str, ...] = ()
    changed: bool = False


def current_month(con: duckdb.DuckDBPyConnection, paths: DataPaths, period: BillingPeriod) -> MonthInvoices:
    """The month's invoices as a run would draft them now: its marts plus differences carried onto it."""
    seller = load_config(config_dir_in_use(paths)).partner
    return with_carried_corrections(con, load_month(con, period, seller))


def month_fingerprint(month: MonthInvoices) -> str:
    """Every invoice's content and every customer held: approval is of exactly these figures."""
    digest = hashlib.sha256()
    for customer in month.customers:
        for invoice in customer.invoices:
            digest.update(f"{customer.customer_id}\0{invoice.currency}\0{content_fingerprint(invoice)}\n".encode())
    for blocked in month.blocked:
        digest.update(f"held\0{blocked.customer_id}\0{blocked.reason}\n".encode())
    return digest.hexdigest()


def approve(
    paths: DataPaths,
    period: BillingPeriod,
    by: str,
    acknowledged: list[str],
    warning_checks: list[WarningCheck],
    blocking_problems: list[str],
    *,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> Outcome:
    """Approve the month's drafts. Refused, with every reason named, while a blocking check fails
    or a warning check fails without being acknowledged by its name."""
    if blocking_problems:
        raise StatusError(f"{period} cannot be approved: its blocking checks fail ({'; '.join(blocking_problems)}).")
    names = [name for name, _ in warning_checks]
    unknown = [name for name in acknowledged if name not in names]
    if unknown:
        raise StatusError(
            f"{period}: no warning check is called {', '.join(map(repr, unknown))}; the warning checks are {', '.join(names)}."
        )
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        state = month_state(con, period)
        if state.status in FINAL:
            raise StatusError(
                f"{period} is {state.status.value}: its invoices are issued, there is nothing to approve."
            )
        month = current_month(con, paths, period)
        record_seen(con, period, by, month.seller.legal_name)
        if not month.customers and not month.blocked:
            raise StatusError(
                f"{period} has no draft invoice: run the month first (`csp-recon run --period {period}`)."
            )
        failing = [(name, problems) for name, judge in warning_checks if (problems := _judged(judge, con, period))]
        missing = [f"{name} ({'; '.join(problems)})" for name, problems in failing if name not in acknowledged]
        if missing:
            raise StatusError(
                f"{period} not approved: acknowledge each failing warning by name (--acknowledge NAME) once you have checked it: "
                + "; ".join(missing)
                + "."
            )
        taken = tuple(name for name, _ in failing)
        reason = (
            f"drafts approved; warnings acknowledged: {', '.join(taken)}" if taken else "drafts approved; no warning"
        )
        new = change_status(
            con,
            period,
            MonthStatus.APPROVED,
            by,
            reason,
            approved_by=by,
            acknowledged=taken,
            approved_fingerprint=month_fingerprint(month),
        )
    return Outcome(period, new.status, f"{period} approved by {by} ({reason}).", changed=True)


def _judged(judge, con: duckdb.DuckDBPyConnection, period: BillingPeriod) -> list[str]:
    """A check that cannot be evaluated (a missing table) fails: it is never taken as passed."""
    try:
        return judge(con, period)
    except duckdb.Error as error:
        return [f"could not be evaluated ({str(error).splitlines()[0]})"]


def issue(
    paths: DataPaths,
    period: BillingPeriod,
    by: str,
    blocking_problems: list[str],
    landing_fingerprint: str | None,
    issue_date: date | None = None,
    *,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> Outcome:
    """Issue an approved month whose figures are still the approved ones."""
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        state = month_state(con, period)
        if state.status != MonthStatus.APPROVED:
            raise StatusError(
                f"{period} is {state.status.value}: only an approved month is issued (`csp-recon approve --period {period} --by NAME`)."
            )
        if blocking_problems:
            raise StatusError(
                f"{period} cannot be issued: its blocking checks fail on its current data ({'; '.join(blocking_problems)})."
            )
        if month_fingerprint(current_month(con, paths, period)) != state.approved_fingerprint:
            change_status(
                con, period, MonthStatus.OPEN, by, "the figures changed since they were approved: approve them again"
            )
            raise StatusError(
                f"{period} not issued: its figures changed since {state.approved_by} approved them; the month is open again, approve it again."
            )
    result = issue_month(paths, period, issue_date, adjust=with_carried_corrections, wait_seconds=wait_seconds)
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        new = change_status(
            con,
            period,
            MonthStatus.ISSUED,
            by,
            f"{len(result.issued)} invoice(s) issued: {', '.join(result.issued) or 'none'}",
            landing_fingerprint=landing_fingerprint,
        )
    remove_drafts(paths, period)  # the issued folder is the month's documents now
    held = f"; not invoiced: {'; '.join(result.blocked)}" if result.blocked else ""
    return Outcome(
        period, new.status, f"{period} issued: {len(result.issued)} invoice(s){held}.", result.issued, changed=True
    )


def after_run(
    paths: DataPaths,
    period: BillingPeriod,
    correct: bool,
    issue_date: date | None = None,
    by: str = RUN_ACTOR,
    *,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> Outcome:
    """Keep the status true to the month's new figures after a run.

    An approved month whose figures changed is open again. An issued month whose figures
    differ from what was billed is marked correction pending, or, when the run is a deliberate
    correction (`correct`), gets its corrections issued or carried per the partner's mode."""
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        month = current_month(con, paths, period)
        state = record_seen(con, period, by, month.seller.legal_name)
        if state.status == MonthStatus.APPROVED and month_fingerprint(month) != state.approved_fingerprint:
            new = change_status(
                con,
                period,
                MonthStatus.OPEN,
                by,
                f"the figures changed since {state.approved_by} approved them: approve again",
            )
            return Outcome(
                period,
                new.status,
                f"{period} is open again: its figures changed since {state.approved_by} approved them; approve it again.",
                changed=True,
            )
        if state.status not in FINAL:
            suffix = " (nothing to correct: the month is not issued)" if correct else ""
            return Outcome(period, state.status, f"{period} is {state.status.value}: drafts made{suffix}.")
        changes = month_changes(con, month)
        if not changes:
            if state.status == MonthStatus.CORRECTION_PENDING:
                new = change_status(
                    con,
                    period,
                    MonthStatus.ISSUED,
                    by,
                    "the figures are again those issued: nothing to correct",
                    landing_fingerprint=landing_now(paths, period),
                )
                return Outcome(
                    period,
                    new.status,
                    f"{period} is issued: its figures are again those issued, nothing to correct.",
                    changed=True,
                )
            return Outcome(period, state.status, f"{period} is issued and unchanged: its documents stay as they were.")
        listed = "; ".join(map(str, changes))
        if not correct:
            reason = f"{len(changes)} customer invoice(s) differ from what was issued ({listed}): run `csp-recon run --period {period} --correct`"
            new = change_status(con, period, MonthStatus.CORRECTION_PENDING, by, reason, pending_reason=reason)
            return Outcome(period, new.status, f"{period} correction pending: {reason}.", changed=True)
        seller = month.seller
        final = {s.period for s in all_states(con) if s.status in FINAL}
        if seller.correction_mode == CREDIT_NOTE_MODE:
            withdraw_carried_differences(con, period, changes, final, by)
            numbers = issue_credit_notes(
                con, paths, month, changes, issue_date or datetime.now(UTC).date(), billing_profiles(con)
            )
            reason = f"corrections issued: {', '.join(numbers)} ({listed})"
        else:
            target = next_open_period(period, final)
            carry_differences(con, month, changes, target, by)
            numbers = ()
            reason = f"differences carried onto the invoices of {target} ({listed})"
        new = change_status(con, period, MonthStatus.ISSUED, by, reason, landing_fingerprint=landing_now(paths, period))
    return Outcome(period, new.status, f"{period}: {reason}.", numbers, changed=True)


def landing_now(paths: DataPaths, period: BillingPeriod) -> str:
    """The landing files' content now: what the month's documents are from, once corrected."""
    return landing_content(paths.landing(period)) or ""


def mark_correction_pending(
    paths: DataPaths, period: BillingPeriod, reason: str, by: str, *, wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
) -> Outcome | None:
    """A changed landing file for an issued month: recorded, never run (the sensor's part)."""
    with connect_waiting(paths.warehouse, wait_seconds=wait_seconds) as con:
        state = month_state(con, period)
        if state.status not in FINAL:
            return None
        if state.status == MonthStatus.CORRECTION_PENDING and state.pending_reason == reason:
            return Outcome(period, state.status, reason)
        new = change_status(con, period, MonthStatus.CORRECTION_PENDING, by, reason, pending_reason=reason)
    return Outcome(period, new.status, reason, changed=True)


def status_rows(con: duckdb.DuckDBPyConnection, period: BillingPeriod | None = None) -> list[MonthState]:
    states = all_states(con)
    return [state for state in states if period is None or state.period == period]
