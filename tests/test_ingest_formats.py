"""Files are recognised by their header, whatever their name, spelling, column order or encoding,
and load to the cent.

Expected values are the Decimal sums of the rows each test writes (tests/corpus.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from corpus import (
    LICENSE_HEADER,
    LICENSE_HEADER_INDIRECT,
    PERIOD,
    SUMMARY_HEADER,
    UGLY_NAMES,
    USAGE_DAILY_EXTRAS,
    USAGE_HEADER,
    csv_text,
    expected_costs,
    generate_month,
    landed_files,
    license_row,
    load,
    loaded_costs,
    loaded_values,
    manifest,
    raw_rows,
    rejected,
    snake,
    summary_row,
    typed,
    uglify_names,
    usage_row,
    write_csv,
    write_invoice_json,
    write_summary,
)

from pipelines.ingest.errors import IngestError


def _month(tmp_path: Path) -> Path:
    return tmp_path / "landing" / PERIOD


def _small_month():
    """Two customers, one invoice: two license lines and two usage lines."""
    lic = [
        license_row("c-1", "Société Dupont, SA", "100.10", "19.02", line=1),
        license_row("c-2", 'The "Best" Co', "-12.34", "-2.35", line=2, ChargeType="Prorate fees when cancel"),
    ]
    use = [
        usage_row("c-1", "Société Dupont, SA", "D020001IVK", "3.33", "0.63", line=1),
        usage_row("c-2", 'The "Best" Co', "D020001IVK", "0.01", "0.00", line=2),
    ]
    return lic, use


# ---------------------------------------------------------------------------------------------
# Recognition by header


def test_every_kind_is_recognised_by_its_header_not_its_name(tmp_path):
    month = _month(tmp_path)
    lic, use = _small_month()
    summary = summary_row("D020001IVK", "EUR", lic, use)
    # Names that say nothing, or the wrong thing.
    write_csv(month / "download (3).csv", LICENSE_HEADER, lic)
    write_csv(month / "invoice_summary_usage", USAGE_HEADER, use)
    write_csv(month / "LicenseBasedRecon.txt", SUMMARY_HEADER, [summary])
    write_invoice_json(month / "invoices.json", [summary_row("G000123456", "USD", [], [], other="5.00")])

    load(tmp_path)

    files = manifest(tmp_path)
    assert {name: (f["file_kind"], f["status"]) for name, f in files.items()} == {
        "download (3).csv": ("license_recon", "loaded"),
        "invoice_summary_usage": ("usage_recon", "loaded"),
        "LicenseBasedRecon.txt": ("invoice_summary", "loaded"),
        "invoices.json": ("invoice_summary", "loaded"),
    }
    assert {name: (f["rows_read"], f["rows_loaded"], f["rows_rejected"]) for name, f in files.items()} == {
        "download (3).csv": (2, 2, 0),
        "invoice_summary_usage": (2, 2, 0),
        "LicenseBasedRecon.txt": (1, 1, 0),
        "invoices.json": (1, 1, 0),
    }
    invoices = {row["invoice_number"]: row for row in raw_rows(tmp_path, "raw.invoice_summary")}
    assert set(invoices) == {"D020001IVK", "G000123456"}
    assert invoices["D020001IVK"]["source_file"] == "LicenseBasedRecon.txt"
    printed = invoices["D020001IVK"]
    assert (printed["license_charges"], printed["usage_charges"], printed["tax"], printed["total"]) == (
        Decimal("87.76"),
        Decimal("3.34"),
        Decimal("17.30"),
        Decimal("108.40"),
    )
    assert printed["total"] == Decimal(summary["Total"])
    # The API document carries only the total, tax included, as an exact decimal.
    assert invoices["G000123456"]["source_file"] == "invoices.json"
    assert (invoices["G000123456"]["currency"], invoices["G000123456"]["total"]) == ("USD", Decimal("5.00"))
    assert invoices["G000123456"]["license_charges"] is None
    assert str(invoices["G000123456"]["billing_period_start"]) == "2026-10-01"


def test_a_single_invoice_json_document_without_a_json_name_is_recognised(tmp_path):
    """The Partner Center API's `Invoice` resource, saved under any name, is told by its content."""
    month = _month(tmp_path)
    lic, use = _small_month()
    write_csv(month / "lic.csv", LICENSE_HEADER, lic)
    write_csv(month / "use.csv", USAGE_HEADER, use)
    write_invoice_json(month / "D020001IVK", [summary_row("D020001IVK", "EUR", lic, use)], collection=False)

    load(tmp_path)

    assert manifest(tmp_path)["D020001IVK"]["file_kind"] == "invoice_summary"
    assert [(r["invoice_number"], r["total"]) for r in raw_rows(tmp_path, "raw.invoice_summary")] == [
        ("D020001IVK", Decimal("108.40"))
    ]


