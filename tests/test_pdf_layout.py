"""Text layout in the PDF invoice is linear in the text's length: a description of 20,000
characters without a space renders in seconds, every character of it kept, in order."""

from __future__ import annotations

import time

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.invoicing import load_month
from pipelines.invoicing.html_invoice import ZERO_WIDTH_SPACE, breakable, render_html
from pipelines.invoicing.pdf_invoice import render_pdf
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.invoice_warehouse import PERIOD, Customer, build_warehouse, write_config
from tests.test_invoice_legal import _pdf_text

# Sequence numbers written in Greek letters, no other text of the invoice uses them: the
# description can be read back from the PDF's text in order, whatever else is on its pages.
GREEK = str.maketrans("0123456789", "αβγδεζηθικ")
LENGTH = 20_000
DESCRIPTION = "".join(f"{i:04d}".translate(GREEK) + "ω" for i in range(LENGTH // 5))
# CPU seconds of one render. Before the fix the layout alone took about 20 s of CPU (56 s on a
# loaded machine); now about 2 s, most of it the fixed cost of a PDF.
RENDER_CPU_SECONDS = 10


def _month(tmp_path, description: str):
    customer = Customer(
        "0a1b2c3d-0000-4000-8000-000000000001",
        "Long Descriptions Ltd",
        vat_rate="0.20",
        charges=[(description, "sub-1", "2026-10-01", "2026-10-31", "1", "15.00")],
    )
    paths = DataPaths(tmp_path)
    write_config(tmp_path / "config", [customer])
    build_warehouse(paths.warehouse, tmp_path / "config", [customer])
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        month = load_month(con, BillingPeriod.parse(PERIOD), load_config(tmp_path / "config").partner)
    assert len(month.customers) == 1 and month.period.start.strftime("%Y-%m") == PERIOD
    return month, month.customers[0]


def _greek(text: str) -> str:
    return "".join(char for char in text if "α" <= char <= "ω")


def test_a_description_of_20000_characters_without_a_space_renders_fast_and_whole(tmp_path):
    assert len(DESCRIPTION) == LENGTH and " " not in DESCRIPTION
    month, customer = _month(tmp_path, DESCRIPTION)
    render_pdf(month, customer)  # WeasyPrint's imports and fonts: not the layout being measured
    started = time.process_time()
    pdf = render_pdf(month, customer)
    cpu = time.process_time() - started
    assert cpu < RENDER_CPU_SECONDS, f"{cpu:.1f} s of CPU for one invoice"
    text = _pdf_text(pdf, tmp_path)
    assert _greek(text) == DESCRIPTION  # every character, in order, none cut
    assert ZERO_WIDTH_SPACE not in text
    assert "15.00" in text and "Long Descriptions Ltd" in text
    # The HTML invoice keeps the description exactly as it is in the data.
    page = render_html(month, customer)
    assert DESCRIPTION in page and ZERO_WIDTH_SPACE not in page


@pytest.mark.parametrize(
    "text",
    [
        "Microsoft 365 Business Premium",
        "x" * 40,
        "DZH318Z0BQ3Q:0007 " * 10,
        "Nguyễn Trading <script>alert(1)</script>",
    ],
)
def test_ordinary_text_is_left_as_it_is(text):
    assert breakable(text) == text


def test_a_long_run_gets_a_break_opportunity_every_few_characters_never_inside_a_character():
    accented = "e\u0301" * 60  # é as e + combining acute accent: 120 code points
    broken = breakable(f"see {accented} and {'y' * 100}")
    assert broken.replace(ZERO_WIDTH_SPACE, "") == f"see {accented} and {'y' * 100}"
    assert f"{ZERO_WIDTH_SPACE}\u0301" not in broken
    assert max(len(part) for part in broken.replace(" ", ZERO_WIDTH_SPACE).split(ZERO_WIDTH_SPACE)) <= 9
