"""`csp-recon`: generate sample files, or run one month through the same Dagster graph as the UI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.settings import DATA_DIR_ENV, resolve_data_dir, validate_period


def _period(text: str) -> str:
    try:
        return validate_period(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    # Set before the definitions load, so the UI's resources and dbt's profile see the same folder.
    os.environ[DATA_DIR_ENV] = str(data_dir)
    from pipelines.monthly_run import run_month

    return run_month(args.period, data_dir)


def _backfill(args: argparse.Namespace) -> int:
    from pipelines.partitions import months_between

    try:
        periods = months_between(args.first, args.last)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    data_dir = resolve_data_dir(args.data_dir)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    from pipelines.monthly_run import run_month

    failed = []
    for period in periods:
        print(f"\n=== {period} ===")
        if run_month(period, data_dir) != 0:
            failed.append(period)
    print(f"\nBackfill {args.first} to {args.last}: {len(periods) - len(failed)} of {len(periods)} month(s) passed.")
    if failed:
        print(f"Failed: {', '.join(failed)}")
    return 1 if failed else 0


def _ui(args: argparse.Namespace) -> int:
    from pipelines.instance import DAGSTER_HOME_ENV, prepare_dagster_home
    from pipelines.settings import REPO_ROOT, DataPaths

    data_dir = resolve_data_dir(args.data_dir)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    os.environ[DAGSTER_HOME_ENV] = str(prepare_dagster_home(DataPaths(data_dir)))
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "--port", str(args.port)]
    os.execv(command[0], command)


def _init(args: argparse.Namespace) -> int:
    from pipelines.config import resolve_config_dir, write_sample_config
    from pipelines.settings import DataPaths

    directory = resolve_config_dir(DataPaths(resolve_data_dir(args.data_dir)), args.config_dir)
    try:
        written = write_sample_config(directory)
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Sample configuration written to {directory} ({', '.join(path.name for path in written)}): edit it, then run a month.")
    return 0


def _issue(args: argparse.Namespace) -> int:
    from pipelines.invoicing.issuing import issue_month
    from pipelines.metadata import printable
    from pipelines.settings import DataPaths

    from pipelines.defs.quality.gate import judge_month_now

    paths = DataPaths(resolve_data_dir(args.data_dir))
    if not paths.warehouse.exists():
        print(f"There is no warehouse at {paths.warehouse}: run {args.period} first.", file=sys.stderr)
        return 1
    # Only a month whose blocking checks pass on its current data is ever issued.
    verdict = judge_month_now(paths, args.period)
    if not verdict.passed:
        print(printable(verdict.sentence("Invoices")), file=sys.stderr)
        return 1
    result = issue_month(paths, args.period)
    print(f"csp-recon issue {args.period}: {len(result.issued)} invoice(s) issued, {len(result.already_issued)} issued before and left as they were.")
    for number in result.issued:
        print(f"  issued {number}")
    for blocked in result.blocked:
        print(f"  not invoiced: {printable(blocked)}")
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
    init.add_argument("--config-dir", help="configuration directory (default: $CSP_RECON_CONFIG_DIR, else <data>/config)")
    init.set_defaults(handler=_init)

    issue = commands.add_parser("issue", help="Number and write the final invoices of a month that passed its checks.")
    issue.add_argument("--period", required=True, type=_period, help="invoice month, YYYY-MM")
    _add_data_dir(issue)
    issue.set_defaults(handler=_issue)

    generate = commands.add_parser("generate", help="Write sample Partner Center files.")
    from pipelines.generate.command import add_arguments

    add_arguments(generate)
    generate.set_defaults(handler=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