def test_header_names_match_whatever_their_case_and_known_aliases_in_any_order(tmp_path):
    month = _month(tmp_path)
    lic, use = _small_month()
    for row in lic:
        row["ResellerMpnId"] = "4433221"
    # License: every spelling seen in the wild, columns shuffled.
    spelled = {
        name: name.upper() if i % 3 == 0 else name.lower() if i % 3 == 1 else name[0].lower() + name[1:]
        for i, name in enumerate(LICENSE_HEADER_INDIRECT)
    }
    spelled.update(
        {
            "MpnId": "MPNID",
            "ResellerMpnId": "ResellerMPNID",
            "CustomerId": "CustomerID",
            "OrderId": "OrderID",
            "SubscriptionId": "SubscriptionID",
            "OfferId": "OfferID",
            "DurableOfferId": "DurableOfferID",
            "PartnerId": "PartnerID",
        }
    )
    order = sorted(LICENSE_HEADER_INDIRECT, key=lambda name: hashlib.md5(name.encode()).hexdigest())
    write_csv(month / "a", order, lic, written_header=[spelled[name] for name in order])
    # Usage: the 2023 camelCase rename, the 2017 ResourceGUID, UnitOfMeasure, 'MPN ID', Tier2MpnId.
    usage_spelled = {name: name[0].lower() + name[1:] for name in USAGE_HEADER}
    usage_spelled.update(
        {"ResourceGuid": "ResourceGUID", "Unit": "UnitOfMeasure", "MpnId": "MPN ID", "ResellerMpnId": "Tier2MpnId"}
    )
    usage_order = list(reversed(USAGE_HEADER))
    write_csv(month / "b", usage_order, use, written_header=[usage_spelled[name] for name in usage_order])
    write_summary(month / "s.csv", [summary_row("D020001IVK", "EUR", lic, use)])

    load(tmp_path)

    files = manifest(tmp_path)
    assert (files["a"]["file_kind"], files["b"]["file_kind"]) == ("license_recon", "usage_recon")
    assert files["a"]["extra_columns"] == [] and files["b"]["extra_columns"] == []
    loaded = raw_rows(tmp_path, "raw.license_recon")
    assert [loaded_values(r, LICENSE_HEADER_INDIRECT) for r in loaded] == [
        typed(r, LICENSE_HEADER_INDIRECT) for r in lic
    ]
    loaded_usage = raw_rows(tmp_path, "raw.usage_recon")
    assert [loaded_values(r, USAGE_HEADER) for r in loaded_usage] == [typed(r, USAGE_HEADER) for r in use]
    assert loaded_costs(tmp_path) == {("c-1", "EUR"): Decimal("103.43"), ("c-2", "EUR"): Decimal("-12.33")}


