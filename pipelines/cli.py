"""`csp-recon`: generate sample files, or run one month through the same Dagster graph as the UI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.periods import BillingPeriod
from pipelines.settings import DATA_DIR_ENV, SettingError, Settings


def _period(text: str) -> BillingPeriod:
    try:
        return BillingPeriod.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _settings(args: argparse.Namespace) -> Settings:
    """This command's settings: its flags, then the environment, then defaults."""
    return Settings.load(data_dir=args.data_dir, config_dir=getattr(args, "config_dir", None))


def _pipeline_settings(args: argparse.Namespace) -> Settings:
    """The settings of a command that loads the pipeline's definitions, which are built from the
    dbt manifest: a fresh install's first such command parses the dbt project first."""
    from pipelines.defs.transform.project import ensure_manifest

    settings = _settings(args)
    ensure_manifest(settings)
    return settings


def _run(args: argparse.Namespace) -> int:
    from pipelines.defs.runs.monthly_run import run_month

    return run_month(args.period, _pipeline_settings(args), correct=args.correct)


def _backfill(args: argparse.Namespace) -> int:
    from pipelines.periods import months_between

    try:
        periods = months_between(args.first, args.last)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    settings = _pipeline_settings(args)
    from pipelines.defs.runs.monthly_run import run_month

    failed = []
    for period in periods:
        print(f"\n=== {period} ===")
        if run_month(period, settings) != 0:
            failed.append(period.key)
    print(f"\nBackfill {args.first} to {args.last}: {len(periods) - len(failed)} of {len(periods)} month(s) passed.")
    if failed:
        print(f"Failed: {', '.join(failed)}")
    return 1 if failed else 0


def _ui(args: argparse.Namespace) -> int:
    from pipelines.defs.runs.instance import prepare_dagster_home
    from pipelines.settings import DAGSTER_HOME_ENV, REPO_ROOT, child_environment

    settings = _pipeline_settings(args)
    # The UI's code location, daemon and runs rebuild these settings from their environment.
    environment = child_environment({**settings.environment(), DAGSTER_HOME_ENV: str(prepare_dagster_home(settings))})
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "--port", str(args.port)]
    os.execve(command[0], command, environment)


def _init(args: argparse.Namespace) -> int:
    from pipelines.config import write_sample_config

    directory = _settings(args).paths.config_dir
    try:
        written = write_sample_config(directory)
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 1
    print(
        f"Sample configuration written to {directory} ({', '.join(path.name for path in written)}): edit it, then run a month."
    )
    return 0


def _closing_settings(args: argparse.Namespace) -> Settings | None:
    settings = _pipeline_settings(args)
    if not settings.paths.warehouse.exists():
        print(
            f"There is no warehouse at {settings.paths.warehouse}: run {getattr(args, 'period', None) or 'a month'} first.",
            file=sys.stderr,
        )
        return None
    return settings


def _close_action(args: argparse.Namespace, action: str) -> int:
    """approve / issue: the same steps as the Dagster `close_month` job, refused with a sentence."""
    from pipelines.closing.status import StatusError
    from pipelines.defs.closing.assets import CloseMonthConfig, run_close_action
    from pipelines.inert import printable

    settings = _closing_settings(args)
    if settings is None:
        return 1
    config = CloseMonthConfig(
        period=args.period.key,
        action=action,
        by=args.by or settings.user,
        acknowledge=list(getattr(args, "acknowledge", None) or []),
    )
    try:
        outcome = run_close_action(settings, config, published_by=f"csp-recon-{action}")
    except StatusError as refusal:
        print(printable(refusal), file=sys.stderr)
        return 1
    print(printable(f"csp-recon {action} {args.period}: {outcome.message}"))
    for number in outcome.documents:
        print(f"  issued {number}")
    return 0


def _approve(args: argparse.Namespace) -> int:
    return _close_action(args, "approve")


def _issue(args: argparse.Namespace) -> int:
    return _close_action(args, "issue")


