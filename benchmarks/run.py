"""Partner-scale benchmark: csp-recon against a hand-written DuckDB baseline, pandas and the import floor.

    .venv/bin/python benchmarks/run.py [--months legacy,nce,small] [--repeat 3]
        [--usage-rows 2000000] [--license-rows 200000]            (the legacy month)
        [--nce-lines 100000] [--nce-daily-rows 10000000]           (the NCE month)

Generates each month once (cached under benchmarks/out/), then measures, each --repeat times in a
fresh process, wall time and peak RSS of:
  (a) plain DuckDB SQL: read the month's files with declared types, pre-tax cost per customer;
  (b) `csp-recon run` end to end (ingest, dbt, checks, exports, publish);
  (c) the same as (a) in pandas;
  (d) the import floor: a fresh Python importing dagster, dagster-dbt, dbt, duckdb and
      great-expectations, then exiting.
Months: `legacy` (license- and usage-based files, 2.2M lines), `nce` (the invoice reconciliation
file and the daily rated usage file, two currencies), `small` (2,400 lines: a run's fixed cost,
against (d)). Then the history test: a re-run of one month with --history-months already loaded,
against that month's first run. Prints medians, the ratios and each target.

    .venv/bin/python benchmarks/run.py --ui [--repeat 3]

One small month, run as the UI runs it (queued, dequeued by the daemon, launched from the code
location) against `csp-recon run`: medians of each and their ratio (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
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

# Per month kind: (file pattern, column spec, customer, currency, pre-tax cost) of each file read.
MONTH_FILES = {
    "legacy": (
        ("*LicenseBasedRecon*", "LICENSE_RECON_COLUMNS", "CustomerId", "Currency", "Subtotal"),
        ("*UsageBasedRecon*", "USAGE_RECON_COLUMNS", "CustomerId", "Currency", "PretaxCharges"),
    ),
    "nce": (
        ("*InvoiceReconciliation*", "NCE_RECON_COLUMNS", "CustomerId", "Currency", "Subtotal"),
        ("*DailyRatedUsage*", "DAILY_USAGE_COLUMNS", "CustomerId", "BillingCurrency", "BillingPreTaxTotal"),
    ),
}

BASELINE_DUCKDB = textwrap.dedent(
    """
    import csv, glob, json, sys, duckdb
    from pipelines import formats
    month, db, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    con = duckdb.connect(db)
    parts = []
    for index, (pattern, spec, customer, currency, cost) in enumerate(files):
        paths = sorted(glob.glob(f"{month}/{pattern}"))
        with open(paths[0], encoding="utf-8-sig") as first:
            header = next(csv.reader(first))
        types = {
            name: (c.sql_name, "VARCHAR" if c.type in ("US_DATETIME", "JSON") else c.type)
            for c in getattr(formats, spec)
            for name in (c.name, *c.aliases)
        }
        columns = "{" + ", ".join("'{}': '{}'".format(*types.get(h, (h.lower(), "VARCHAR"))) for h in header) + "}"
        con.execute(f"CREATE TABLE t{index} AS SELECT * FROM read_csv({paths}, header=true, auto_detect=false, columns={columns})")
        parts.append(f"SELECT {types[customer][0]} AS customer_id, {types[currency][0]} AS currency, {types[cost][0]} AS cost FROM t{index}")
    rows = con.execute(f"SELECT customer_id, currency, sum(cost) FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL").fetchall()
    print(len(rows), "customers")
    """
)

BASELINE_PANDAS = textwrap.dedent(
    """
    import glob, json, sys, pandas as pd
    month, files = sys.argv[1], json.loads(sys.argv[2])
    frames = []
    for pattern, _, customer, currency, cost in files:
        for path in glob.glob(f"{month}/{pattern}"):
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", usecols=[customer, currency, cost])
            frame["cost"] = pd.to_numeric(frame[cost])
            frames.append(frame.rename(columns={customer: "customer", currency: "currency"})[["customer", "currency", "cost"]])
    totals = pd.concat(frames).groupby(["customer", "currency"])["cost"].sum()
    print(len(totals), "customers")
    """
)

IMPORT_FLOOR = "import dagster, dagster_dbt, dbt.cli.main, duckdb, great_expectations"


def tree_rss_mib(root: int, seen: set[int]) -> float:
    """Resident memory of a process and all its descendants now (a run is three processes: the
    CLI, the code server and the run worker, with dbt under it). `seen` keeps every descendant
    found by an earlier sample: `dagster job launch` exits once the run is started, and the code
    server it started, with the run worker under it, then belongs to init, not to the CLI."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree = {root} | {pid for pid in seen if pid in parents}
    frontier = list(tree)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    seen.update(tree)
    pages = 0
    for pid in tree:
        try:
            pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError):
            continue
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command run in its own process: the largest sum over
    its process tree, sampled every 0.2 s (wait4's figure misses grandchildren not waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, seen = 0.0, set[int]()
    while process.poll() is None:
        peak = max(peak, tree_rss_mib(process.pid, seen))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {process.stderr.read()[-2000:]}")
    return elapsed, peak


def generate(target: Path, months: int, customers: int, currencies: str, **rows: int | str) -> Path:
    """The months' landing folders, generated once per set of parameters (`rows`: the generator's
    own options, e.g. commerce="nce", usage_rows=40000, daily_resources=4)."""
    stamp = target / "params.json"
    params = {"months": months, "customers": customers, "currencies": currencies, **rows}
    if not (stamp.exists() and json.loads(stamp.read_text()) == params):
        shutil.rmtree(target, ignore_errors=True)
        options = [f"--{name.replace('_', '-')}={value}" for name, value in rows.items()]
        subprocess.run(
            [
                str(BIN / "csp-recon"),
                "generate",
                "--out",
                str(target / "landing"),
                "--period",
                first_period(months),
                "--months",
                str(months),
                "--customers",
                str(customers),
                "--currencies",
                currencies,
                *options,
            ],
            check=True,
        )
        stamp.write_text(json.dumps(params))
    return target / "landing"


def data_lines(folder: Path, pattern: str) -> int:
    """Lines of the month's files of one kind, header excluded: what a partner would count."""
    total = 0
    for path in folder.glob(pattern):
        with path.open("rb") as source:
            total += sum(1 for _ in source) - 1
    return total


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
    """Seconds per Dagster step of the data dir's latest run, longest first: from each step's
    start event to its success event (the success message writes a long step as "4m0.4s")."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        run = instance.get_runs(limit=1)[0]
        started: dict[str, float] = {}
        steps = []
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS and event.step_key in started:
                steps.append((event.step_key, entry.timestamp - started[event.step_key]))
    return sorted(steps, key=lambda step: -step[1])


def median_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


# Month kind -> the measurement its end-to-end run is compared with, and the largest ratio allowed.
TARGETS = {"legacy": ("a", 4.0), "nce": ("a", 3.0), "small": ("d", 2.0)}
NCE_PEAK_RSS_MIB = 2048
LABELS = {"a": "(a) DuckDB baseline", "b": "(b) csp-recon run", "c": "(c) pandas", "d": "(d) import floor"}


def month_landing(kind: str, args: argparse.Namespace) -> tuple[Path, str]:
    """The month's landing folder and the kind of files it holds (legacy or nce)."""
    if kind == "legacy":
        # Two invoices (EUR, USD) share the month's rows, so customers keep their billing currency.
        rows = {"usage_rows": args.usage_rows // 2, "license_rows": args.license_rows // 2}
        return generate(OUT / "month", 1, args.customers, "EUR,USD", commerce="legacy", **rows), "legacy"
    if kind == "nce":
        per_currency = args.nce_lines // 2
        azure_lines = per_currency * 4 // 5
        # The generator writes each Azure plan line's usage on every day of the month, per resource.
        resources = max(1, round(args.nce_daily_rows / (2 * azure_lines * 31)))
        rows = {"license_rows": per_currency - azure_lines, "usage_rows": azure_lines, "daily_resources": resources}
        return generate(OUT / "nce", 1, args.customers, "EUR,USD", commerce="nce", **rows), "nce"
    # 2 currencies x (200 licence + 1,000 usage lines): the fixed cost of a run.
    return generate(
        OUT / "small-month", 1, 20, "EUR,USD", commerce="legacy", license_rows=200, usage_rows=1000
    ), "legacy"


def measure_month(kind: str, args: argparse.Namespace) -> None:
    landing, files_kind = month_landing(kind, args)
    month_files = landing / PERIOD
    files = json.dumps(MONTH_FILES[files_kind])
    lines = {pattern: data_lines(month_files, pattern) for pattern, *_ in MONTH_FILES[files_kind]}
    results: dict[str, list[tuple[float, float]]] = {key: [] for key in LABELS}
    for attempt in range(args.repeat):
        db = OUT / "baseline.duckdb"
        db.unlink(missing_ok=True)
        results["a"].append(measure([sys.executable, "-c", BASELINE_DUCKDB, str(month_files), str(db), files]))
        data = fresh_data_dir(kind, landing, [PERIOD])
        results["b"].append(measure(*run_command(data, PERIOD)))
        results["c"].append(measure([sys.executable, "-c", BASELINE_PANDAS, str(month_files), files]))
        results["d"].append(measure([sys.executable, "-c", IMPORT_FLOOR]))
        print(
            f"{kind} run {attempt + 1}: "
            + ", ".join(f"{k} {v[-1][0]:.1f}s {v[-1][1]:.0f}MiB" for k, v in results.items()),
            flush=True,
        )
    medians = {key: median_of(runs) for key, runs in results.items()}
    counted = ", ".join(f"{count:,} {pattern.strip('*')} lines" for pattern, count in lines.items())
    print(f"\n{kind} month: {counted}; medians of {args.repeat} runs, each in fresh processes")
    for key, (seconds, rss) in medians.items():
        print(f"  {LABELS[key]:<22} {seconds:8.2f} s   peak RSS {rss:8.0f} MiB")
    baseline, allowed = TARGETS[kind]
    ratio = medians["b"][0] / medians[baseline][0]
    verdict = "met" if ratio <= allowed else "missed"
    print(
        f"  ratio b/{baseline} = {ratio:.2f} (target <= {allowed}: {verdict});  c/a = {medians['c'][0] / medians['a'][0]:.2f}"
    )
    if kind == "nce":
        rss = medians["b"][1]
        print(
            f"  peak RSS of (b) {rss:.0f} MiB (target <= {NCE_PEAK_RSS_MIB}: {'met' if rss <= NCE_PEAK_RSS_MIB else 'missed'})"
        )
    steps = step_times(OUT / "runs" / kind)
    print(
        f"  (b) by step, last run: {sum(seconds for _, seconds in steps):.1f} s in steps of its {results['b'][-1][0]:.1f} s "
        "(the rest is process start, definitions and the instance):"
    )
    for step, seconds in steps[:8]:
        print(f"    {step:<58} {seconds:7.2f} s")


def measure_history(args: argparse.Namespace) -> None:
    history = generate(
        OUT / "history",
        args.history_months,
        args.customers,
        "EUR,USD",
        commerce="legacy",
        usage_rows=args.history_usage_rows // 2,
        license_rows=args.history_usage_rows // 20,
    )
    periods = sorted(p.name for p in history.iterdir())
    data = fresh_data_dir("history", history, periods)
    first = [measure(*run_command(data, periods[-1]))]
    for period in periods[:-1]:
        measure(*run_command(data, period))
    reruns = [measure(*run_command(data, periods[-1])) for _ in range(args.repeat)]
    first_seconds, rerun_seconds = first[0][0], median_of(reruns)[0]
    ratio = rerun_seconds / first_seconds
    print(
        f"\nhistory: first run of {periods[-1]} on an empty warehouse {first_seconds:.2f} s; re-run with "
        f"{len(periods)} months loaded {rerun_seconds:.2f} s (median of {args.repeat}); "
        f"ratio {ratio:.2f} (target <= 1.1: {'met' if ratio <= 1.1 else 'missed'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", default="legacy,nce,small", help="month kinds to measure, comma-separated")
    parser.add_argument("--usage-rows", type=int, default=2_000_000)
    parser.add_argument("--license-rows", type=int, default=200_000)
    parser.add_argument("--nce-lines", type=int, default=100_000, help="invoice reconciliation lines of the NCE month")
    parser.add_argument("--nce-daily-rows", type=int, default=10_000_000, help="daily rated usage rows, about")
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--history-months", type=int, default=12, help="0: no history test")
    parser.add_argument("--history-usage-rows", type=int, default=200_000)
    parser.add_argument("--ui", action="store_true", help="compare a small month run as from the UI with the CLI")
    args = parser.parse_args()
    if args.ui:
        return ui_against_cli(args.repeat)
    for kind in args.months.split(","):
        if kind not in TARGETS:
            raise SystemExit(f"unknown month kind {kind!r}: choose among {', '.join(TARGETS)}")
        measure_month(kind, args)
    if args.history_months:
        measure_history(args)


def ui_against_cli(repeat: int) -> None:
    """The UI's path (queue, daemon, code location) against `csp-recon run`, one small month."""
    import dagster as dg

    landing = generate(OUT / "small", 1, 4, "EUR,USD", commerce="legacy", usage_rows=30, license_rows=12)
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