def test_optional_columns_are_accepted_when_present_and_null_when_absent(tmp_path):
    month = _month(tmp_path)
    lic, use = _small_month()
    lic[0]["ResellerMpnId"], lic[1]["ResellerMpnId"] = "-1", "5550001"
    # Direct partner's 27 columns, and an indirect provider's 28 with ResellerMpnId.
    write_csv(month / "direct.csv", LICENSE_HEADER, lic[:1])
    write_csv(month / "indirect.csv", LICENSE_HEADER_INDIRECT, lic[1:])
    # A usage export with the daily-detail extras appended.
    extras = {
        "CustomerBillableAccount": "ba-77",
        "UsageDate": "10/17/2026",
        "MeteredRegion": "EU West",
        "MeteredService": "Compute",
        "MeteredServiceType": "VM, burstable",
        "Project": 'Proj "X"',
        "ServiceInfo": "DTU",
    }
    use[0].update(extras)
    write_csv(month / "daily.csv", USAGE_HEADER + USAGE_DAILY_EXTRAS, use[:1])
    write_csv(month / "plain.csv", USAGE_HEADER, use[1:])
    write_summary(month / "s.csv", [summary_row("D020001IVK", "EUR", lic, use)])

    load(tmp_path)

    files = manifest(tmp_path)
    assert all(files[name]["status"] == "loaded" and files[name]["extra_columns"] == [] for name in files)
    licenses = {r["source_file"]: r for r in raw_rows(tmp_path, "raw.license_recon")}
    assert licenses["direct.csv"]["reseller_mpn_id"] is None
    assert licenses["indirect.csv"]["reseller_mpn_id"] == "5550001"
    usage = {r["source_file"]: r for r in raw_rows(tmp_path, "raw.usage_recon")}
    daily = usage["daily.csv"]
    assert str(daily["usage_date"]) == "2026-10-17 00:00:00"
    assert {k: daily[snake(k)] for k in extras if k != "UsageDate"} == {
        k: v for k, v in extras.items() if k != "UsageDate"
    }
    assert all(usage["plain.csv"][snake(k)] is None for k in extras)
    assert loaded_costs(tmp_path) == {("c-1", "EUR"): Decimal("103.43"), ("c-2", "EUR"): Decimal("-12.33")}


def test_unknown_extra_columns_are_kept_and_never_shift_data(tmp_path):
    month = _month(tmp_path)
    lic, use = _small_month()
    header = ["Remark", *LICENSE_HEADER[:10], "Cost Centre", *LICENSE_HEADER[10:], "Tail, with comma"]
    for number, row in enumerate(lic):
        row.update({"Remark": f'checked, "ok" {number}', "Cost Centre": "", "Tail, with comma": "1,2,3"})
    write_csv(month / "lic.csv", header, lic)
    write_csv(month / "use.csv", [*USAGE_HEADER, "Tags"], [dict(r, Tags='{"env": "prod", "team": "a,b"}') for r in use])
    write_summary(month / "s.csv", [summary_row("D020001IVK", "EUR", lic, use)])

    load(tmp_path)

    files = manifest(tmp_path)
    assert files["lic.csv"]["extra_columns"] == ["Remark", "Cost Centre", "Tail, with comma"]
    assert files["use.csv"]["extra_columns"] == ["Tags"]
    loaded = raw_rows(tmp_path, "raw.license_recon")
    assert [loaded_values(r, LICENSE_HEADER) for r in loaded] == [typed(r, LICENSE_HEADER) for r in lic]
    assert [json.loads(r["extra_columns"]) for r in loaded] == [
        {"Remark": 'checked, "ok" 0', "Cost Centre": None, "Tail, with comma": "1,2,3"},
        {"Remark": 'checked, "ok" 1', "Cost Centre": None, "Tail, with comma": "1,2,3"},
    ]
    usage = raw_rows(tmp_path, "raw.usage_recon")
    assert [json.loads(r["extra_columns"]) for r in usage] == [{"Tags": '{"env": "prod", "team": "a,b"}'}] * 2
    assert [r["pretax_charges"] for r in usage] == [Decimal("3.33"), Decimal("0.01")]


