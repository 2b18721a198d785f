"""The Dagster UI in headless Chromium, tried as a new user would (issue 11): three generated
months, 2026-08's invoice summary off by 1.00; 2026-07 and 2026-09 first run by `csp-recon run` in
the UI's own instance, then ONE backfill of the three months launched from the UI. The two good
months' marts equal their one-month CLI runs table by table, 2026-08 has no invoices and is not
published, the UI says which month failed and why, and a CLI run re-executes from the job's Runs tab.
One webserver, one daemon, one browser session for the whole module.

Chromium comes from Debian (`scripts/install_chromium.sh`, run by `make test`); screenshots go to
`artifacts/ui/`, which git ignores.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pipelines.cli import main
from pipelines.settings import DATA_DIR_ENV, REPO_ROOT

PERIOD = "2026-07"  # the month CLI-run first, whose run the UI re-executes
MONTHS = ("2026-07", "2026-08", "2026-09")
BAD = "2026-08"
BACKFILL_TIMEOUT = 1500
CHROMIUM = shutil.which("chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "ui"
LOCATION = "csp_recon"
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed: run scripts/install_chromium.sh"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"dagster-webserver did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui")


def _tamper_summary(month_dir: Path) -> str:
    path = month_dir / "invoice_summary.csv"
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source))
    rows[0]["UsageCharges"] = str(Decimal(rows[0]["UsageCharges"]) + Decimal("1.00"))
    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows[0]["InvoiceNumber"]


def _marts(data_dir: Path, period: str) -> dict[str, list[tuple]]:
    """Every mart table's rows of the month, sorted: what a run of the month leaves (views such as
    customer_trends are not built by a run: they read whatever months the warehouse holds)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                """SELECT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t USING (schema_name, table_name)
               WHERE c.schema_name = 'marts' AND c.column_name = 'billing_period' ORDER BY 1"""
            ).fetchall()
        ]
        return {
            table: sorted(
                con.execute(f"SELECT * FROM marts.{table} WHERE billing_period = ?", [f"{period}-01"]).fetchall(),
                key=repr,
            )
            for table in tables
        }


@pytest.fixture(scope="module")
def cli_marts(data_dir: Path) -> dict[str, dict]:
    """The three months generated, 2026-08 tampered, and 2026-07 and 2026-09 run by the CLI."""
    assert (
        main(
            [
                "generate",
                "--commerce",
                "legacy",
                "--out",
                str(data_dir / "landing"),
                "--period",
                MONTHS[0],
                "--months",
                "3",
                "--customers",
                "4",
                "--license-rows",
                "12",
                "--usage-rows",
                "30",
                "--seed",
                "9",
            ]
        )
        == 0
    )
    _tamper_summary(data_dir / "landing" / BAD)
    marts = {}
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DAGSTER_HOME", raising=False)
        for period in (MONTHS[0], MONTHS[2]):
            assert main(["run", "--period", period, "--data-dir", str(data_dir)]) == 0
            marts[period] = _marts(data_dir, period)
    return marts