def _status(args: argparse.Namespace) -> int:
    from pipelines.closing.month import status_rows
    from pipelines.closing.status import history
    from pipelines.inert import printable
    from pipelines.warehouse_file import connect_waiting

    settings = _closing_settings(args)
    if settings is None:
        return 1
    with connect_waiting(settings.paths.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds) as con:
        states = status_rows(con, args.period)
        changes = history(con, states[0].period) if args.period and states else []
    if not states:
        print(f"{args.period}: open (never run).")
        return 0
    print(
        f"{'month':<8} {'status':<19} {'approved by':<22} {'approved at (UTC)':<17} {'acknowledged':<30} {'last change (UTC)':<17}"
    )
    for state in states:
        approved_at = f"{state.approved_at:%Y-%m-%d %H:%M}" if state.approved_at else "-"
        print(
            printable(
                f"{state.period}  {state.status.value:<19} {state.approved_by or '-':<22} {approved_at:<17} "
                f"{', '.join(state.acknowledged) or '-':<30} {state.updated_at:%Y-%m-%d %H:%M}"
            )
        )
        if state.pending_reason:
            print(printable(f"          correction pending: {state.pending_reason}"))
    if changes:
        print("\nHistory:")
        for at, by, before, after, reason in changes:
            print(printable(f"  {at:%Y-%m-%d %H:%M}  {by}: {before} -> {after} ({reason})"))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generate.command import run

    return run(args)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else ./data)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csp-recon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="Run the whole pipeline for one invoice month.")
    run.add_argument("--period", required=True, type=_period, help="invoice month, YYYY-MM")
    run.add_argument(
        "--correct",
        action="store_true",
        help="an issued month whose files changed: issue its corrections (credit note and corrected invoice, or on the next invoice)",
    )
    _add_data_dir(run)
    run.set_defaults(handler=_run)

    backfill = commands.add_parser("backfill", help="Run several invoice months, one after the other.")
    backfill.add_argument("--from", dest="first", required=True, type=_period, help="first month, YYYY-MM")
    backfill.add_argument("--to", dest="last", required=True, type=_period, help="last month, YYYY-MM")
    _add_data_dir(backfill)
    backfill.set_defaults(handler=_backfill)

    ui = commands.add_parser("ui", help="Serve the Dagster UI, with schedules and sensors, for the data directory.")
    _add_data_dir(ui)
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)

    init = commands.add_parser("init", help="Write a commented sample of the partner's configuration to edit.")
    _add_data_dir(init)
    init.add_argument(
        "--config-dir", help="configuration directory (default: $CSP_RECON_CONFIG_DIR, else <data>/config)"
    )
    init.set_defaults(handler=_init)

    approve = commands.add_parser(
        "approve", help="Approve a month's draft invoices, acknowledging its failing warning checks by name."
    )
    approve.add_argument("--period", required=True, type=_period, help="invoice month, YYYY-MM")
    approve.add_argument("--by", required=True, help="your name, recorded in the month's history")
    approve.add_argument(
        "--acknowledge",
        action="append",
        metavar="CHECK",
        help="a failing warning check you have looked at and accept (repeat for each)",
    )
    _add_data_dir(approve)
    approve.set_defaults(handler=_approve)

    issue = commands.add_parser(
        "issue", help="Number and write the final invoices of an approved month that passes its checks."
    )
    issue.add_argument("--period", required=True, type=_period, help="invoice month, YYYY-MM")
    issue.add_argument(
        "--by",
        help="who issues, recorded in the month's history (default: $USER)",
    )
    _add_data_dir(issue)
    issue.set_defaults(handler=_issue)

    status = commands.add_parser(
        "status", help="Each month's status (open, approved, issued, correction pending) and its history."
    )
    status.add_argument("--period", type=_period, help="one month, with its history")
    _add_data_dir(status)
    status.set_defaults(handler=_status)

    generate = commands.add_parser("generate", help="Write sample Partner Center files.")
    from pipelines.generate.command import add_arguments

    add_arguments(generate)
    generate.set_defaults(handler=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.warehouse_file import WarehouseLocked

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingError as unusable:  # a flag or variable the pipeline cannot use: before anything runs
        print(f"csp-recon {args.command}: not started, because {unusable}", file=sys.stderr)
        return 2
    except WarehouseLocked as locked:  # status, approve, issue, or a summary after the run
        print(locked, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
