"""The Dagster UI in headless Chromium: the graph's ingest, dbt and check assets, and a month's
partitioned materialisation, after one `csp-recon run` in the UI's own instance.

Chromium comes from Debian (`scripts/install_chromium.sh`, run by `make test`); screenshots go to
`artifacts/ui/`, which git ignores.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pipelines.cli import main
from pipelines.settings import DATA_DIR_ENV, REPO_ROOT

PERIOD = "2026-10"
CHROMIUM = shutil.which("chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "ui"
LOCATION = "pipelines.definitions"
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed: run scripts/install_chromium.sh"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
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


@pytest.fixture(scope="module")
def ui_url(data_dir: Path):
    assert main(["generate", "--commerce", "legacy", "--out", str(data_dir / "landing"), "--period", PERIOD, "--customers", "4",
                 "--license-rows", "12", "--usage-rows", "30", "--seed", "9"]) == 0
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DATA_DIR_ENV, str(data_dir))
        env.delenv("DAGSTER_HOME", raising=False)
        assert main(["run", "--period", PERIOD, "--data-dir", str(data_dir)]) == 0
    port = _free_port()
    environment = {**os.environ, DATA_DIR_ENV: str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    server = subprocess.Popen(
        [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    # The daemon dequeues what the UI launches, as under `csp-recon ui`.
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, server)
        yield url
    finally:
        for process in (server, daemon):
            process.terminate()
        for process in (server, daemon):
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


def _open(page, url: str, screenshot: str, *texts: str | re.Pattern) -> str:
    """The page's text once every one of `texts` shows (the UI fills its panels in as data arrives)."""
    page.goto(url)
    for text in texts:
        page.get_by_text(text, exact=isinstance(text, str)).first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"))
    return page.inner_text("body")


def test_graph_shows_the_ingest_assets_with_their_checks(page, ui_url):
    body = _open(
        page, f"{ui_url}/locations/{LOCATION}/asset-groups/ingest", "ingest-graph",
        "usage_recon", "license_recon", "invoice_summary", re.compile(r"\d+ / \d+ Passed"),
    )
    assert "Failed" not in body


def test_graph_shows_the_dbt_models_fed_by_the_ingest_assets(page, ui_url):
    body = _open(page, f"{ui_url}/locations/{LOCATION}/asset-groups/transform", "dbt-graph", "fct_charges", "customer_monthly", "pricing_rules")
    # dbt sources are the ingest assets, not separate nodes: the raw tables link into the graph.
    assert {"usage_recon", "license_recon", "reconciliation_report"} <= set(body.split())


def test_reconciliation_checks_passed_for_the_month(page, ui_url):
    body = _open(
        page, f"{ui_url}/assets/quality/reconciliation_report?view=checks", "checks",
        "invoices_reconcile", "marts_tie", "every_line_priced", "Succeeded",
    )
    assert "invoices_reconcile" in body


def test_month_is_a_materialised_partition(page, ui_url):
    _open(page, f"{ui_url}/assets/marts/fct_charges?view=partitions", "partitions", PERIOD, "Materialized (1)")


def test_a_cli_run_shows_in_the_jobs_runs_and_re_executes_from_the_ui(page, ui_url, data_dir):
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        [cli_run] = instance.get_runs(filters=dg.RunsFilter(job_name="monthly_close"))
    _open(page, f"{ui_url}/locations/{LOCATION}/jobs/monthly_close/runs", "job-runs", cli_run.run_id[:8])
    _open(page, f"{ui_url}/runs/{cli_run.run_id}", "cli-run", re.compile("Re-execute"))
    page.get_by_role("button", name=re.compile("Re-execute")).first.click(force=True)  # the step filter box floats over it
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
            if again and again[0].is_finished:
                break
            time.sleep(2)
        assert again, "the UI did not start a re-execution"
        assert again[0].status == dg.DagsterRunStatus.SUCCESS
        assert again[0].tags["dagster/partition"] == PERIOD
