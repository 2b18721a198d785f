"""raw.file_manifest: one row per landed file with its kind, sha256, counts and load time; the
month always reflects exactly the files in its landing folder."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from corpus import (
    LICENSE_HEADER,
    PERIOD,
    USAGE_HEADER,
    license_row,
    load,
    loaded_costs,
    manifest,
    query,
    raw_rows,
    rejected,
    snapshot,
    summary_row,
    usage_row,
    write_csv,
    write_summary,
)
from corpus import (
    RAW_TABLES as RAW,
)

DATA_TABLES = ("raw.license_recon", "raw.usage_recon", "raw.invoice_summary", "raw.rejected_rows")


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def landed(tmp_path):
    """A small EUR month: a license file (one bad line), a usage file and the summary."""
    month = tmp_path / "landing" / PERIOD
    lic = [
        license_row("c-1", "Société Dupont, SA", "10.10", "1.92", line=1),
        license_row("c-2", "Zoë Ltd", "20.20", "3.84", line=2),
    ]
    use = [usage_row("c-1", "Société Dupont, SA", "D1", "3.33", "0.63", line=i) for i in range(3)]
    write_csv(
        month / "D1_LicenseBasedRecon.csv",
        LICENSE_HEADER,
        [*lic, license_row("c-3", "X", "1.00", "0.19", Subtotal="N/A")],
    )
    write_csv(month / "D1_UsageBasedRecon.csv", USAGE_HEADER, use)
    write_summary(month / "invoice_summary.csv", [summary_row("D1", "EUR", lic, use)])
    return tmp_path, month, lic, use


def test_manifest_records_kind_sha256_size_counts_and_load_time(landed):
    data_dir, month, _, _ = landed
    before = _utc_now()
    load(data_dir)
    after = _utc_now()

    files = manifest(data_dir)
    assert set(files) == {p.name for p in month.iterdir()}
    for name, entry in files.items():
        data = (month / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size_bytes"] == len(data)
        assert entry["status"] == "loaded"
        assert entry["billing_period"].isoformat() == "2026-10-01"
        assert before <= entry["loaded_at"] <= after
    assert {
        n: (e["file_kind"], e["rows_read"], e["rows_loaded"], e["rows_rejected"], e["invoice_number"], e["encoding"])
        for n, e in files.items()
    } == {
        "D1_LicenseBasedRecon.csv": ("license_recon", 3, 2, 1, "D1", "utf-8-sig"),
        "D1_UsageBasedRecon.csv": ("usage_recon", 3, 3, 0, "D1", "utf-8-sig"),
        "invoice_summary.csv": ("invoice_summary", 1, 1, 0, "D1", "utf-8-sig"),
    }
    # Every raw row names the file and the exact bytes it came from.
    lineage = {
        (r["source_file"], r["file_sha256"])
        for t in ("raw.license_recon", "raw.usage_recon", "raw.invoice_summary")
        for r in raw_rows(data_dir, t)
    }
    assert lineage == {(n, e["sha256"]) for n, e in files.items()}


def test_reloading_the_same_files_changes_nothing_not_even_load_times(landed):
    data_dir, _, _, _ = landed
    load(data_dir)
    first = snapshot(data_dir)
    load(data_dir)
    assert snapshot(data_dir) == first


@pytest.mark.parametrize("copy_name", ["0 - copy of license.csv", "zz license (2).csv"])
def test_an_identical_file_under_another_name_changes_nothing_and_is_noted(landed, copy_name):
    """Whether the copy's name sorts before or after the original's."""
    data_dir, month, _, _ = landed
    load(data_dir)
    before = snapshot(data_dir)
    shutil.copyfile(month / "D1_LicenseBasedRecon.csv", month / copy_name)

    load(data_dir)

    after = snapshot(data_dir)
    assert {t: after[t] for t in DATA_TABLES} == {t: before[t] for t in DATA_TABLES}
    files = manifest(data_dir)
    original = [row for row in before["raw.file_manifest"] if row[1] == "D1_LicenseBasedRecon.csv"]
    assert [row for row in after["raw.file_manifest"] if row[1] == "D1_LicenseBasedRecon.csv"] == original
    copy = files[copy_name]
    assert (copy["status"], copy["file_kind"]) == ("duplicate", "license_recon")
    assert (copy["rows_read"], copy["rows_loaded"], copy["rows_rejected"]) == (0, 0, 0)
    assert copy["sha256"] == files["D1_LicenseBasedRecon.csv"]["sha256"]
    assert copy["note"] == "identical to D1_LicenseBasedRecon.csv; not counted twice"


def test_a_changed_file_replaces_its_rows(landed):
    data_dir, month, lic, use = landed
    load(data_dir)
    before = manifest(data_dir)
    # Partner Center re-issued the usage file: one line corrected, one added.
    corrected = [
        usage_row("c-1", "Société Dupont, SA", "D1", "3.34", "0.63", line=0),
        *use[1:],
        usage_row("c-2", "Zoë Ltd", "D1", "7.00", "1.33", line=9),
    ]
    write_csv(month / "D1_UsageBasedRecon.csv", USAGE_HEADER, corrected)
    write_summary(month / "invoice_summary.csv", [summary_row("D1", "EUR", lic, corrected)])

    started = _utc_now()
    load(data_dir)

    after = manifest(data_dir)
    usage = raw_rows(data_dir, "raw.usage_recon")
    assert [(r["customer_id"], r["pretax_charges"], r["source_line"]) for r in usage] == [
        ("c-1", Decimal("3.34"), 2),
        ("c-1", Decimal("3.33"), 3),
        ("c-1", Decimal("3.33"), 4),
        ("c-2", Decimal("7.00"), 5),
    ]
    assert {r["file_sha256"] for r in usage} == {after["D1_UsageBasedRecon.csv"]["sha256"]}
    assert after["D1_UsageBasedRecon.csv"]["sha256"] != before["D1_UsageBasedRecon.csv"]["sha256"]
    assert after["D1_UsageBasedRecon.csv"]["rows_read"] == 4
    assert after["D1_UsageBasedRecon.csv"]["loaded_at"] >= started
    # The license file did not change: it keeps its first load time.
    assert after["D1_LicenseBasedRecon.csv"]["loaded_at"] == before["D1_LicenseBasedRecon.csv"]["loaded_at"]
    assert loaded_costs(data_dir) == {
        ("c-1", "EUR"): Decimal("10.10") + Decimal("3.34") + Decimal("6.66"),
        ("c-2", "EUR"): Decimal("20.20") + Decimal("7.00"),
    }


def test_a_file_removed_from_landing_stops_counting(landed):
    data_dir, month, lic, _ = landed
    load(data_dir)
    assert len(raw_rows(data_dir, "raw.usage_recon")) == 3
    (month / "D1_UsageBasedRecon.csv").unlink()
    (month / "D1_LicenseBasedRecon.csv").rename(month / "license.csv")

    load(data_dir)

    assert set(manifest(data_dir)) == {"license.csv", "invoice_summary.csv"}
    assert raw_rows(data_dir, "raw.usage_recon") == []
    assert {r["source_file"] for r in raw_rows(data_dir, "raw.license_recon")} == {"license.csv"}
    assert [(r[0], r[1]) for r in rejected(data_dir)] == [("license.csv", 4)]
    assert loaded_costs(data_dir) == {("c-1", "EUR"): Decimal("10.10"), ("c-2", "EUR"): Decimal("20.20")}


def test_loading_a_month_leaves_other_months_alone(tmp_path):
    def land(period: str, amount: str) -> None:
        month = tmp_path / "landing" / period
        number = f"D{period[-2:]}"
        y, m = map(int, period.split("-"))
        lic = [
            license_row(
                "c-1", "A", amount, "0.00", ChargeStartDate=f"{m}/1/{y} 0:00", ChargeEndDate=f"{m}/28/{y} 23:59"
            )
        ]
        write_csv(month / "lic.csv", LICENSE_HEADER, lic)
        summary = summary_row(number, "EUR", lic)
        summary.update(BillingPeriodStart=f"{period}-01", BillingPeriodEnd=f"{period}-28")
        write_summary(month / "s.csv", [summary])

    land("2026-09", "9.09")
    land("2026-10", "10.10")
    load(tmp_path, "2026-09")
    september = {
        t: sorted(query(tmp_path, f"SELECT * FROM {t} WHERE billing_period = DATE '2026-09-01'"), key=repr) for t in RAW
    }
    assert september["raw.license_recon"] and september["raw.file_manifest"]
    load(tmp_path, "2026-10")
    load(tmp_path, "2026-10")

    assert {
        t: sorted(query(tmp_path, f"SELECT * FROM {t} WHERE billing_period = DATE '2026-09-01'"), key=repr) for t in RAW
    } == september
    assert loaded_costs(tmp_path, "2026-09") == {("c-1", "EUR"): Decimal("9.09")}
    assert loaded_costs(tmp_path, "2026-10") == {("c-1", "EUR"): Decimal("10.10")}
    assert {r["invoice_number"] for r in raw_rows(tmp_path, "raw.license_recon", period="2026-09")} == {"D09"}
