"""The landing folder is read safely: no link followed, lock and temporary files and folders set
aside with a sentence, compressed downloads opened, Excel and semicolon files refused, D/M
dates refused, and unreadable or absurd files given a sentence, never a traceback."""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.ingest.errors import IngestError
from tests.corpus import (
    LICENSE_HEADER,
    PERIOD,
    csv_text,
    license_row,
    load,
    query,
    summary_row,
    write_csv,
    write_invoice_json,
    write_summary,
)


def _month(data_dir: Path) -> Path:
    return data_dir / "landing" / PERIOD


def _license_month(data_dir: Path, rows=None) -> list[dict[str, str]]:
    """A license file and its summary, landed; returns the rows."""
    rows = rows or [license_row(f"c{i}", f"Customer {i}", f"{i}.00", "0.19", line=i) for i in range(1, 4)]
    write_csv(_month(data_dir) / "D1_License.csv", LICENSE_HEADER, rows)
    write_summary(_month(data_dir) / "invoice_summary.csv", [summary_row("D1", "EUR", rows)])
    return rows


def _manifest(data_dir: Path) -> dict[str, tuple]:
    return {
        name: rest
        for name, *rest in query(
            data_dir, "SELECT file_name, status, sha256, rows_loaded, note FROM raw.file_manifest ORDER BY file_name"
        )
    }


def test_a_link_to_the_password_file_is_never_read_nor_hashed(tmp_path):
    _license_month(tmp_path)
    target = Path("/etc/passwd")
    (_month(tmp_path) / "passwd.csv").symlink_to(target)
    (_month(tmp_path) / "inside.csv").symlink_to(_month(tmp_path) / "D1_License.csv")
    load(tmp_path)
    manifest = _manifest(tmp_path)
    secret_hash = hashlib.sha256(target.read_bytes()).hexdigest()
    for name in ("passwd.csv", "inside.csv"):
        status, sha256, loaded, note = manifest[name]
        assert (status, sha256, loaded) == ("ignored", "", 0)
        assert note.startswith("is a link to another file; links are not followed")
    assert secret_hash not in {row[1] for row in manifest.values()}
    assert query(tmp_path, "SELECT count(*) FROM raw.license_recon") == [(3,)]


def test_lock_and_temporary_files_and_folders_are_set_aside_and_said_so(tmp_path):
    _license_month(tmp_path)
    month = _month(tmp_path)
    for name in (
        "~$D1_License.xlsx",
        ".~lock.D1_License.csv#",
        "export.tmp",
        "recon.csv.partial",
        "G01.csv.crdownload",
    ):
        (month / name).write_bytes(b"\x00\x01 half a file \xff")
    (month / "old").mkdir()
    (month / "old" / "D1_License.csv").write_text("not read", encoding="utf-8")
    load(tmp_path)
    manifest = _manifest(tmp_path)
    assert manifest["~$D1_License.xlsx"][0] == "ignored" and "lock file" in manifest["~$D1_License.xlsx"][3]
    assert "lock file" in manifest[".~lock.D1_License.csv#"][3]
    for name in ("export.tmp", "recon.csv.partial", "G01.csv.crdownload"):
        assert manifest[name][0] == "ignored" and "temporary or unfinished download" in manifest[name][3]
    assert manifest["old"][0] == "ignored" and manifest["old"][3].startswith("is a folder")
    assert manifest["D1_License.csv"][0] == "loaded"


