"""The new-commerce invoice reconciliation file and the G-invoice summary, loaded into raw.*.

Expected values are read from the files here with the csv module and Decimal, or written out
literally; Microsoft's own published rows (tests/fixtures) load with every value exact.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.formats import FileKind, parse_partner_datetime
from pipelines.ingest.errors import IngestError
from tests.corpus import csv_text, load, query, write_text

FIXTURES = Path(__file__).parent / "fixtures"
MICROSOFT_SAMPLE = FIXTURES / "nce_recon_microsoft_sample.csv"  # recon-formats.md §11.6
AZURE_PLAN_SAMPLE = FIXTURES / "nce_recon_azure_plan_sample.csv"  # §11.5, other required columns filled in

NCE_HEADER: tuple[str, ...] = (
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "InvoiceNumber",
    "MpnId",
    "ResellerMpnId",
    "OrderId",
    "OrderDate",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PriceAdjustmentDescription",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "TermAndBillingCycle",
    "EffectiveUnitPrice",
    "UnitType",
    "AlternateId",
    "BillableQuantity",
    "BillingFrequency",
    "PricingCurrency",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "MeterDescription",
    "ReservationOrderId",
    "CreditReasonCode",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ReferenceId",
    "ProductQualifiers",
    "PromotionId",
)
# The Aug-2023 rename: first letter lower-cased, Total -> totalForCustomer, ResellerMpnId -> resellerMpnId.
RENAMED = {
    "Total": "totalForCustomer",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
}
NCE_SUMMARY_HEADER = (
    "InvoiceNumber",
    "InvoiceDate",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "Currency",
    "Charges",
    "Credits",
    "Subtotal",
    "Tax",
    "Total",
)
NUMBERS = {
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "EffectiveUnitPrice",
    "BillableQuantity",
    "PCToBCExchangeRate",
}
DATES = {
    "OrderDate",
    "ChargeStartDate",
    "ChargeEndDate",
    "PCToBCExchangeRateDate",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
}
JSON_FIELDS = {"PriceAdjustmentDescription", "ProductQualifiers"}
PERIOD = "2026-10"


def camel(name: str) -> str:
    return RENAMED.get(name, name[0].lower() + name[1:])


def snake(name: str) -> str:
    """The warehouse name, spelled out here rather than taken from the pipeline."""
    special = {"PCToBCExchangeRate": "pc_to_bc_exchange_rate", "PCToBCExchangeRateDate": "pc_to_bc_exchange_rate_date"}
    if name in special:
        return special[name]
    out = "".join(
        "_" + c.lower() if c.isupper() and i and not name[i - 1].isupper() else c.lower() for i, c in enumerate(name)
    )
    return out


def expected_date(text: str) -> datetime | None:
    """Independent of the pipeline: the few spellings these tests use."""
    if not text or text.startswith("0001-01-01"):
        return None
    if "/" in text:
        return datetime.strptime(text, "%m/%d/%Y %H:%M" if " " in text else "%m/%d/%Y")
    text = text.rstrip("Z")
    if "." in text:
        whole, fraction = text.split(".")
        return datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def expected_value(name: str, text: str):
    if text == "":
        return None
    if name in NUMBERS:
        return Decimal(text)
    if name in DATES:
        return expected_date(text)
    if name in JSON_FIELDS:
        json.loads(text)  # valid JSON, stored as Microsoft wrote it
    return text


def nce_row(
    customer_id: str,
    subtotal: str,
    *,
    invoice: str = "G000000001",
    currency: str = "EUR",
    line: int = 1,
    **overrides: str,
) -> dict[str, str]:
    row = {
        "PartnerId": "8caf98cd-1cd5-4245-9e91-042cd814c25d",
        "CustomerId": customer_id,
        "CustomerName": "Société Dupont, SA",
        "CustomerDomainName": "dupont.onmicrosoft.com",
        "CustomerCountry": "FR",
        "InvoiceNumber": invoice,
        "MpnId": "7116754",
        "ResellerMpnId": "0",
        "OrderId": f"0ET2{line:08d}",
        "OrderDate": "10/1/2026",
        "ProductId": "CFQ7TTC0LH18",
        "SkuId": "0001",
        "AvailabilityId": "CFQ7TTC0KDLJ",
        "SkuName": "Microsoft 365 Business Basic",
        "ProductName": "Microsoft 365 Business Basic",
        "ChargeType": "cycleCharge",
        "UnitPrice": subtotal,
        "Quantity": "1",
        "Subtotal": subtotal,
        "TaxTotal": "0",
        "Total": subtotal,
        "Currency": currency,
        "PriceAdjustmentDescription": "[]",
        "PublisherName": "Microsoft Corporation",
        "PublisherId": "",
        "SubscriptionDescription": "Microsoft 365 Business Basic",
        "SubscriptionId": f"9d7d1f3d-c8de-461c-db6d-{line:012d}",
        "ChargeStartDate": "10/1/2026",
        "ChargeEndDate": "10/31/2026",
        "TermAndBillingCycle": "One-Month commitment for monthly billing",
        "EffectiveUnitPrice": subtotal,
        "UnitType": "",
        "AlternateId": f"alt{line}",
        "BillableQuantity": "1",
        "BillingFrequency": "Monthly",
        "PricingCurrency": currency,
        "PCToBCExchangeRate": "1",
        "PCToBCExchangeRateDate": "9/28/2026",
        "MeterDescription": "",
        "ReservationOrderId": "",
        "CreditReasonCode": "",
        "SubscriptionStartDate": "1/1/2026",
        "SubscriptionEndDate": "12/31/2026",
        "ReferenceId": "",
        "ProductQualifiers": "[]",
        "PromotionId": "",
    }
    row.update(overrides)
    return row


def nce_summary(
    rows: list[dict[str, str]],
    *,
    number: str = "G000000001",
    currency: str = "EUR",
    start="2026-10-01",
    end="2026-10-31",
    tax: str = "0.00",
) -> dict[str, str]:
    """A G-invoice's printed figures: exactly the rows' Subtotal sums, charges and credits apart."""
    amounts = [Decimal(r["Subtotal"]) for r in rows if r["InvoiceNumber"] == number]
    charges = sum((a for a in amounts if a > 0), Decimal("0.00"))
    credits = sum((a for a in amounts if a < 0), Decimal("0.00"))
    return {
        "InvoiceNumber": number,
        "InvoiceDate": end,
        "BillingPeriodStart": start,
        "BillingPeriodEnd": end,
        "Currency": currency,
        "Charges": str(charges),
        "Credits": str(credits),
        "Subtotal": str(charges + credits),
        "Tax": tax,
        "Total": str(charges + credits + Decimal(tax)),
    }


def land(data_dir: Path, period: str, name: str, text: str, bom: bool = True) -> Path:
    return write_text(data_dir / "landing" / period / name, text, bom=bom)


def raw_rows(data_dir: Path, table: str = "raw.nce_recon") -> list[dict]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM {table} ORDER BY source_file, source_line")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_fixture(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        return list(reader.fieldnames), list(reader)


# ---------------------------------------------------------------------------------------------


def test_microsofts_published_nce_sample_row_loads_with_every_value_exact(tmp_path):
    header, rows = read_fixture(MICROSOFT_SAMPLE)
    land(tmp_path, "2021-05", "a1b2c3", MICROSOFT_SAMPLE.read_text(encoding="utf-8"))
    land(
        tmp_path,
        "2021-05",
        "figures",
        csv_text(
            NCE_SUMMARY_HEADER,
            [nce_summary(rows, number="G000773581", currency="USD", start="2021-05-01", end="2021-05-31", tax="73")],
        ),
    )
    month = load(tmp_path, "2021-05")

    (loaded,) = raw_rows(tmp_path)
    for name in header:
        assert loaded[snake(name)] == expected_value(name, rows[0][name]), name
    # The published values, spelled out: 7 fractional digits kept to the microsecond, JSON kept as JSON.
    assert loaded["order_date"] == datetime(2021, 5, 20, 18, 48, 30, 616828)
    assert loaded["subtotal"] == Decimal("720") and loaded["effective_unit_price"] == Decimal("14.4")
    assert json.loads(loaded["product_qualifiers"]) == []
    assert json.loads(loaded["price_adjustment_description"])[2] == "You are getting a discount for being a partner."
    assert (
        loaded["sku_id"] == "0001"
        and loaded["source_line"] == 2
        and loaded["billing_period"].isoformat() == "2021-05-01"
    )
    recon = next(f for f in month.files if f.name == "a1b2c3")
    assert (recon.kind, recon.rows_read, recon.rows_loaded, recon.rows_rejected) == ("nce_recon", 1, 1, 0)
    assert recon.invoice_numbers == ("G000773581",)


def test_microsofts_azure_plan_rows_with_partner_earned_credit_load_exact(tmp_path):
    header, rows = read_fixture(AZURE_PLAN_SAMPLE)
    land(tmp_path, "2024-03", "export (1).csv", AZURE_PLAN_SAMPLE.read_text(encoding="utf-8"))
    land(
        tmp_path,
        "2024-03",
        "invoice_summary.csv",
        csv_text(
            NCE_SUMMARY_HEADER,
            [nce_summary(rows, number="G000773582", currency="USD", start="2024-03-01", end="2024-03-31")],
        ),
    )
    load(tmp_path, "2024-03")

    loaded = raw_rows(tmp_path)
    assert len(loaded) == 2
    canonical = {name.lower(): name for name in NCE_HEADER}  # the excerpt spells ProductID, SKUID
    for row, text in zip(loaded, rows):
        for name in header:
            assert row[snake(canonical[name.lower()])] == expected_value(canonical[name.lower()], text[name]), name
    assert [r["billable_quantity"] for r in loaded] == [Decimal("5"), Decimal("32")]
    assert sum(r["subtotal"] for r in loaded) == sum(Decimal(r["Subtotal"]) for r in rows) == Decimal("81.33")
    # The 2021 columns are absent from this file: NULL, not an error.
    assert all(r["credit_reason_code"] is None and r["product_qualifiers"] is None for r in loaded)


def test_renamed_camel_case_header_with_bom_crlf_and_opaque_name_loads_like_pascal_case(tmp_path):
    rows = [nce_row(f"c{i}", f"{i}.10", line=i) for i in range(1, 4)]
    pascal, camels = tmp_path / "pascal", tmp_path / "camel"
    for data_dir, written in ((pascal, NCE_HEADER), (camels, tuple(map(camel, NCE_HEADER)))):
        land(data_dir, PERIOD, "0f3a9c.dat", csv_text(NCE_HEADER, rows, written_header=written))
        land(data_dir, PERIOD, "s", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
        load(data_dir)
    assert "totalForCustomer" in (camels / "landing" / PERIOD / "0f3a9c.dat").read_text(encoding="utf-8-sig")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file_sha256"} for r in rows]  # noqa: E731
    assert strip(raw_rows(camels)) == strip(raw_rows(pascal))
    assert [r["total"] for r in raw_rows(camels)] == [Decimal(r["Total"]) for r in rows]


@pytest.mark.parametrize("reseller_header", ["resellerMpnId", "tier2MpnId", "Tier2MpnId"])
def test_reseller_column_under_each_of_its_names(tmp_path, reseller_header):
    rows = [nce_row("c1", "5.00", ResellerMpnId="4649221")]
    written = tuple(reseller_header if name == "ResellerMpnId" else name for name in NCE_HEADER)
    land(tmp_path, PERIOD, "r.csv", csv_text(NCE_HEADER, rows, written_header=written))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    load(tmp_path)
    assert [r["reseller_mpn_id"] for r in raw_rows(tmp_path)] == ["4649221"]


def test_every_decimal_microsoft_writes_is_kept(tmp_path):
    rows = [
        nce_row(
            "c1",
            "0.48",
            EffectiveUnitPrice="0.020949638479167912",
            BillableQuantity="23.200004",
            PCToBCExchangeRate="0.846202666",
            UnitPrice="0.0209496384791679",
            Quantity="23.200004",
            line=1,
        ),
        nce_row("c2", "-112.89", EffectiveUnitPrice="-9.408000000000000000", BillableQuantity="12", line=2),
    ]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    month = load(tmp_path)
    loaded = raw_rows(tmp_path)
    for row, text in zip(loaded, rows):
        for name in ("EffectiveUnitPrice", "BillableQuantity", "PCToBCExchangeRate", "UnitPrice", "Subtotal"):
            assert row[snake(name)] == Decimal(text[name])
    assert str(loaded[0]["effective_unit_price"].normalize()) == "0.020949638479167912"
    assert month.rows(FileKind.NCE_RECON) == (2, 0)


def test_dates_in_every_form_microsoft_writes(tmp_path):
    forms = {
        1: ("10/3/2026", datetime(2026, 10, 3)),
        2: ("10/3/2026 0:00", datetime(2026, 10, 3)),
        3: ("10/3/2026 23:59:59", datetime(2026, 10, 3, 23, 59, 59)),
        4: ("2026-10-03T18:48:30.6168285Z", datetime(2026, 10, 3, 18, 48, 30, 616828)),
        5: ("2026-10-03T00:00:00Z", datetime(2026, 10, 3)),
        6: ("2026-10-03T00:00:00", datetime(2026, 10, 3)),
        7: ("0001-01-01T00:00:00", None),
    }
    rows = [
        nce_row(f"c{line}", "1.00", line=line, OrderDate=text, SubscriptionEndDate=text)
        for line, (text, _) in forms.items()
    ]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    load(tmp_path)
    loaded = raw_rows(tmp_path)
    assert [r["order_date"] for r in loaded] == [expected for _, expected in forms.values()]
    assert [r["subscription_end_date"] for r in loaded] == [expected for _, expected in forms.values()]


def test_iso_times_with_a_utc_offset_load_as_utc_alike_in_sql_and_in_python(tmp_path):
    """The SQL that loads recon files and parse_partner_datetime (the invoice summary's dates) give
    the same UTC instant; the expected instants are worked out by hand."""
    forms = {
        1: ("2021-05-20T18:48:30-08:00", datetime(2021, 5, 21, 2, 48, 30)),  # 18:48 in UTC-8 is 02:48 UTC next day
        2: ("2021-05-20T18:48:30+01:00", datetime(2021, 5, 20, 17, 48, 30)),
        3: ("2021-05-20T18:48:30.6168285+05:30", datetime(2021, 5, 20, 13, 18, 30, 616828)),
        4: ("2021-01-01T00:30:00+0100", datetime(2020, 12, 31, 23, 30)),  # across the year
        5: ("2021-05-20T18:48:30+00:00", datetime(2021, 5, 20, 18, 48, 30)),
        6: ("2021-05-20 18:48:30-03:00", datetime(2021, 5, 20, 21, 48, 30)),
    }
    rows = [nce_row(f"c{line}", "1.00", line=line, OrderDate=text) for line, (text, _) in forms.items()]
    rows.append(nce_row("c9", "0.00", line=9, OrderDate="2021-05-20T18:48:30+15:00"))  # no place is 15 h off UTC
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    load(tmp_path)
    expected = [instant for _, instant in forms.values()]
    assert [r["order_date"] for r in raw_rows(tmp_path)] == expected
    assert [parse_partner_datetime(text) for text, _ in forms.values()] == expected
    rejected = query(tmp_path, "SELECT line_number, column_name FROM raw.rejected_rows")
    assert rejected == [(8, "OrderDate")]
    with pytest.raises(ValueError):
        parse_partner_datetime("2021-05-20T18:48:30+15:00")


def test_a_value_that_is_no_date_or_no_json_is_a_rejected_line_naming_its_column(tmp_path):
    rows = [
        nce_row("c1", "1.00", line=1),
        nce_row("c2", "2.00", line=2, OrderDate="Oct 3rd"),
        nce_row("c3", "3.00", line=3, ProductQualifiers="[AddOn"),
        nce_row("c4", "4.00", line=4, PriceAdjustmentDescription='["15.0% Partner earned credit"'),
        nce_row("c5", "5.00", line=5),
    ]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    month = load(tmp_path)
    recon = next(f for f in month.files if f.name == "n.csv")
    assert (recon.rows_read, recon.rows_loaded, recon.rows_rejected) == (5, 2, 3)
    assert recon.rows_read == recon.rows_loaded + recon.rows_rejected
    rejected = query(tmp_path, "SELECT line_number, column_name, reason FROM raw.rejected_rows ORDER BY 1")
    assert [(line, column) for line, column, _ in rejected] == [
        (3, "OrderDate"),
        (4, "ProductQualifiers"),
        (5, "PriceAdjustmentDescription"),
    ]
    assert rejected[0][2].startswith("OrderDate is 'Oct 3rd', which is not a date (Partner Center writes M/D/YYYY")
    assert (
        rejected[1][2]
        == "ProductQualifiers is '[AddOn', which is not valid JSON (Partner Center writes a list such as [\"AddOn\"] or [])"
    )
    assert [r["customer_id"] for r in raw_rows(tmp_path)] == ["c1", "c5"]


def test_a_day_first_file_is_refused_naming_file_line_and_column(tmp_path):
    rows = [
        nce_row(
            f"c{i}",
            "1.00",
            line=i,
            ChargeStartDate=f"{i}/10/2026",
            ChargeEndDate="31/10/2026",
            OrderDate=f"{i}/10/2026",
            SubscriptionStartDate="1/1/2026",
            SubscriptionEndDate="31/12/2026",
            PCToBCExchangeRateDate="28/9/2026",
        )
        for i in (1, 2)
    ]
    land(tmp_path, PERIOD, "excel-saved.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert refused.value.file_name == "excel-saved.csv" and refused.value.line == 2
    assert refused.value.column == "ChargeEndDate"
    assert "'31/10/2026', a date written day first (D/M/YYYY)" in refused.value.message


def test_a_day_first_file_whose_days_are_all_up_to_12_is_refused_by_its_charge_periods(tmp_path):
    # 2/10/2026-1/11/2026 is 2 Oct-1 Nov day first; month first it would end before it starts.
    rows = [
        nce_row(
            "c1",
            "1.00",
            ChargeStartDate="2/10/2026",
            ChargeEndDate="1/11/2026",
            OrderDate="2/10/2026",
            SubscriptionStartDate="2/10/2026",
            SubscriptionEndDate="1/10/2027",
            PCToBCExchangeRateDate="1/10/2026",
        )
    ]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "s.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows)]))
    with pytest.raises(IngestError) as refused:
        load(tmp_path)
    assert (refused.value.file_name, refused.value.line, refused.value.column) == ("n.csv", 2, "ChargeEndDate")


# ---------------------------------------------------------------------------------------------
# The G-invoice summary


def test_nce_summary_figures_are_loaded_by_name(tmp_path):
    rows = [
        nce_row("c1", "100.00", line=1),
        nce_row("c1", "-40.50", line=2, ChargeType="removeQuantity"),
        nce_row("c2", "7.25", invoice="G000000002", currency="USD", line=3),
    ]
    summaries = [nce_summary(rows, tax="11.31"), nce_summary(rows, number="G000000002", currency="USD")]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "invoice_summary.csv", csv_text(NCE_SUMMARY_HEADER, summaries))
    load(tmp_path)
    loaded = raw_rows(tmp_path, "raw.invoice_summary")
    for row, printed in zip(loaded, summaries):
        for name in ("Charges", "Credits", "Subtotal", "Tax", "Total"):
            assert row[snake(name)] == Decimal(printed[name])
        assert row["license_charges"] is None and row["usage_charges"] is None and row["other_charges"] is None
        assert row["invoice_number"] == printed["InvoiceNumber"] and row["currency"] == printed["Currency"]
    assert loaded[0]["credits"] == Decimal("-40.50") and loaded[0]["total"] == Decimal("70.81")


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        (
            {"Subtotal": "59.51"},
            "Subtotal",
            "Subtotal is 59.51 but Charges 100.00 plus Credits -40.50 make 59.50 (a difference of 0.01)",
        ),
        (
            {"Total": "59.49"},
            "Total",
            "Total is 59.49 but Subtotal 59.50 plus Tax 0.00 make 59.50 (a difference of -0.01)",
        ),
        ({"Tax": "NaN"}, "Tax", "'NaN' is not an amount"),
        ({"Charges": "inf"}, "Charges", "'inf' is not an amount"),
        ({"Credits": "-40,50"}, "Credits", "'-40,50' is not an amount"),
        ({"Subtotal": ""}, "Subtotal", "Subtotal is empty"),
    ],
)
def test_a_summary_whose_figures_do_not_add_up_stops_the_month(tmp_path, change, column, words):
    rows = [nce_row("c1", "100.00", line=1), nce_row("c1", "-40.50", line=2)]
    printed = nce_summary(rows) | change
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "invoice_summary.csv", csv_text(NCE_SUMMARY_HEADER, [printed]))
    with pytest.raises(IngestError) as stopped:
        load(tmp_path)
    assert (stopped.value.file_name, stopped.value.line, stopped.value.column) == ("invoice_summary.csv", 2, column)
    assert words in stopped.value.message
    assert not (tmp_path / "warehouse.duckdb").exists() or query(tmp_path, "SELECT count(*) FROM raw.nce_recon") == [
        (0,)
    ]


def test_partner_center_invoice_json_for_a_g_invoice_and_its_credit_note(tmp_path):
    rows = [nce_row("c1", "2076.63", invoice="G000024135", currency="USD")]
    documents = {
        "totalCount": 2,
        "items": [
            {
                "id": "G000024135",
                "invoiceDate": "2026-11-08T22:40:37.5897767Z",
                "billingPeriodStartDate": "2026-10-01T22:40:37.5897767Z",
                "billingPeriodEndDate": "2026-10-31T22:40:37.5897767Z",
                "totalCharges": 2076.63,
                "paidAmount": 0,
                "currencyCode": "USD",
                "currencySymbol": "$",
                "documentType": "Invoice",
                "invoiceType": "OneTime",
                "invoiceDetails": [{"invoiceLineItemType": "billing_line_items", "billingProvider": "one_time"}],
            },
            {
                "id": "G000031337",
                "invoiceDate": "2026-11-08T00:00:00Z",
                "totalCharges": -12.5,
                "currencyCode": "USD",
                "documentType": "Credit Note",
                "invoiceType": "OneTime",
            },
        ],
    }
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    (tmp_path / "landing" / PERIOD / "invoices.json").write_text(json.dumps(documents), encoding="utf-8")
    month = load(tmp_path)
    (invoice,) = raw_rows(tmp_path, "raw.invoice_summary")
    assert invoice["invoice_number"] == "G000024135" and invoice["total"] == Decimal("2076.63")
    assert (
        invoice["invoice_date"].isoformat() == "2026-11-08"
        and invoice["billing_period_end"].isoformat() == "2026-10-31"
    )
    summary = next(f for f in month.files if f.name == "invoices.json")
    assert (summary.rows_read, summary.rows_loaded) == (2, 1) and "G000031337" in summary.note


def test_a_warehouse_made_with_the_previous_summary_table_gains_the_nce_figures(tmp_path):
    old_ddl = """CREATE TABLE raw.invoice_summary (invoice_number VARCHAR, invoice_date DATE, billing_period_start DATE,
        billing_period_end DATE, currency VARCHAR, license_charges DECIMAL(18,6), usage_charges DECIMAL(18,6),
        other_charges DECIMAL(18,6), tax DECIMAL(18,6), total DECIMAL(18,6), billing_period DATE NOT NULL,
        source_file VARCHAR NOT NULL, source_line BIGINT NOT NULL, file_sha256 VARCHAR NOT NULL, extra_columns JSON)"""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(old_ddl)
        con.execute(
            "INSERT INTO raw.invoice_summary VALUES ('D01', '2026-10-01', '2026-09-01', '2026-09-30', 'EUR', "
            "1.10, 2.20, 0, 0.63, 3.93, '2026-09-01', 'invoice_summary.csv', 2, 'abc', NULL)"
        )
    rows = [nce_row("c1", "100.00"), nce_row("c1", "-0.01", line=2)]
    land(tmp_path, PERIOD, "n.csv", csv_text(NCE_HEADER, rows))
    land(tmp_path, PERIOD, "invoice_summary.csv", csv_text(NCE_SUMMARY_HEADER, [nce_summary(rows, tax="19.00")]))
    load(tmp_path)
    legacy, nce = raw_rows(tmp_path, "raw.invoice_summary")
    assert (legacy["license_charges"], legacy["total"], legacy["charges"]) == (Decimal("1.10"), Decimal("3.93"), None)
    assert (nce["charges"], nce["credits"], nce["subtotal"], nce["tax"], nce["total"]) == (
        Decimal("100.00"),
        Decimal("-0.01"),
        Decimal("99.99"),
        Decimal("19.00"),
        Decimal("118.99"),
    )
    assert nce["license_charges"] is None and nce["source_file"] == "invoice_summary.csv"


def test_the_fixtures_are_microsofts_rows_verbatim():
    """The fixture lines are the spec's published lines, byte for byte (so the tests above test them)."""
    spec = Path("/work/shared/spec/recon-formats.md")
    if not spec.exists():
        pytest.skip("the spec is not beside this checkout")
    text = spec.read_text(encoding="utf-8")
    sample_lines = MICROSOFT_SAMPLE.read_text(encoding="utf-8").splitlines()
    assert all(line in text.splitlines() for line in sample_lines)
    for line in AZURE_PLAN_SAMPLE.read_text(encoding="utf-8").splitlines()[1:]:
        published = line.split(",934f3416")[0]
        assert published in text.splitlines()
