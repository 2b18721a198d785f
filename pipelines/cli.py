"""`csp-recon`: generate sample files, or run one month through the same Dagster graph as the UI."""

from __future__ import annotations

import argparse
import os
import sys

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


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generate.command import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csp-recon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="Run the whole pipeline for one invoice month.")
    run.add_argument("--period", required=True, type=_period, help="invoice month, YYYY-MM")
    run.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else ./data)")
    run.set_defaults(handler=_run)

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