def test_zip_and_gz_downloads_are_opened_and_each_csv_recognised_by_its_header(tmp_path):
    eur = [license_row(f"e{i}", "Société Dupont, SA", f"{i}.10", "0.19", line=i) for i in range(1, 4)]
    usd = [license_row(f"u{i}", "Contoso", f"{i}.20", "0.08", currency="USD", line=10 + i) for i in range(1, 3)]
    month = _month(tmp_path)
    month.mkdir(parents=True)
    with zipfile.ZipFile(month / "Reconciliation.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/../../D1_License.csv", "\ufeff" + csv_text(LICENSE_HEADER, eur))
        archive.writestr(
            "invoice_summary.csv",
            csv_text(
                (
                    "InvoiceNumber",
                    "InvoiceDate",
                    "BillingPeriodStart",
                    "BillingPeriodEnd",
                    "Currency",
                    "LicenseCharges",
                    "UsageCharges",
                    "OtherCharges",
                    "Tax",
                    "Total",
                ),
                [summary_row("D1", "EUR", eur), summary_row("D2", "USD", usd)],
            ),
        )
    (month / "D2_License.csv.gz").write_bytes(gzip.compress(csv_text(LICENSE_HEADER, usd).encode("utf-8")))
    load(tmp_path)
    manifest = _manifest(tmp_path)
    assert manifest["Reconciliation.zip/a/../../D1_License.csv"][0] == "loaded"
    assert manifest["D2_License.csv.gz"][0] == "loaded"
    assert not (tmp_path.parent / "D1_License.csv").exists()  # a member's path never reaches the disk
    totals = dict(query(tmp_path, "SELECT currency, sum(subtotal) FROM raw.license_recon GROUP BY ALL"))
    assert totals == {"EUR": sum(Decimal(r["Subtotal"]) for r in eur), "USD": sum(Decimal(r["Subtotal"]) for r in usd)}
    assert query(tmp_path, "SELECT DISTINCT source_file FROM raw.license_recon ORDER BY 1") == [
        ("D2_License.csv.gz",),
        ("Reconciliation.zip/a/../../D1_License.csv",),
    ]
    scratch = [p for p in (tmp_path / ".scratch").rglob("*") if p.is_file()]
    assert scratch and all(p.resolve().is_relative_to(tmp_path.resolve()) for p in scratch)


def test_a_broken_archive_gets_a_sentence(tmp_path):
    _license_month(tmp_path)
    (_month(tmp_path) / "recon.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "recon.csv.gz" and "cannot be opened" in refused.value.message


def test_an_excel_workbook_is_refused_saying_what_to_download_instead(tmp_path):
    _license_month(tmp_path)
    with zipfile.ZipFile(_month(tmp_path) / "G012345.xlsx", "w") as workbook:
        workbook.writestr("[Content_Types].xml", "<Types/>")
        workbook.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "G012345.xlsx"
    assert "Excel workbook (.xlsx)" in refused.value.message and "again as CSV" in refused.value.message


def test_a_semicolon_separated_partner_center_file_is_refused_with_a_sentence(tmp_path):
    rows = _license_month(tmp_path)
    text = csv_text(
        LICENSE_HEADER, [{**row, "Subtotal": row["Subtotal"].replace(".", ",")} for row in rows], delimiter=";"
    )
    (_month(tmp_path) / "D1_License.csv").write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line) == ("D1_License.csv", 1)
    assert "separated by semicolons" in refused.value.message


def test_a_legacy_file_saved_day_first_is_refused_not_loaded_as_wrong_months(tmp_path):
    rows = [
        license_row(
            f"c{i}",
            "A",
            "1.00",
            "0.19",
            line=i,
            ChargeStartDate=f"{i}/10/2026 0:00",
            ChargeEndDate="31/10/2026 23:59",
            SubscriptionStartDate="8/11/2021",
            SubscriptionEndDate="7/11/2026",
        )
        for i in (1, 2)
    ]
    _license_month(tmp_path, rows)
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line, refused.value.column) == ("D1_License.csv", 2, "ChargeEndDate")
    assert not (tmp_path / "warehouse.duckdb").exists() or query(
        tmp_path, "SELECT count(*) FROM raw.license_recon"
    ) == [(0,)]


def test_an_unreadable_file_gets_a_sentence(tmp_path, monkeypatch):
    _license_month(tmp_path)
    locked = _month(tmp_path) / "G99.csv"
    locked.write_text("x", encoding="utf-8")
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root reads anything: make the open fail as it would for anyone else
        real_open = Path.open

        def refusing_open(self, *args, **kwargs):
            if self.name == "G99.csv":
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refusing_open)
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "G99.csv"
    assert "cannot be read (Permission denied)" in refused.value.message