@pytest.fixture(scope="module")
def ui_url(data_dir: Path, cli_marts):
    port = _free_port()
    # A loaded test machine answers the daemon's calls to the code server slowly: wait longer than
    # Dagster's default 60 s before a queued run is dropped as unreachable.
    environment = {
        **os.environ,
        DATA_DIR_ENV: str(data_dir),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DAGSTER_GRPC_TIMEOUT_SECONDS": "300",
    }
    webserver = Path(sys.executable).with_name("dagster-webserver")
    server = subprocess.Popen(
        [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The daemon dequeues what the UI launches, as under `csp-recon ui`.
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, server)
        yield url
    finally:
        for process in (server, daemon):
            process.terminate()
        for process in (server, daemon):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(ui_url):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        yield page
        browser.close()


def _dismiss_welcome(page) -> None:
    """A fresh instance greets the first visitor with Dagster's "Join the community" dialog, whose
    backdrop takes every click: skipped, as a new user would."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.first.wait_for(timeout=5_000)
    except Exception:  # no dialog: nothing to skip
        return
    skip.first.click()


def _open(page, url: str, screenshot: str, *texts: str | re.Pattern) -> str:
    """The page's text once every one of `texts` shows (the UI fills its panels in as data arrives)."""
    page.goto(url)
    _dismiss_welcome(page)
    for text in texts:
        page.get_by_text(text, exact=isinstance(text, str)).first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"))
    return page.inner_text("body")


def test_the_ingest_group_lists_every_raw_table_and_its_checks_passed(page, ui_url):
    # The group's list, not its graph: the graph is taller than the window and draws only the
    # nodes in view.
    body = _open(page, f"{ui_url}/locations/{LOCATION}/asset-groups/ingest/list", "ingest-list", "raw / usage_recon")
    listed = {line for line in body.splitlines() if line.startswith("raw / ")}
    assert {
        f"raw / {table}" for table in ("license_recon", "usage_recon", "nce_recon", "daily_usage", "invoice_summary")
    } <= listed
    body = _open(
        page,
        f"{ui_url}/assets/raw/license_recon?view=checks",
        "license-recon-checks",
        "gx_raw_license_recon",  # the list truncates the longer check name: asserted in the text below
        "This is a blocking asset check.",
    )
    assert "gx_raw_license_recon_arithmetic" in body
    assert body.count("Succeeded") >= 2 and "Failed" not in body


def test_graph_shows_the_dbt_models_fed_by_the_ingest_assets(page, ui_url):
    body = _open(
        page,
        f"{ui_url}/locations/{LOCATION}/asset-groups/transform",
        "dbt-graph",
        "fct_charges",
        "customer_monthly",
        "pricing_rules",
    )
    # dbt sources are the ingest and config assets, not separate nodes: they link into the graph
    # (the graph is larger than the window, so only the links in view are asserted).
    assert {"invoice_summary", "customers"} <= set(body.split())
    # And the marts feed the quality group: its graph links back to them.
    body = _open(page, f"{ui_url}/locations/{LOCATION}/asset-groups/quality", "quality-graph", "reconciliation_report")
    assert {"invoice_reconciliation", "customer_monthly"} <= set(body.split())


def test_reconciliation_checks_passed_for_the_month(page, ui_url):
    body = _open(
        page,
        f"{ui_url}/assets/quality/reconciliation_report?view=checks",
        "checks",
        "invoices_reconcile",
        "marts_tie",
        "every_line_priced",
        "Succeeded",
    )
    assert "invoices_reconcile" in body


def test_month_is_a_materialised_partition(page, ui_url):
    _open(page, f"{ui_url}/assets/marts/fct_charges?view=partitions", "partitions", PERIOD, "Materialized (2)")


def _cli_run(instance, period: str):
    from pipelines.defs.runs.names import LAUNCHED_BY_TAG

    [run] = [
        run
        for run in instance.get_runs(
            filters=dg.RunsFilter(job_name="monthly_close", tags={"dagster/partition": period})
        )
        if run.tags.get(LAUNCHED_BY_TAG) == "cli"
    ]
    return run


def _launch_backfill_from_the_ui(page, ui_url) -> None:
    """The job's "Materialize all", a range of the three months, "Launch backfill"."""
    page.goto(f"{ui_url}/locations/{LOCATION}/jobs/monthly_close")
    _dismiss_welcome(page)
    page.get_by_role("button", name=re.compile("Materialize all")).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Partition selection").first.wait_for()
    ranges = dialog.locator("input[placeholder*='artition'], input[type='text']").first
    ranges.fill(f"[{MONTHS[0]}...{MONTHS[-1]}]")
    ranges.press("Enter")
    page.screenshot(path=str(SCREENSHOTS / "backfill-dialog.png"))
    dialog.get_by_role("button", name=re.compile(r"Launch .*backfill|Launch backfill", re.IGNORECASE)).first.click()


def _leave_the_ui(page) -> None:
    """A blank tab while runs go on: an open Dagster page keeps polling the webserver, which then
    takes a third of a core from the runs for as long as they last."""
    if page.url != "about:blank":
        page.goto("about:blank")


@pytest.fixture(scope="module")
def backfill(page, ui_url, data_dir):
    """ONE backfill of the three months launched from the UI, waited for until each run ended."""
    _launch_backfill_from_the_ui(page, ui_url)
    deadline = time.monotonic() + BACKFILL_TIMEOUT
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        while time.monotonic() < deadline and not instance.get_backfills():
            time.sleep(1)
        _leave_the_ui(page)
        while time.monotonic() < deadline:
            backfills = instance.get_backfills()
            runs = [run for run in instance.get_runs() if run.tags.get("dagster/backfill")]
            if backfills and len(runs) == len(MONTHS) and all(run.is_finished for run in runs):
                break
            time.sleep(3)
        assert len(backfills) == 1, "one launch is one backfill"
        runs = {run.tags["dagster/partition"]: run for run in instance.get_runs() if run.tags.get("dagster/backfill")}
        assert sorted(runs) == list(MONTHS), "a backfill of three months is three runs, each whole, each with its month"
        # The quarantine sensor settles the failed month once the daemon sees the failure.
        while (
            time.monotonic() < deadline
            and not instance.fetch_observations(dg.AssetKey(["raw", "file_manifest"]), limit=1).records
        ):
            time.sleep(2)
    return backfills[0], runs


def test_the_backfill_leaves_the_good_months_as_their_cli_runs_and_holds_the_bad_one(backfill, cli_marts, data_dir):
    _, runs = backfill
    assert runs[MONTHS[0]].status == runs[MONTHS[2]].status == dg.DagsterRunStatus.SUCCESS
    assert runs[BAD].status == dg.DagsterRunStatus.FAILURE
    for period in (MONTHS[0], MONTHS[2]):
        assert _marts(data_dir, period) == cli_marts[period], f"{period}'s marts differ from its one-month CLI run"
    assert not (data_dir / "exports" / BAD / "invoices").exists()
    with duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True) as con:
        published = {
            row[0].strftime("%Y-%m")
            for row in con.execute("SELECT billing_period FROM meta.published_months").fetchall()
        }
    assert published == {MONTHS[0], MONTHS[2]}


