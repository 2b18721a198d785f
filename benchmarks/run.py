"""Partner-scale benchmark: csp-recon against a hand-written DuckDB baseline and pandas.

    .venv/bin/python benchmarks/run.py [--usage-rows 2000000] [--license-rows 200000] [--repeat 3]

Generates one month (cached under benchmarks/out/), then measures, each --repeat times in a
fresh process, wall time and peak RSS of:
  (a) plain DuckDB SQL: load the CSVs with explicit types into a fresh file, cost per customer;
  (b) `csp-recon run` end to end (ingest, dbt, checks, exports, publish);
  (c) the same as (a) in pandas.
Then the history test: a re-run of one month with --history-months already loaded, against
that month's first run. Prints medians and the ratios b/a and c/b.

    .venv/bin/python benchmarks/run.py --ui [--repeat 3]

One small month, run as the UI runs it (queued, dequeued by the daemon, launched from the code
location) against `csp-recon run`: medians of each and their ratio (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
PERIOD = "2026-10"

BASELINE_DUCKDB = textwrap.dedent(
    """
    import csv, glob, sys, duckdb
    from pipelines.formats import LICENSE_RECON_COLUMNS, USAGE_RECON_COLUMNS
    month, db = sys.argv[1], sys.argv[2]
    con = duckdb.connect(db)
    for table, spec, pattern in (("license", LICENSE_RECON_COLUMNS, "*License*"), ("usage", USAGE_RECON_COLUMNS, "*Usage*")):
        paths = sorted(glob.glob(f"{month}/{pattern}"))
        with open(paths[0], encoding="utf-8-sig") as first:
            header = next(csv.reader(first))
        types = {c.name: (c.sql_name, "VARCHAR" if c.type == "US_DATETIME" else c.type) for c in spec}
        columns = "{" + ", ".join(f"'{types[h][0]}': '{types[h][1]}'" for h in header) + "}"
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv({paths}, header=true, auto_detect=false, columns={columns})")
    rows = con.execute(
        "SELECT customer_id, currency, sum(cost) FROM (SELECT customer_id, currency, subtotal AS cost FROM license "
        "UNION ALL SELECT customer_id, currency, pretax_charges FROM usage) GROUP BY ALL"
    ).fetchall()
    print(len(rows), "customers")
    """
)

BASELINE_PANDAS = textwrap.dedent(
    """
    import sys, glob, pandas as pd
    month = sys.argv[1]
    frames = []
    for pattern, cost in (("*License*", "Subtotal"), ("*Usage*", "PretaxCharges")):
        for path in glob.glob(f"{month}/{pattern}"):
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
            frame["cost"] = pd.to_numeric(frame[cost])
            frames.append(frame[["CustomerId", "Currency", "cost"]])
    totals = pd.concat(frames).groupby(["CustomerId", "Currency"])["cost"].sum()
    print(len(totals), "customers")
    """
)


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command run in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed: {process.stderr.read()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def generate(target: Path, usage_rows: int, license_rows: int, months: int, customers: int, currencies: str) -> Path:
    stamp = target / "params.json"
    params = {
        "usage": usage_rows,
        "license": license_rows,
        "months": months,
        "customers": customers,
        "currencies": currencies,
    }
    if not (stamp.exists() and json.loads(stamp.read_text()) == params):
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                str(BIN / "csp-recon"),
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(target / "landing"),
                "--period",
                first_period(months),
                "--months",
                str(months),
                "--customers",
                str(customers),
                "--usage-rows",
                str(usage_rows),
                "--license-rows",
                str(license_rows),
                "--currencies",
                currencies,
            ],
            check=True,
        )
        stamp.write_text(json.dumps(params))
    return target / "landing"


def first_period(months: int) -> str:
    year, month = map(int, PERIOD.split("-"))
    index = year * 12 + month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def fresh_data_dir(name: str, landing: Path, periods: list[str]) -> Path:
    data = OUT / "runs" / name
    shutil.rmtree(data, ignore_errors=True)
    for period in periods:
        # Hard links: the pipeline refuses symlinks that lead outside its data directory.
        (data / "landing" / period).mkdir(parents=True)
        for source in (landing / period).iterdir():
            os.link(source, data / "landing" / period / source.name)
    return data


def run_command(data: Path, period: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "CSP_RECON_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    return [str(BIN / "csp-recon"), "run", "--period", period, "--data-dir", str(data)], env


def step_times(data: Path) -> list[tuple[str, float]]:
    """Seconds per Dagster step of the data dir's latest run, longest first, from its events."""
    import dagster as dg

    pattern = re.compile(r'Finished execution of step "([^"]+)" in ([0-9.]+)(ms|s)')
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        run = instance.get_runs(limit=1)[0]
        messages = [
            entry.dagster_event.message or ""
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        ]
    steps = [(m[1], float(m[2]) / (1000 if m[3] == "ms" else 1)) for m in map(pattern.search, messages) if m]
    return sorted(steps, key=lambda step: -step[1])


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--usage-rows", type=int, default=2_000_000)
    parser.add_argument("--license-rows", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--history-months", type=int, default=12)
    parser.add_argument("--history-usage-rows", type=int, default=200_000)
    parser.add_argument("--ui", action="store_true", help="compare a small month run as from the UI with the CLI")
    args = parser.parse_args()
    if args.ui:
        return ui_against_cli(args.repeat)

    # Two invoices (EUR, USD) share the month's rows, so customers keep their billing currency.
    month_landing = generate(OUT / "month", args.usage_rows // 2, args.license_rows // 2, 1, args.customers, "EUR,USD")
    month_files = month_landing / PERIOD
    rows = args.usage_rows + args.license_rows

    results: dict[str, list[tuple[float, float]]] = {"a": [], "b": [], "c": []}
    for attempt in range(args.repeat):
        db = OUT / "baseline.duckdb"
        db.unlink(missing_ok=True)
        results["a"].append(measure([sys.executable, "-c", BASELINE_DUCKDB, str(month_files), str(db)]))
        data = fresh_data_dir("single", month_landing, [PERIOD])
        results["b"].append(measure(*run_command(data, PERIOD)))
        results["c"].append(measure([sys.executable, "-c", BASELINE_PANDAS, str(month_files)]))
        print(
            f"run {attempt + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f}s {v[-1][1]:.0f}MiB" for k, v in results.items()),
            flush=True,
        )

    labels = {"a": "(a) DuckDB baseline", "b": "(b) csp-recon run", "c": "(c) pandas"}
    print(f"\n{rows:,} input rows; medians of {args.repeat} runs")
    medians = {key: median_of(runs) for key, runs in results.items()}
    for key, (seconds, rss) in medians.items():
        print(f"  {labels[key]:<22} {seconds:8.2f} s   peak RSS {rss:8.0f} MiB   {rows / seconds:12,.0f} rows/s")
    print(
        f"  ratio b/a = {medians['b'][0] / medians['a'][0]:.2f}   ratio c/b = {medians['c'][0] / medians['b'][0]:.2f}"
    )
    print("\n(b) by step, last run (the rest is process start, definitions and the instance):")
    for step, seconds in step_times(OUT / "runs" / "single")[:8]:
        print(f"  {step:<58} {seconds:7.2f} s")

    history = generate(
        OUT / "history",
        args.history_usage_rows // 2,
        args.history_usage_rows // 20,
        args.history_months,
        args.customers,
        "EUR,USD",
    )
    periods = sorted(p.name for p in history.iterdir())
    data = fresh_data_dir("history", history, periods)
    first = [measure(*run_command(data, periods[-1]))]
    for period in periods[:-1]:
        measure(*run_command(data, period))
    reruns = [measure(*run_command(data, periods[-1])) for _ in range(args.repeat)]
    first_seconds, rerun_seconds = first[0][0], median_of(reruns)[0]
    print(
        f"\nhistory: first run of {periods[-1]} on an empty warehouse {first_seconds:.2f} s; re-run with "
        f"{len(periods)} months loaded {rerun_seconds:.2f} s (median of {args.repeat}); ratio {rerun_seconds / first_seconds:.2f}"
    )


def ui_against_cli(repeat: int) -> None:
    """The UI's path (queue, daemon, code location) against `csp-recon run`, one small month."""
    import dagster as dg

    landing = generate(OUT / "small", 30, 12, 1, 4, "EUR,USD")
    cli, ui = [], []
    for attempt in range(repeat):
        data = fresh_data_dir("cli", landing, [PERIOD])
        cli.append(measure(*run_command(data, PERIOD))[0])
        data = fresh_data_dir("ui", landing, [PERIOD])
        home = data / "dagster_home"
        home.mkdir(parents=True)
        shutil.copyfile(HERE.parent / "dagster.yaml", home / "dagster.yaml")
        env = {
            **os.environ,
            "CSP_RECON_DATA_DIR": str(data),
            "DAGSTER_HOME": str(home),
            "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
        }
        workspace = str(HERE.parent / "workspace.yaml")
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", workspace],
            cwd=HERE.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(15)  # the daemon is up before the click, as under `csp-recon ui`
            started = time.perf_counter()
            subprocess.run(
                [
                    str(BIN / "dagster"),
                    "job",
                    "launch",
                    "-w",
                    workspace,
                    "-j",
                    "monthly_close",
                    "--tags",
                    json.dumps({"dagster/partition": PERIOD}),
                ],
                cwd=HERE.parent,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            with dg.DagsterInstance.from_config(str(home)) as instance:
                while not (run := instance.get_runs(limit=1)[0]).is_finished:
                    if time.perf_counter() - started > 900:
                        raise SystemExit("the UI run did not finish within 15 minutes")
                    time.sleep(0.5)
            if run.status != dg.DagsterRunStatus.SUCCESS:
                raise SystemExit(f"the UI run ended {run.status}")
            ui.append(time.perf_counter() - started)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
        print(f"run {attempt + 1}: cli {cli[-1]:.1f}s, ui {ui[-1]:.1f}s", flush=True)
    cli_median, ui_median = statistics.median(cli), statistics.median(ui)
    print(
        f"\nsmall month, medians of {repeat}: csp-recon run {cli_median:.1f} s, as from the UI {ui_median:.1f} s; "
        f"ratio {ui_median / cli_median:.2f} (target <= 1.5)"
    )


if __name__ == "__main__":
    main()
