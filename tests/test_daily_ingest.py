"""The NCE daily rated usage file loaded into raw.daily_usage: both header forms and their
percentage scales, every decimal kept, billed and unbilled rows, JSON-ish tags, bad lines
rejected with sentences, several files in a month, and the open month (unbilled files only).

Expected values are literal Decimals or read from the rows written here, never from the pipeline.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.ingest.errors import IngestError
from tests.corpus import csv_text, load, query, write_text
from tests.daily_rows import CAMEL_HEADER, DAILY_HEADER, camel_values, daily_row
from tests.test_nce_ingest import NCE_HEADER, NCE_SUMMARY_HEADER, nce_row, nce_summary

PERIOD = "2026-10"
FIXTURE = Path(__file__).parent / "fixtures" / "nce_daily_usage_microsoft_sample.csv"
SAMPLE_PERIOD = "2018-11"  # the sample's UsageDate 2018-11-13


def land(data_dir: Path, name: str, text: str, period: str = PERIOD) -> None:
    write_text(data_dir / "landing" / period / name, text)


def land_invoice(data_dir: Path, period: str = PERIOD, start: str = "10/1/2026", end: str = "10/31/2026") -> None:
    """The month's recon file and G-invoice summary, so billed daily rows have their invoice."""
    recon = [nce_row("6b3a8993-3066-41fa-aa0d-afd33326ecbe", "10.00", ChargeStartDate=start, ChargeEndDate=end)]
    land(data_dir, "G000000001_InvoiceReconciliation.csv", csv_text(NCE_HEADER, recon), period)
    land(data_dir, "invoice_summary.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(recon)]), period)


def daily(data_dir: Path) -> list[dict]:
    with_names = query(data_dir, "SELECT * FROM raw.daily_usage ORDER BY source_file, source_line")
    columns = [
        row[0]
        for row in query(
            data_dir, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'daily_usage' ORDER BY column_index"
        )
    ]
    return [dict(zip(columns, row)) for row in with_names]


def manifest_rows(data_dir: Path) -> dict[str, tuple]:
    rows = query(
        data_dir,
        "SELECT file_name, file_kind, rows_read, rows_loaded, rows_rejected, invoice_number, currency FROM raw.file_manifest",
    )
    return {row[0]: row[1:] for row in rows}


def rejected(data_dir: Path) -> list[tuple]:
    return query(
        data_dir,
        "SELECT file_name, line_number, column_name, reason FROM raw.rejected_rows ORDER BY file_name, line_number",
    )


def test_pascal_header_loads_every_value_exactly(tmp_path):
    land_invoice(tmp_path)
    rows = [
        daily_row("23.200004", "0.486031696515249", Tags='{"env": "prod", "costCenter": "CC-1042"}'),
        daily_row(
            "0.000000001",
            "0.000000000000001",
            day=2,
            pec="0",
            CreditPercentage="100",
            CreditType="Azure Credit Applied",
            ResourceGroup="rg-Data-ANALYTICS",
            Tier2MpnId="4649221",
        ),
    ]
    land(tmp_path, "G000000001_DailyRatedUsage.csv", csv_text(DAILY_HEADER, rows))
    load(tmp_path)
    first, second = daily(tmp_path)
    assert first["quantity"] == Decimal("23.200004")
    assert first["billing_pre_tax_total"] == Decimal("0.486031696515249")
    assert first["pricing_pre_tax_total"] == Decimal("0.486031696515249")
    assert first["partner_earned_credit_percentage"] == Decimal("15") and first["credit_percentage"] == Decimal("0")
    assert second["billing_pre_tax_total"] == Decimal("0.000000000000001") and second["quantity"] == Decimal(
        "0.000000001"
    )
    assert second["partner_earned_credit_percentage"] == Decimal("0") and second["credit_percentage"] == Decimal("100")
    assert second["resource_group"] == "rg-Data-ANALYTICS"  # kept as written
    assert second["reseller_mpn_id"] == "4649221" and first["reseller_mpn_id"] is None
    assert first["invoice_number"] == "G000000001" and first["unit"] == "1 Hour"
    assert json.loads(first["tags"]) == {"env": "prod", "costCenter": "CC-1042"}
    assert json.loads(first["additional_info"]) == {"ServiceType": "Standard_D2s_v3"}
    assert str(first["usage_date"]) == "2026-10-01 00:00:00" and str(second["usage_date"]) == "2026-10-02 00:00:00"
    assert (first["source_line"], second["source_line"]) == (2, 3)
    assert manifest_rows(tmp_path)["G000000001_DailyRatedUsage.csv"] == ("daily_usage", 2, 2, 0, "G000000001", "EUR")


def test_renamed_camel_header_is_rescaled_to_percentages(tmp_path):
    land_invoice(tmp_path)
    rows = [camel_values(daily_row("5", "1.234567890123456", CreditPercentage="100", Tier2MpnId="0"))]
    assert rows[0]["PartnerEarnedCreditPercentage"] == "0.15" and rows[0]["CreditPercentage"] == "1"
    land(tmp_path, "daily.csv", csv_text(DAILY_HEADER, rows, written_header=CAMEL_HEADER))
    load(tmp_path)
    (row,) = daily(tmp_path)
    assert row["partner_earned_credit_percentage"] == Decimal("15")
    assert row["credit_percentage"] == Decimal("100")
    assert (
        row["unit"] == "1 Hour" and row["reseller_mpn_id"] == "0" and row["resource_uri"].startswith("/subscriptions/")
    )
    assert row["billing_pre_tax_total"] == Decimal("1.234567890123456")


def test_a_percentage_outside_its_scale_is_a_rejected_line_with_a_sentence(tmp_path):
    land_invoice(tmp_path)
    camel = [
        camel_values(daily_row("1", "0.10")),
        {**camel_values(daily_row("1", "0.20")), "PartnerEarnedCreditPercentage": "15"},
    ]
    land(tmp_path, "camel.csv", csv_text(DAILY_HEADER, camel, written_header=CAMEL_HEADER))
    land(
        tmp_path,
        "pascal.csv",
        csv_text(DAILY_HEADER, [daily_row("1", "0.30", CreditPercentage="150"), daily_row("1", "0.40")]),
    )
    load(tmp_path)
    assert rejected(tmp_path) == [
        (
            "camel.csv",
            3,
            "rateOfPartnerEarnedCredit",
            "rateOfPartnerEarnedCredit is '15', which is outside its scale: a rate from 0 to 1 (this column writes 15 % as 0.15)",
        ),
        (
            "pascal.csv",
            2,
            "CreditPercentage",
            "CreditPercentage is '150', which is outside its scale: a percentage from 0 to 100 (this column writes 15 % as 15)",
        ),
    ]
    assert sorted(r["billing_pre_tax_total"] for r in daily(tmp_path)) == [Decimal("0.10"), Decimal("0.40")]
    manifest = manifest_rows(tmp_path)
    assert manifest["camel.csv"][1:4] == (2, 1, 1) and manifest["pascal.csv"][1:4] == (2, 1, 1)


def test_bad_lines_are_rejected_naming_file_line_and_column(tmp_path):
    land_invoice(tmp_path)
    rows = [
        daily_row("1.5", "0.12"),
        daily_row("one", "0.12"),
        daily_row("1", "0.1234567890123456789", PricingPreTaxTotal="0.12"),  # 19 decimals: more than kept
        daily_row("1", "0.12", UsageDate="yesterday"),
        daily_row("1", "0.12", AdditionalInfo="{ServiceType: B2s"),
        daily_row("1", "0.12", CustomerId=""),
    ]
    land(tmp_path, "daily.csv", csv_text(DAILY_HEADER, rows))
    load(tmp_path)
    assert rejected(tmp_path) == [
        (
            "daily.csv",
            3,
            "Quantity",
            "Quantity is 'one', which is not a number (use a point for decimals and no thousands separators)",
        ),
        (
            "daily.csv",
            4,
            "BillingPreTaxTotal",
            "BillingPreTaxTotal is '0.1234567890123456789', which has more than 18 decimals and would be rounded",
        ),
        (
            "daily.csv",
            5,
            "UsageDate",
            "UsageDate is 'yesterday', which is not a date (Partner Center writes M/D/YYYY, e.g. 10/1/2026, or ISO 8601, e.g. 2026-10-01T00:00:00Z)",
        ),
        (
            "daily.csv",
            6,
            "AdditionalInfo",
            """AdditionalInfo is '{ServiceType: B2s', which is not valid JSON (Partner Center writes an object such as {"ServiceType": "Standard_B1s"})""",
        ),
        ("daily.csv", 7, "CustomerId", "CustomerId is empty"),
    ]
    assert [r["source_line"] for r in daily(tmp_path)] == [2]
    assert manifest_rows(tmp_path)["daily.csv"][1:4] == (6, 1, 5)  # read = loaded + rejected


def test_tags_json_ish_become_objects_blank_is_null_other_text_is_kept_as_a_string(tmp_path):
    land_invoice(tmp_path)
    rows = [
        daily_row("1", "1", Tags='{"env": "prod"}'),
        daily_row("1", "1", Tags='"env": "dev", "owner": "ops"'),  # Microsoft's braceless form
        daily_row("1", "1", Tags=""),
        daily_row("1", "1", Tags="env=prod;team=web"),
        daily_row("1", "1", Tags="{}"),
    ]
    land(tmp_path, "daily.csv", csv_text(DAILY_HEADER, rows))
    load(tmp_path)
    tags = [r["tags"] for r in daily(tmp_path)]
    assert [json.loads(t) if t is not None else None for t in tags] == [
        {"env": "prod"},
        {"env": "dev", "owner": "ops"},
        None,
        "env=prod;team=web",
        {},
    ]
    assert rejected(tmp_path) == []


def test_unbilled_rows_keep_a_blank_invoice_and_several_daily_files_load_in_one_month(tmp_path):
    land_invoice(tmp_path)
    land(tmp_path, "G000000001_DailyRatedUsage.csv", csv_text(DAILY_HEADER, [daily_row("2", "0.163200000000001")]))
    land(
        tmp_path,
        "G000000001_DailyRatedUsage_part2.csv",
        csv_text(DAILY_HEADER, [daily_row("3", "0.244800000000002", day=2)]),
    )
    land(tmp_path, "Unbilled.csv", csv_text(DAILY_HEADER, [daily_row("4", "0.3264", day=3, invoice="")]))
    month = load(tmp_path)
    assert not month.open_month
    rows = {r["source_file"]: r for r in daily(tmp_path)}
    assert rows["Unbilled.csv"]["invoice_number"] is None
    assert sum(r["billing_pre_tax_total"] for r in rows.values()) == Decimal("0.734400000000003")
    manifest = manifest_rows(tmp_path)
    assert manifest["Unbilled.csv"] == ("daily_usage", 1, 1, 0, None, "EUR")
    assert manifest["G000000001_DailyRatedUsage_part2.csv"][4] == "G000000001"


def test_an_open_month_of_unbilled_files_only_loads_without_an_invoice(tmp_path):
    period = "2026-11"
    land(
        tmp_path,
        "Unbilled_EUR.csv",
        csv_text(DAILY_HEADER, [daily_row("4", "0.3264", invoice="", UsageDate="11/17/2026")]),
        period,
    )
    camel = [
        camel_values(daily_row("1", "0.0816", invoice="", UsageDate="2026-11-16T00:00:00Z", BillingCurrency="USD"))
    ]
    land(tmp_path, "Unbilled_USD.csv", csv_text(DAILY_HEADER, camel, written_header=CAMEL_HEADER), period)
    month = load(tmp_path, period)
    assert month.open_month and month.invoices == []
    assert month.open_month_sentence == "2026-11 is open: month-to-date usage loaded, no invoice yet"
    assert query(tmp_path, "SELECT count(*), sum(billing_pre_tax_total) FROM raw.daily_usage") == [
        (2, Decimal("0.408"))
    ]


def test_billed_daily_rows_without_an_invoice_summary_still_stop_the_month(tmp_path):
    land(tmp_path, "G000000001_DailyRatedUsage.csv", csv_text(DAILY_HEADER, [daily_row("1", "0.08")]))
    with pytest.raises(IngestError, match="there is no invoice summary for this month"):
        load(tmp_path)


def test_microsofts_published_sample_row_is_read_and_its_blank_customer_named(tmp_path):
    """§11.6 verbatim: every value is valid except the blank CustomerId the API sample leaves out,
    which a billed line cannot be without: the line is rejected for that reason alone."""
    land_invoice(tmp_path, SAMPLE_PERIOD, "11/1/2018", "11/30/2018")
    (tmp_path / "landing" / SAMPLE_PERIOD / "sample.csv").write_bytes(FIXTURE.read_bytes())
    load(tmp_path, SAMPLE_PERIOD)
    assert rejected(tmp_path) == [("sample.csv", 2, "CustomerId", "CustomerId is empty")]
    assert manifest_rows(tmp_path)["sample.csv"][:4] == ("daily_usage", 1, 0, 1)


def test_microsofts_sample_with_its_customer_filled_in_loads_every_value(tmp_path):
    land_invoice(tmp_path, SAMPLE_PERIOD, "11/1/2018", "11/30/2018")
    text = FIXTURE.read_bytes().decode("utf-8")
    header, row, _ = text.split("\r\n")
    row = row.replace(
        "2b8940db-5089-539c-e757-520ed1d1bc88,,,",
        "2b8940db-5089-539c-e757-520ed1d1bc88,,6b3a8993-3066-41fa-aa0d-afd33326ecbe,",
        1,
    )
    land(tmp_path, "sample.csv", f"{header}\r\n{row}\r\n", SAMPLE_PERIOD)
    load(tmp_path, SAMPLE_PERIOD)
    (loaded,) = daily(tmp_path)
    assert loaded["invoice_number"] == "T000001234" and loaded["meter_id"] == "1core"
    assert loaded["unit_price"] == Decimal("0.0209496384791679") and loaded["quantity"] == Decimal("23.200004")
    assert loaded["billing_pre_tax_total"] == Decimal("0.486031696515249")
    assert loaded["effective_unit_price"] == Decimal("0") and loaded["pc_to_bc_exchange_rate"] == Decimal("1")
    assert loaded["resource_group"] == "TestWINRG" and loaded["tags"] is None
    assert json.loads(loaded["additional_info"])["ServiceType"] == "Standard_B1s"
    assert (
        str(loaded["usage_date"]) == "2018-11-13 00:00:00" and str(loaded["charge_end_date"]) == "2018-12-01 00:00:00"
    )
    assert loaded["entitlement_id"] == "3f47bcf1-965d-40a1-a2bc-3d5db3653250"
    assert (loaded["partner_earned_credit_percentage"], loaded["credit_percentage"]) == (Decimal("0"), Decimal("0"))
    assert (loaded["benefit_type"], loaded["credit_type"]) == ("SavingsPlan", "Credit Not Applied")


def _empty_invoice_reconciliation(con) -> None:
    """What dbt builds for a month without invoices: the mart, with no row."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    columns = ", ".join(
        f"NULL::{kind} AS {name}"
        for name, kind in (
            ("billing_period", "DATE"),
            ("invoice_number", "VARCHAR"),
            ("currency", "VARCHAR"),
            ("status", "VARCHAR"),
            ("invoice_kind", "VARCHAR"),
            ("recon_pretax", "DECIMAL(28,2)"),
            ("other_charges", "DECIMAL(28,2)"),
            *(
                (name, "DECIMAL(28,2)")
                for name in (
                    "invoice_pretax",
                    "pretax_difference",
                    "recon_tax",
                    "tax_difference",
                    "invoice_total",
                    "total_difference",
                    "recon_charges",
                    "invoice_charges",
                    "charges_difference",
                    "recon_credits",
                    "invoice_credits",
                    "credits_difference",
                    "invoice_total_difference",
                )
            ),
        )
    )
    con.execute(f"CREATE TABLE marts.invoice_reconciliation AS SELECT {columns} WHERE false")


def test_the_open_months_reconciliation_check_passes_saying_so_and_a_normal_month_still_fails(tmp_path):
    import duckdb

    from pipelines.defs.quality.reconciliation import invoices_match
    from pipelines.periods import BillingPeriod

    land(
        tmp_path,
        "Unbilled_EUR.csv",
        csv_text(DAILY_HEADER, [daily_row("4", "0.3264", invoice="", UsageDate="11/17/2026")]),
        "2026-11",
    )
    load(tmp_path, "2026-11")
    land_invoice(tmp_path)  # a closed month: its recon and summary loaded, but (here) no invoice in the mart
    load(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        _empty_invoice_reconciliation(con)
        open_month = invoices_match(con, BillingPeriod.parse("2026-11"))
        closed_month = invoices_match(con, BillingPeriod.parse("2026-10"))
    assert open_month.passed and open_month.description == "2026-11 is open: month-to-date usage loaded, no invoice yet"
    assert not closed_month.passed and closed_month.description == "No invoice was found for the month"