def test_the_ui_shows_which_month_failed_and_why(backfill, page, ui_url):
    _, runs = backfill
    body = _open(
        page, f"{ui_url}/runs/{runs[BAD].run_id}", "failed-month-run", "Failure", re.compile("invoices_reconcile")
    )
    assert f"partition: {BAD}" in body
    # The check's execution history: one row per month run, with the check's own sentence (its
    # overview shows only the latest execution, which is another month's).
    page.goto(f"{ui_url}/assets/quality/reconciliation_report?view=checks")
    page.get_by_text("invoices_reconcile", exact=True).first.click()
    page.get_by_text("Execution history", exact=True).first.click()
    page.get_by_text(re.compile("does not reconcile")).first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "failed-month-checks.png"))
    lines = [line.strip() for line in page.inner_text("body").splitlines() if line.strip()]
    [sentence] = [index for index, line in enumerate(lines) if "does not reconcile" in line]
    row = lines[sentence - 4 : sentence]  # result, timestamp, materialisation, month
    assert row[0] == "Failed" and row[-1] == BAD, row


def test_cli_runs_show_in_the_jobs_runs_tab_and_re_execute_from_the_ui(backfill, page, ui_url, data_dir):
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        cli_runs = [_cli_run(instance, period) for period in (MONTHS[0], MONTHS[2])]
    body = _open(page, f"{ui_url}/locations/{LOCATION}/jobs/monthly_close/runs", "job-runs", cli_runs[0].run_id[:8])
    assert cli_runs[1].run_id[:8] in body
    cli_run = cli_runs[0]
    _open(page, f"{ui_url}/runs/{cli_run.run_id}", "cli-run", re.compile("Re-execute"))
    page.get_by_role("button", name=re.compile("Re-execute")).first.click(
        force=True
    )  # the step filter box floats over it
    # The button opens a menu when the run has steps to choose from: take its "all steps" item
    # (the button's own label matches the same words but lies under the menu's backdrop).
    all_steps = page.get_by_role("menuitem", name=re.compile(r"Re-execute all|All steps")).first
    try:
        all_steps.click(timeout=15_000)
    except PlaywrightTimeoutError:
        pass  # no menu: the button itself re-executed the run, which the loop below waits for
    page.screenshot(path=str(SCREENSHOTS / "re-executed.png"))
    deadline = time.monotonic() + 900
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        while time.monotonic() < deadline:
            again = [run for run in instance.get_runs() if run.parent_run_id == cli_run.run_id]
            if again:
                _leave_the_ui(page)
            if again and again[0].is_finished:
                break
            time.sleep(2)
        assert again, "the UI did not start a re-execution"
        assert again[0].status == dg.DagsterRunStatus.SUCCESS
        assert again[0].tags["dagster/partition"] == PERIOD
