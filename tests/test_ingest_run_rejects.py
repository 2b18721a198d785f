"""Whole run ("done when"): a cut-off line and a `12,50` amount land in raw.rejected_rows, and the
month fails its reconciliation, saying which invoices are off and by how much, without invoicing
customers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from corpus import (
    PERIOD,
    csv_text,
    generate_month,
    landed_files,
    manifest,
    query,
    rejected,
    run_month,
    write_csv,
    write_text,
)


@pytest.fixture(scope="module")
def damaged_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("rejects_run")
    month = generate_month(data_dir, seed=31, customers=4, license_rows=15, usage_rows=30)
    files = landed_files(month)
    summary = {row["Currency"]: row for row in files[("invoice_summary", "")].rows}

    # USD usage: an amount written with a decimal comma (quoted, as Excel writes it).
    usage = files[("usage_recon", "USD")]
    position = next(i for i, row in enumerate(usage.rows) if Decimal(row["PretaxCharges"]) != 0 and i > 2)
    damaged = usage.rows[position]
    lost_usage = (Decimal(damaged["PretaxCharges"]), Decimal(damaged["TaxAmount"]))
    damaged["PretaxCharges"] = damaged["PretaxCharges"].replace(".", ",")
    write_csv(usage.path, usage.header, usage.rows)
    usage_raw = usage.path.read_bytes().decode("utf-8-sig").split("\r\n")[position + 1]
    assert '"' + damaged["PretaxCharges"] + '"' in usage_raw

    # EUR license: the download stopped in the middle of the last line.
    license_file = files[("license_recon", "EUR")]
    last = license_file.rows[-1]
    lost_license = (Decimal(last["Subtotal"]), Decimal(last["Tax"]))
    assert lost_license[0] != 0
    text = csv_text(license_file.header, license_file.rows)
    lines = text.split("\r\n")
    cut = lines[-2][: len(lines[-2]) // 2]
    write_text(license_file.path, "\r\n".join(lines[:-2]) + "\r\n" + cut)

    code, output = run_month(data_dir)
    return (
        data_dir,
        code,
        output,
        {
            "usage": (usage.path.name, position + 2, usage_raw, lost_usage, summary["USD"]),
            "comma_amount": damaged["PretaxCharges"],
            "license": (license_file.path.name, len(license_file.rows) + 1, cut, lost_license, summary["EUR"]),
            "rows": {usage.path.name: len(usage.rows), license_file.path.name: len(license_file.rows)},
        },
    )


def test_both_bad_lines_are_in_rejected_rows_with_line_column_and_reason(damaged_run):
    data_dir, _, _, expected = damaged_run
    usage_file, usage_line, usage_raw, _, _ = expected["usage"]
    license_file, license_line, cut, _, _ = expected["license"]
    assert sorted(rejected(data_dir)) == sorted(
        [
            (
                usage_file,
                usage_line,
                "PretaxCharges",
                f"PretaxCharges is '{expected['comma_amount']}', which is not a number (use a point for decimals and no thousands separators)",
                usage_raw,
            ),
            (
                license_file,
                license_line,
                None,
                "the line has fewer values than the 27 columns of the header (the line is cut off)",
                cut,
            ),
        ]
    )


def test_rows_read_are_loaded_or_rejected_per_file(damaged_run):
    data_dir, _, _, expected = damaged_run
    files = manifest(data_dir)
    for name, written in expected["rows"].items():
        assert (files[name]["rows_read"], files[name]["rows_loaded"], files[name]["rows_rejected"]) == (
            written,
            written - 1,
            1,
        )


def test_the_month_fails_its_reconciliation_saying_why(damaged_run):
    data_dir, code, output, expected = damaged_run
    assert code != 0
    failed = output.split("FAILED:", 1)[1]
    for key in ("usage", "license"):
        _, _, _, (pretax, tax), printed = expected[key]
        invoice_pretax = (
            Decimal(printed["LicenseCharges"]) + Decimal(printed["UsageCharges"]) + Decimal(printed["OtherCharges"])
        )
        assert (
            f"Invoice {printed['InvoiceNumber']} ({printed['Currency']}) does not reconcile: files pre-tax "
            f"{invoice_pretax - pretax:,.2f} vs invoice {invoice_pretax:,.2f}, difference {-pretax:,.2f}, tax difference {-tax:,.2f}"
        ) in failed
    assert "row_conservation" not in failed, "every line read was loaded or rejected"
    # ...and why: the lines set aside, by file and line.
    assert "2 line(s) of the files were rejected and are not counted" in failed
    for key in ("usage", "license"):
        name, line, *_ = expected[key]
        assert f"{name} line {line}: " in failed
    statuses = dict(query(data_dir, "SELECT invoice_number, status FROM marts.invoice_reconciliation"))
    assert statuses == {expected[k][4]["InvoiceNumber"]: "mismatch" for k in ("usage", "license")}
    assert not (data_dir / "exports" / PERIOD / "invoices").exists(), (
        "no customer invoices for a month that does not reconcile"
    )
