"""Invoice attribution of legacy license files, and the errors that stop a month: each names the
file (and the line and column when there is one) in words a billing clerk can act on, and leaves
the month's previous data as it was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from corpus import (
    LICENSE_HEADER,
    PERIOD,
    USAGE_HEADER,
    csv_text,
    license_row,
    load,
    manifest,
    raw_rows,
    snapshot,
    summary_row,
    usage_row,
    write_csv,
    write_invoice_json,
    write_summary,
    write_text,
)

from pipelines.ingest.errors import IngestError


def _month(tmp_path):
    return tmp_path / "landing" / PERIOD


# ---------------------------------------------------------------------------------------------
# Attribution of license files, which carry no invoice number


def test_license_lines_take_the_invoice_of_their_currency(tmp_path):
    month = _month(tmp_path)
    eur = [license_row("c-1", "A", "10.00", "2.00", line=1), license_row("c-2", "B", "5.00", "1.00", line=2)]
    usd = [license_row("c-3", "C", "7.00", "0.00", currency="USD", line=3)]
    # One file holding both currencies, as some partners download it.
    write_csv(month / "license.csv", LICENSE_HEADER, [eur[0], usd[0], eur[1]])
    write_summary(month / "s.csv", [summary_row("D0EUR00001", "EUR", eur), summary_row("D0USD00001", "USD", usd)])

    load(tmp_path)

    assert [
        (r["customer_id"], r["currency"], r["invoice_number"]) for r in raw_rows(tmp_path, "raw.license_recon")
    ] == [("c-1", "EUR", "D0EUR00001"), ("c-3", "USD", "D0USD00001"), ("c-2", "EUR", "D0EUR00001")]
    entry = manifest(tmp_path)["license.csv"]
    assert (entry["invoice_number"], entry["currency"]) == ("D0EUR00001, D0USD00001", "EUR, USD")


def test_with_two_invoices_in_one_currency_the_invoice_number_in_the_file_name_decides(tmp_path):
    month = _month(tmp_path)
    first = [license_row("c-1", "A", "10.00", "2.00", line=1)]
    second = [license_row("c-2", "B", "20.00", "4.00", line=2)]
    write_csv(month / "D0AAA00001_LicenseBasedRecon.csv", LICENSE_HEADER, first)
    write_csv(month / "license for invoice d0bbb00002 (1).csv", LICENSE_HEADER, second)
    write_invoice_json(
        month / "invoices.json", [summary_row("D0AAA00001", "EUR", first), summary_row("D0BBB00002", "EUR", second)]
    )

    load(tmp_path)

    assert {(r["source_file"], r["invoice_number"]) for r in raw_rows(tmp_path, "raw.license_recon")} == {
        ("D0AAA00001_LicenseBasedRecon.csv", "D0AAA00001"),
        ("license for invoice d0bbb00002 (1).csv", "D0BBB00002"),
    }


def test_with_two_invoices_in_one_currency_and_no_number_in_the_name_the_month_stops(tmp_path):
    month = _month(tmp_path)
    lines = [license_row("c-1", "A", "10.00", "2.00")]
    write_csv(month / "LicenseBasedRecon.csv", LICENSE_HEADER, lines)
    write_summary(month / "s.csv", [summary_row("D0AAA00001", "EUR", lines), summary_row("D0BBB00002", "EUR")])

    with pytest.raises(IngestError) as failure:
        load(tmp_path)

    assert (failure.value.file_name, failure.value.column) == ("LicenseBasedRecon.csv", "Currency")
    message = str(failure.value)
    assert message.startswith(
        "file 'LicenseBasedRecon.csv', column 'Currency': the month has 2 invoices in EUR (D0AAA00001, D0BBB00002)"
    )
    assert "rename the file to include its invoice number" in message


def test_a_license_file_in_a_currency_no_invoice_has_stops_the_month_even_if_named_after_an_invoice(tmp_path):
    """A GBP file named after the EUR invoice must not be booked on the EUR invoice."""
    month = _month(tmp_path)
    eur = [license_row("c-1", "A", "10.00", "2.00")]
    gbp = [license_row("c-2", "B", "8.00", "1.60", currency="GBP")]
    write_csv(month / "D0EUR00001_License.csv", LICENSE_HEADER, eur)
    write_csv(month / "D0EUR00001_License_2.csv", LICENSE_HEADER, gbp)
    write_summary(month / "s.csv", [summary_row("D0EUR00001", "EUR", eur)])

    with pytest.raises(IngestError) as failure:
        load(tmp_path)

    assert (failure.value.file_name, failure.value.column) == ("D0EUR00001_License_2.csv", "Currency")
    assert "no invoice of the month is in GBP" in str(failure.value)


# ---------------------------------------------------------------------------------------------
# Errors that stop the month


@pytest.fixture
def loaded_month(tmp_path):
    """A good month already loaded: every error below must leave it exactly as it is."""
    month = _month(tmp_path)
    lic = [license_row("c-1", "Société Dupont, SA", "10.00", "2.00")]
    use = [usage_row("c-1", "Société Dupont, SA", "D1", "3.00", "0.60")]
    write_csv(month / "lic.csv", LICENSE_HEADER, lic)
    write_csv(month / "use.csv", USAGE_HEADER, use)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", lic, use)])
    load(tmp_path)
    return tmp_path, month, lic, use, snapshot(tmp_path)


@pytest.mark.parametrize(("header", "kind"), [(LICENSE_HEADER, "license-based"), (USAGE_HEADER, "usage-based")])
def test_a_file_missing_a_required_column_names_the_file_and_the_column(loaded_month, header, kind):
    data_dir, month, lic, use, before = loaded_month
    rows = lic if header is LICENSE_HEADER else use
    write_csv(month / "Recon (2).csv", [name for name in header if name != "CustomerId"], rows)

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert (failure.value.file_name, failure.value.line, failure.value.column) == ("Recon (2).csv", 1, "CustomerId")
    assert str(failure.value) == (
        f"file 'Recon (2).csv', line 1, column 'CustomerId': this {kind} reconciliation file has no 'CustomerId' column; "
        "download the file again from Partner Center without removing columns."
    )
    assert snapshot(data_dir) == before


@pytest.mark.parametrize(
    ("header", "missing", "kind"),
    [
        (LICENSE_HEADER, "TotalForCustomer", "license-based"),
        (LICENSE_HEADER, "SyndicationPartnerSubscriptionNumber", "license-based"),
        (USAGE_HEADER, "PretaxCharges", "usage-based"),
    ],
)
def test_a_file_missing_a_column_its_kind_is_told_by_is_still_named_with_the_column(
    loaded_month, header, missing, kind
):
    data_dir, month, lic, use, before = loaded_month
    rows = lic if header is LICENSE_HEADER else use
    write_csv(month / "Recon (3).csv", [name for name in header if name != missing], rows)

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert (failure.value.file_name, failure.value.column) == ("Recon (3).csv", missing)
    assert f"this {kind} reconciliation file has no '{missing}' column" in str(failure.value)
    assert snapshot(data_dir) == before


def test_a_column_named_twice_names_the_file_and_both_positions(loaded_month):
    data_dir, month, lic, _, before = loaded_month
    header = [*LICENSE_HEADER, "MPN ID"]
    write_csv(month / "twice.csv", header, [dict(lic[0], **{"MPN ID": "1"})])

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert (failure.value.file_name, failure.value.line, failure.value.column) == ("twice.csv", 1, "MPN ID")
    assert "names 'MpnId' twice (columns 4 and 28)" in str(failure.value)
    assert snapshot(data_dir) == before


EMPTY = {
    "no bytes at all": b"",
    "only a UTF-8 byte order mark": b"\xef\xbb\xbf",
    "only a byte order mark and a line end": b"\xef\xbb\xbf\r\n",
    "only a UTF-16 byte order mark": b"\xff\xfe",
}


@pytest.mark.parametrize("case", list(EMPTY))
def test_an_empty_file_names_the_file(loaded_month, case):
    data_dir, month, _, _, before = loaded_month
    (month / "LicenseBasedRecon (3).csv").write_bytes(EMPTY[case])

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert (
        str(failure.value)
        == "file 'LicenseBasedRecon (3).csv': the file is empty; download it again from Partner Center."
    )
    assert snapshot(data_dir) == before


def test_a_header_only_file_is_a_month_without_such_charges(loaded_month):
    data_dir, month, _, _, _ = loaded_month
    write_text(month / "usage none.csv", csv_text(USAGE_HEADER, []))

    load(data_dir)

    entry = manifest(data_dir)["usage none.csv"]
    assert (entry["file_kind"], entry["status"], entry["rows_read"], entry["rows_loaded"], entry["rows_rejected"]) == (
        "usage_recon",
        "loaded",
        0,
        0,
        0,
    )


def test_a_file_whose_charges_lie_wholly_outside_the_month_names_the_file_and_dates(loaded_month):
    data_dir, month, _, _, before = loaded_month
    august = [
        license_row(
            "c-1", "A", "1.00", "0.20", line=i, ChargeStartDate=f"8/{i + 1}/2026 0:00", ChargeEndDate="8/31/2026 23:59"
        )
        for i in range(3)
    ]
    write_csv(month / "Recon.csv", LICENSE_HEADER, august)

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert (failure.value.file_name, failure.value.column) == ("Recon.csv", "ChargeStartDate")
    assert str(failure.value) == (
        "file 'Recon.csv', column 'ChargeStartDate': its charges run from 8/1/2026 to 8/31/2026, wholly outside 2026-10; "
        "move it to the landing folder of its own month."
    )
    assert snapshot(data_dir) == before


def test_a_file_reaching_into_the_month_is_loaded(loaded_month):
    """Annual and prorated charges start before or end after the month: they belong to it."""
    data_dir, month, _, _, _ = loaded_month
    lines = [
        license_row("c-9", "A", "120.00", "0.00", ChargeStartDate="11/15/2025 0:00", ChargeEndDate="11/14/2026 23:59"),
        license_row("c-9", "A", "-4.00", "0.00", ChargeStartDate="10/31/2026 0:00", ChargeEndDate="1/31/2027 23:59"),
    ]
    write_csv(month / "annual.csv", LICENSE_HEADER, lines)

    load(data_dir)

    assert sum(r["subtotal"] for r in raw_rows(data_dir, "raw.license_recon", "annual.csv")) == Decimal("116.00")


def test_a_month_without_files_or_without_an_invoice_summary_says_so(loaded_month):
    data_dir, month, _, _, before = loaded_month
    (month / "s.csv").unlink()
    with pytest.raises(IngestError) as failure:
        load(data_dir)
    assert str(failure.value) == (
        "file 'landing/2026-10': there is no invoice summary for this month, so nothing can be reconciled; "
        "add invoice_summary.csv or the Partner Center Invoice JSON to the folder."
    )
    for path in month.iterdir():
        path.unlink()
    with pytest.raises(IngestError, match="no files were found for this month"):
        load(data_dir)
    assert snapshot(data_dir) == before


def test_a_truncated_invoice_json_names_the_file(loaded_month):
    data_dir, month, lic, use, before = loaded_month
    (month / "s.csv").unlink()
    write_invoice_json(month / "invoice.json", [summary_row("D1", "EUR", lic, use)])
    text = (month / "invoice.json").read_text(encoding="utf-8")
    (month / "invoice.json").write_text(text[: len(text) // 2], encoding="utf-8")

    with pytest.raises(IngestError) as failure:
        load(data_dir)

    assert failure.value.file_name == "invoice.json"
    assert "the file is not valid JSON" in str(failure.value)
    assert snapshot(data_dir) == before
