"""Rejected lines hold the month (issue 18.4): each rejected line carrying money blocks the
month's invoices until the file is fixed or the line acknowledged by name, whatever the other
rejected lines add up to."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from corpus import PERIOD, generate_month, landed_files, query, rejected, run_month, write_csv

from pipelines.formats import LICENSE_RECON_COLUMNS, USAGE_RECON_COLUMNS
from pipelines.periods import BillingPeriod
from pipelines.quality.rejections import (
    AcknowledgementError,
    RejectedLine,
    acknowledgements_path,
    holding_lines,
    holding_sentence,
    money_of,
    parse_acknowledgements,
)

USAGE_HEADER = [c.name for c in USAGE_RECON_COLUMNS]
BILLING_PERIOD = BillingPeriod.parse(PERIOD)


def _line(values: dict[str, str], header=USAGE_HEADER, **fields) -> RejectedLine:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([values.get(name, "") for name in header])
    return RejectedLine(
        fields.get("file", "u.csv"), fields.get("line", 7), "usage_recon", fields.get("column"), "bad", out.getvalue()
    )


def test_each_money_field_is_read_by_the_files_own_header_as_written():
    header = list(reversed(USAGE_HEADER))  # the file's own column order, not the documented one
    carries, money = money_of(
        _line({"PretaxCharges": "250.00", "TaxAmount": "0", "PostTaxTotal": "250.00"}, header), header
    )
    assert carries
    assert {(f.column, f.text) for f in money} == {
        ("PretaxCharges", "250.00"),
        ("TaxAmount", "0"),
        ("PostTaxTotal", "250.00"),
    }


def test_offsetting_rejected_lines_both_hold_the_month():
    plus = _line({"PretaxCharges": "250.00", "PostTaxTotal": "250.00"}, line=12)
    minus = _line({"PretaxCharges": "-250.00", "PostTaxTotal": "-250.00"}, line=40)
    held, let_through = holding_lines([plus, minus], {"u.csv": USAGE_HEADER}, {})
    assert [h.line.line_number for h in held] == [12, 40] and not let_through
    sentence = holding_sentence(held, BILLING_PERIOD)
    assert "file 'u.csv', line 12: PretaxCharges 250.00" in sentence
    assert "file 'u.csv', line 40: PretaxCharges -250.00" in sentence
    assert f"acknowledge each line by file and line in acknowledgements/{PERIOD}.yml" in sentence


def test_lines_without_money_pass_and_damaged_or_unreadable_amounts_hold():
    zero = _line({"PretaxCharges": "0.00", "TaxAmount": "", "PostTaxTotal": "0"}, line=3)
    comma = _line({"PretaxCharges": "12,50", "PostTaxTotal": "12,50"}, line=4, column="PretaxCharges")
    license_header = [c.name for c in LICENSE_RECON_COLUMNS]
    cut = RejectedLine("l.csv", 5, "license_recon", None, "cut off", ",".join(["x"] * 10))
    held, _ = holding_lines([zero, comma, cut], {"u.csv": USAGE_HEADER, "l.csv": license_header}, {})
    assert [h.line.line_number for h in held] == [4, 5]
    assert held[0].amounts.startswith("PretaxCharges 12,50")
    assert held[1].amounts == "amounts unreadable (the line is damaged)"


def test_an_acknowledged_line_passes_and_names_who_and_why():
    acknowledged = parse_acknowledgements(
        "acknowledged:\n  - file: u.csv\n    line: 12\n    by: Jane Doe\n    reason: credited next month\n", "ack"
    )
    plus, minus = _line({"PretaxCharges": "250.00"}, line=12), _line({"PretaxCharges": "-250.00"}, line=40)
    held, let_through = holding_lines([plus, minus], {"u.csv": USAGE_HEADER}, acknowledged)
    assert [h.line.line_number for h in held] == [40]
    assert [(h.line.line_number, a.by, a.reason) for h, a in let_through] == [(12, "Jane Doe", "credited next month")]


@pytest.mark.parametrize(
    "text, says",
    [
        ("acknowledged: [", "is not valid YAML"),
        ("lines: []", "must hold a list named 'acknowledged'"),
        ("acknowledged:\n  - file: u.csv\n    line: 12\n", "entry 1: it must say by, reason"),
        ("acknowledged:\n  - {file: u.csv, line: twelve, by: J, reason: r}\n", "line 'twelve' is not a line number"),
    ],
)
def test_a_malformed_acknowledgement_file_is_named_not_taken(text, says):
    with pytest.raises(AcknowledgementError, match=says):
        parse_acknowledgements(text, "The acknowledgement file 2026-10.yml")


@pytest.fixture(scope="module")
def offsetting_month(tmp_path_factory):
    """A generated month plus a +250.00 and a -250.00 usage line, both rejected (a decimal comma
    in their quantity): Microsoft's totals still match, the invoices must still wait."""
    data_dir = tmp_path_factory.mktemp("offsetting")
    files = landed_files(generate_month(data_dir, seed=41, customers=3, license_rows=8, usage_rows=12))
    usage = files[("usage_recon", "USD")]
    extra = []
    for amount in ("250.00", "-250.00"):
        row = dict(usage.rows[0], ConsumedQuantity="1,5", PretaxCharges=amount, TaxAmount="0.00", PostTaxTotal=amount)
        extra.append(row)
    write_csv(usage.path, usage.header, [*usage.rows, *extra])
    lines = (len(usage.rows) + 2, len(usage.rows) + 3)
    first_code, first_output = run_month(data_dir)
    first_invoices = (data_dir / "exports" / PERIOD / "invoices").exists()
    acknowledgement = acknowledgements_path(data_dir, BILLING_PERIOD)
    acknowledgement.parent.mkdir(parents=True)
    acknowledgement.write_text(
        "acknowledged:\n"
        + "".join(
            f"  - file: {usage.path.name}\n    line: {n}\n    by: Jane Doe (billing)\n    reason: test lines\n"
            for n in lines
        ),
        encoding="utf-8",
    )
    second_code, second_output = run_month(data_dir)
    return data_dir, usage.path.name, lines, (first_code, first_output, first_invoices), (second_code, second_output)


def test_offsetting_rejects_hold_the_invoices_with_a_sentence(offsetting_month):
    data_dir, name, lines, (code, output, invoices), _ = offsetting_month
    assert [(f, n) for f, n, *_ in rejected(data_dir)] == [(name, lines[0]), (name, lines[1])]
    statuses = {status for (status,) in query(data_dir, "SELECT status FROM marts.invoice_reconciliation")}
    assert statuses == {"matched"}, "Microsoft's totals are unchanged by the two offsetting lines"
    assert code == 1 and not invoices
    assert f"file '{name}', line {lines[0]}, column ConsumedQuantity: PretaxCharges 250.00" in output
    assert f"file '{name}', line {lines[1]}, column ConsumedQuantity: PretaxCharges -250.00" in output


def test_acknowledged_by_name_the_month_issues(offsetting_month):
    data_dir, *_, (code, output) = offsetting_month
    assert code == 0, output
    assert (data_dir / "exports" / PERIOD / "invoices").is_dir()
    assert sum(Decimal(1) for _ in (data_dir / "exports" / PERIOD / "invoices").iterdir()) > 0