def test_a_file_of_no_known_kind_is_reported_by_name_and_left_alone(tmp_path):
    month = _month(tmp_path)
    lic, use = _small_month()
    write_csv(month / "lic.csv", LICENSE_HEADER, lic)
    write_csv(month / "use.csv", USAGE_HEADER, use)
    write_summary(month / "s.csv", [summary_row("D020001IVK", "EUR", lic, use)])
    strangers = {
        "notes.txt": b"Call Microsoft about the credit note\n",
        "customers.csv": csv_text(["CustomerId", "Name"], [["c-1", "Société Dupont, SA"]]).encode(),
        # An NCE daily rated usage file: a kind not read yet.
        "DailyRatedUsage.csv": csv_text(
            ["PartnerId", "CustomerId", "UsageDate", "MeterId", "BillingPreTaxTotal"],
            [["p", "c-1", "10/1/2026", "m", "1.5"]],
        ).encode(),
        "report.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        # JSON that is not an Invoice resource (e.g. a customer list from the API).
        "customers.json": json.dumps(
            {"totalCount": 1, "items": [{"id": "c-1", "companyProfile": {"companyName": "X"}}]}
        ).encode(),
    }
    for name, data in strangers.items():
        (month / name).write_bytes(data)

    load(tmp_path)

    files = manifest(tmp_path)
    for name, data in strangers.items():
        assert files[name]["file_kind"] == "unknown", name
        assert files[name]["status"] == "unrecognised", name
        assert "no known kind" in files[name]["note"] and "left alone" in files[name]["note"], name
        assert (files[name]["rows_read"], files[name]["rows_loaded"], files[name]["rows_rejected"]) == (0, 0, 0)
        assert files[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert (month / name).read_bytes() == data, "the file must be left alone"
    assert {f["file_name"] for f in files.values() if f["status"] == "loaded"} == {"lic.csv", "use.csv", "s.csv"}
    assert rejected(tmp_path) == []
    assert {r["source_file"] for r in raw_rows(tmp_path, "raw.usage_recon")} == {"use.csv"}


# ---------------------------------------------------------------------------------------------
# Encodings and dialects, on a generated month made ugly


@pytest.fixture(scope="module")
def ugly_month(tmp_path_factory):
    """A generated two-currency month whose customers have names with commas, quotes and
    accents; the expected cost per customer is summed from the rows before any rewriting."""
    source = generate_month(tmp_path_factory.mktemp("generated"), seed=19, customers=6, license_rows=25, usage_rows=40)
    files = landed_files(source)
    names = uglify_names(files.values())
    costs = expected_costs((f.kind, f.rows) for f in files.values() if f.kind != "invoice_summary")
    assert len(costs) >= 6 and len({currency for _, currency in costs}) == 2
    return files, names, costs


DIALECTS = {
    # name: (encoding, BOM, line end, delimiter, quoting)
    "utf-8 with BOM, CRLF": ("utf-8", True, "\r\n", ",", csv.QUOTE_MINIMAL),
    "utf-8, LF, every field quoted": ("utf-8", False, "\n", ",", csv.QUOTE_ALL),
    "windows-1252 (Excel 'CSV')": ("cp1252", False, "\r\n", ",", csv.QUOTE_MINIMAL),
    "utf-16 comma-separated": ("utf-16", True, "\r\n", ",", csv.QUOTE_MINIMAL),
    "utf-16 Excel 'Unicode text' (tab-separated)": ("utf-16", True, "\r\n", "\t", csv.QUOTE_MINIMAL),
}
EXPECTED_ENCODING = {"utf-8": ("utf-8-sig", "utf-8"), "cp1252": ("windows-1252",), "utf-16": ("utf-16",)}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_every_dialect_loads_to_the_cent_with_names_intact(tmp_path, ugly_month, dialect):
    files, names, costs = ugly_month
    encoding, bom, line_end, delimiter, quoting = DIALECTS[dialect]
    month = _month(tmp_path)
    for number, ((kind, _), landed) in enumerate(sorted(files.items())):
        if kind == "invoice_summary":
            write_csv(month / "summary.csv", landed.header, landed.rows)
            continue
        write_csv(
            month / f"export ({number})",
            landed.header,
            landed.rows,
            encoding=encoding,
            bom=bom,
            line_end=line_end,
            delimiter=delimiter,
            quoting=quoting,
        )

    load(tmp_path)

    recon = {name: f for name, f in manifest(tmp_path).items() if name != "summary.csv"}
    assert len(recon) == 4
    for name, f in recon.items():
        assert (f["status"], f["rows_rejected"]) == ("loaded", 0), (name, f["note"])
        assert f["encoding"] in EXPECTED_ENCODING[encoding]
    assert loaded_costs(tmp_path) == costs
    loaded_names = {(r["customer_id"], r["customer_name"]) for r in raw_rows(tmp_path, "raw.license_recon")}
    loaded_names |= {(r["customer_id"], r["customer_company_name"]) for r in raw_rows(tmp_path, "raw.usage_recon")}
    assert loaded_names == set(names.items())
    assert set(names.values()) <= set(UGLY_NAMES)


def test_quoted_fields_with_commas_quotes_and_accents_keep_every_character(tmp_path):
    month = _month(tmp_path)
    tricky = ["a,b", 'say "hi"', '"quoted"', 'é,"ü",ß', ",", '""', "trailing space ", " leading"]
    lic = [
        license_row(f"c-{i}", name, f"{i}.0{i}", "0.00", line=i + 1, SubscriptionName=name)
        for i, name in enumerate(tricky)
    ]
    write_csv(month / "lic.csv", LICENSE_HEADER, lic)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", lic)])

    load(tmp_path)

    loaded = raw_rows(tmp_path, "raw.license_recon")
    assert [(r["customer_name"], r["subscription_name"]) for r in loaded] == [(name, name) for name in tricky]
    assert [r["source_line"] for r in loaded] == list(range(2, 2 + len(tricky)))
    assert sum(r["subtotal"] for r in loaded) == sum(Decimal(f"{i}.0{i}") for i in range(len(tricky)))


def test_identifiers_stay_text_exactly_as_written(tmp_path):
    month = _month(tmp_path)
    lic = [
        license_row(
            "c-1",
            "A",
            "1.00",
            "0.00",
            OrderId="566890604832738111",
            MpnId="-1",
            ResellerMpnId="0",
            SubscriptionId="0001",
        )
    ]
    write_csv(month / "lic.csv", LICENSE_HEADER_INDIRECT, lic)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", lic)])

    load(tmp_path)

    row = raw_rows(tmp_path, "raw.license_recon")[0]
    assert (row["order_id"], row["mpn_id"], row["reseller_mpn_id"], row["subscription_id"]) == (
        "566890604832738111",
        "-1",
        "0",
        "0001",
    )


# ---------------------------------------------------------------------------------------------
# Encodings that cannot be read


def _accented_license(name: str = "Crème Brûlée SARL") -> str:
    return csv_text(LICENSE_HEADER, [license_row("c-1", name, "1.00", "0.20")])


REFUSED = {
    # Bytes Windows-1252 leaves undefined (0x81, 0x8D) in a file that is not UTF-8 either.
    "windows-1252 with undefined bytes": (
        lambda: _accented_license().encode("cp1252").replace(b"SARL", b"S\x81R\x8dL"),
        "neither UTF-8 nor windows-1252",
    ),
    # UTF-16 with a lone surrogate: no text can be made of it.
    "broken utf-16": (
        lambda: (
            b"\xff\xfe" + _accented_license().encode("utf-16-le").replace("SARL".encode("utf-16-le"), b"\x00\xd8A\x00")
        ),
        "neither UTF-8 nor utf-16",
    ),
    # UTF-8 and Windows-1252 mixed in one file: read either way, some names come out mojibake.
    "utf-8 and windows-1252 mixed": (
        lambda: (
            _accented_license("Société Dupont").encode("utf-8")
            + csv_text(LICENSE_HEADER, [license_row("c-2", "Crème Brûlée", "1.00", "0.20")])
            .split("\r\n", 1)[1]
            .encode("cp1252")
        ),
        "the file mixes UTF-8 text with another encoding",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unreadable_encoding_is_refused_with_a_clear_message(tmp_path, case):
    make, words = REFUSED[case]
    month = _month(tmp_path)
    write_summary(month / "s.csv", [summary_row("D1", "EUR", [license_row("c-1", "A", "1.00", "0.20")])])
    (month / "Recon.csv").write_bytes(make())

    with pytest.raises(IngestError) as failure:
        load(tmp_path)

    message = str(failure.value)
    assert failure.value.file_name == "Recon.csv"
    assert message.startswith("file 'Recon.csv'")
    assert words in message
    assert "CSV UTF-8" in message
    assert list(tmp_path.glob(".scratch/*")) == [], "no half-transcoded copy is left behind"