def test_a_line_of_several_megabytes_is_a_rejected_line_and_rows_still_add_up(tmp_path):
    rows = _license_month(tmp_path)
    huge = license_row("c9", "B" * 3_000_000, "9.00", "0.19", line=9)
    write_csv(_month(tmp_path) / "D1_License.csv", LICENSE_HEADER, [rows[0], huge, rows[1]])
    write_summary(_month(tmp_path) / "invoice_summary.csv", [summary_row("D1", "EUR", [rows[0], rows[1]])])
    month = load(tmp_path)
    recon = next(f for f in month.files if f.name == "D1_License.csv")
    assert (recon.rows_read, recon.rows_loaded, recon.rows_rejected) == (3, 2, 1)
    ((line, reason, kept),) = query(tmp_path, "SELECT line_number, reason, length(raw_line) FROM raw.rejected_rows")
    assert line == 3 and reason.startswith("the line is longer than the 2,000,000 bytes") and kept <= 10_000
    assert query(tmp_path, "SELECT source_line FROM raw.license_recon ORDER BY 1") == [(2,), (4,)]


def test_nan_in_a_legacy_summary_is_a_sentence(tmp_path):
    rows = _license_month(tmp_path)
    write_summary(_month(tmp_path) / "invoice_summary.csv", [summary_row("D1", "EUR", rows) | {"Tax": "NaN"}])
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.line, refused.value.column) == (
        2,
        "Tax",
    ) and "'NaN' is not an amount" in refused.value.message


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("1e400", "'1e400' is too large to be an invoice amount (at most 18 digits before the point)"),
        ("-1E+400", "'-1E+400' is too large to be an invoice amount"),
        ("1000000000000000000.00", "'1000000000000000000.00' is too large to be an invoice amount"),
        ("inf", "'inf' is not an amount"),
        ("-Infinity", "'-Infinity' is not an amount"),
    ],
)
def test_an_absurd_summary_amount_is_a_sentence_naming_file_line_and_column(tmp_path, value, said):
    rows = _license_month(tmp_path)
    write_summary(_month(tmp_path) / "invoice_summary.csv", [summary_row("D1", "EUR", rows) | {"Total": value}])
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line, refused.value.column) == ("invoice_summary.csv", 2, "Total")
    assert said in refused.value.message
    assert str(refused.value).startswith("file 'invoice_summary.csv', line 2, column 'Total': ")


def test_the_largest_amount_the_warehouse_holds_still_loads(tmp_path):
    rows = _license_month(tmp_path)
    largest = "999999999999999999.99"  # 18 digits before the point: DECIMAL(24,6) holds it
    write_summary(
        _month(tmp_path) / "invoice_summary.csv", [summary_row("D1", "EUR", rows) | {"OtherCharges": largest}]
    )
    load(tmp_path)
    assert query(tmp_path, "SELECT other_charges FROM raw.invoice_summary") == [(Decimal(largest),)]


def test_an_absurd_amount_in_an_api_invoice_document_is_a_sentence(tmp_path):
    rows = _license_month(tmp_path)
    (_month(tmp_path) / "invoice_summary.csv").unlink()
    write_invoice_json(_month(tmp_path) / "invoices.json", [summary_row("D1", "EUR", rows) | {"Total": "1e400"}])
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line, refused.value.column) == ("invoices.json", 1, "totalCharges")
    assert "'1E+400' is too large to be an invoice amount" in refused.value.message


def _unpacked_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / ".scratch").rglob("*") if p.is_file()] if (data_dir / ".scratch").exists() else []


