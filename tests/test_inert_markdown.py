"""Customer text in the Dagster UI's markdown (metadata tables and check descriptions) is shown as
written and never becomes a link, an image, HTML, code, emphasis or a table of its own; the CLI
prints the same text without the escapes."""

from __future__ import annotations

import dagster as dg
import pytest
from markdown_it import MarkdownIt

from pipelines.defs.invoicing.assets import BILLING_PROFILES_CHECK, customer_invoices
from pipelines.defs.metadata import inert_check, markdown_table
from pipelines.defs.resources import Warehouse
from pipelines.inert import inert_markdown, plain_text
from pipelines.settings import DataPaths
from tests.invoice_warehouse import PERIOD, Customer, build_warehouse, write_config

HOSTILE = [
    "[click here](http://evil.example/pay)",
    "![logo](http://evil.example/track.png)",
    '<img src="x" onerror="alert(1)"> & Sons',
    "<a href='http://evil.example'>Contoso</a>",
    "`rm -rf` **bold** __strong__ *it* _it_ ~~gone~~",
    "a | b | c",
    "Visit www.evil.example or mail pay@evil.example",
    "[ref]: http://evil.example",
    "Contoso \\[not escaped\\] \\",
    "# Heading\n---\n> quote\n- item",
]
# What any of these would become if rendered as markdown (CommonMark with GFM tables).
ACTIVE = ("<a", "<img", "<code", "<strong", "<em", "<s>", "<del", "<table", "<h1", "<h2", "<blockquote", "<ul", "<hr")
RENDERER = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_inert_and_reads_back_as_written(text):
    inert = inert_markdown(text)
    html = _rendered(inert)
    assert not [tag for tag in ACTIVE if tag in html], html
    assert "://" not in inert and "www." not in inert and "@" not in inert  # no bare link made clickable
    # Rendered, the reader sees the text itself (one line); the CLI reads it back the same.
    one_line = text.replace("\n", " ")
    assert plain_text(inert) == one_line


def test_a_table_cell_cannot_add_columns_or_rows():
    table = markdown_table([("c1", "x | y\n| --- |\n| z"), ("c2", "[a](http://b)")], ("id", "name")).value
    html = _rendered(table)
    assert html.count("<tr>") == 3 and html.count("<td>") == 4  # header + 2 rows, 2 cells each
    assert "<a" not in html


def test_a_check_description_naming_a_customer_reaches_the_ui_inert(tmp_path, monkeypatch):
    """The export step's billing-profile check names a customer missing from the config: its
    description, which the UI renders as markdown, carries the name inert."""
    name = "Evil [pay here](http://evil.example) ![x](http://evil.example/t.png) <b>Ltd</b>"
    customers = [
        Customer("0a1b2c3d-0000-4000-8000-000000000001", "Good Ltd", vat_rate="0.20", charges=[_charge()]),
        Customer("0a1b2c3d-0000-4000-8000-000000000009", name, in_config=False, charges=[_charge()]),
    ]
    paths = DataPaths(tmp_path.resolve())
    write_config(paths.root / "config", customers)
    build_warehouse(paths.warehouse, paths.root / "config", customers)
    monkeypatch.setattr("pipelines.defs.invoicing.assets.require_month_passed", lambda *args: None)
    with dg.instance_for_test() as instance:  # its own: an earlier test's run may have closed the current one
        result = dg.materialize(
            [customer_invoices],
            partition_key=PERIOD,
            resources={"warehouse": Warehouse(data_dir=str(paths.root))},
            instance=instance,
        )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == BILLING_PROFILES_CHECK and not check.passed
    html = _rendered(check.description)
    assert not [tag for tag in ACTIVE if tag in html] and "<b>" not in html
    assert "://" not in check.description
    # What the clerk reads in the CLI's summary: the name as it is in the recon file.
    assert plain_text(check.description).startswith(f"Not invoiced: {name} (0a1b2c3d-0000-4000-8000-000000000009)")


def _charge() -> tuple[str, str, str, str, str, str]:
    return ("Microsoft 365 Business Premium", "sub-1", "2026-10-01", "2026-10-31", "1", "22.00")


def test_a_result_without_description_is_left_alone_and_passing_text_is_kept_readable():
    assert inert_check(dg.AssetCheckResult(passed=True)).description is None
    result = inert_check(dg.AssetCheckResult(passed=False, description="Invoice G001 (EUR): difference 1.00"))
    assert plain_text(result.description) == "Invoice G001 (EUR): difference 1.00"
    assert "G001 \\(EUR\\)" in result.description