def test_a_zip_bomb_is_refused_by_its_declared_sizes_before_anything_is_unpacked(tmp_path):
    _license_month(tmp_path)
    with zipfile.ZipFile(_month(tmp_path) / "Reconciliation.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("G0001.csv", b"0" * (20 << 20))  # 20 MiB of one byte packs to ~20 KiB: ratio ~1000
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "Reconciliation.zip/G0001.csv"
    assert "times its packed size, more than the 200 times a CSV packs to" in refused.value.message
    assert "ZIP bomb" in refused.value.message and "it was not unpacked" in refused.value.message
    assert "Traceback" not in refused.value.message
    assert _unpacked_files(tmp_path) == []


def test_an_archive_over_the_size_limit_is_refused_unopened(tmp_path, monkeypatch):
    from pipelines.ingest import landing

    monkeypatch.setattr(landing, "MAX_UNPACKED_BYTES", 1 << 20)
    _license_month(tmp_path)
    with zipfile.ZipFile(_month(tmp_path) / "Reconciliation.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.csv", os.urandom(700 << 10))
        archive.writestr("b.csv", os.urandom(700 << 10))  # each under the limit, together over it
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "Reconciliation.zip"
    assert "its files add up to 1.4 MiB: it unpacks to more than 1.0 MiB" in refused.value.message
    assert _unpacked_files(tmp_path) == []


def test_a_gz_bomb_is_stopped_while_streaming_and_the_part_removed(tmp_path):
    _license_month(tmp_path)
    (_month(tmp_path) / "G0001.csv.gz").write_bytes(gzip.compress(b"0" * (30 << 20)))
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "G0001.csv.gz"
    assert "ZIP bomb" in refused.value.message and "unpacking was stopped there" in refused.value.message
    assert not any(p.name == "G0001.csv" for p in _unpacked_files(tmp_path))


def test_a_gz_over_the_size_limit_is_stopped_at_the_limit(tmp_path, monkeypatch):
    from pipelines.ingest import landing

    monkeypatch.setattr(landing, "MAX_UNPACKED_BYTES", 1 << 20)
    monkeypatch.setattr(landing, "COPY_CHUNK_BYTES", 64 << 10)
    _license_month(tmp_path)
    (_month(tmp_path) / "G0001.csv.gz").write_bytes(gzip.compress(os.urandom(3 << 20)))
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "G0001.csv.gz" and "more than 1.0 MiB" in refused.value.message
    assert _unpacked_files(tmp_path) == []


def test_archives_nested_three_deep_are_refused(tmp_path):
    _license_month(tmp_path)
    inner = _month(tmp_path) / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("G1.csv.gz", gzip.compress(b"InvoiceNumber\n"))
    with zipfile.ZipFile(_month(tmp_path) / "outer.zip", "w") as archive:
        archive.write(inner, "inner.zip")
    inner.unlink()
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "outer.zip/inner.zip/G1.csv.gz"
    assert "packed inside 2 other archives" in refused.value.message


def test_a_day_first_file_with_no_day_above_12_is_refused_when_only_day_first_puts_it_in_the_month(tmp_path):
    # D/M dates of October (1st to 12th): read M/D they are 10 January, 10 February, ... and only the
    # third line (10/10 and 11/10) would land in October, so the file used to load without a word.
    charges = [("1/10/2026 0:00", "6/10/2026 23:59"), ("2/10/2026 0:00", "7/10/2026 23:59"), ("10/10/2026 0:00", "11/10/2026 23:59")]  # fmt: skip
    rows = [
        license_row(f"c{i}", "A", "1.00", "0.19", line=i, ChargeStartDate=start, ChargeEndDate=end)
        for i, (start, end) in enumerate(charges, start=1)
    ]
    _license_month(tmp_path, rows)
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line, refused.value.column) == (
        "D1_License.csv",
        2,
        "ChargeStartDate",
    )
    assert (
        "the charge from 1/10/2026 0:00 to 6/10/2026 23:59 is outside 2026-10 when read month first (M/D/YYYY"
        in refused.value.message
    )
    assert "its dates look written day first (D/M/YYYY)" in refused.value.message
    assert not (tmp_path / "warehouse.duckdb").exists() or query(
        tmp_path, "SELECT count(*) FROM raw.license_recon"
    ) == [(0,)]


def test_a_month_first_file_whose_charges_read_day_first_would_also_fit_still_loads(tmp_path):
    # 10/1 to 10/12 read M/D is in October; read D/M (10 January to 10 December) it is not.
    rows = [
        license_row(f"c{i}", "A", "1.00", "0.19", line=i, ChargeStartDate="10/1/2026 0:00", ChargeEndDate="10/12/2026 23:59")
        for i in (1, 2)
    ]  # fmt: skip
    _license_month(tmp_path, rows)
    load(tmp_path)
    assert query(tmp_path, "SELECT count(*) FROM raw.license_recon") == [(2,)]
