"""`csp-recon generate --commerce nce` writes each G-invoice's billed daily rated usage file,
consistent with the recon's Azure plan lines as Microsoft's truncation makes them, and with
`--unbilled-through` the open month's unbilled file. Everything is recomputed here from the
files with the csv module and Decimal."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.generate import generate
from pipelines.periods import BillingPeriod
from tests.corpus import load, query

PERIOD = "2026-10"
CENT = Decimal("0.01")
# recon-formats.md §6: the renamed headers of the daily file.
RENAMED = {
    "resellerMpnId": "Tier2MpnId",
    "unitOfMeasure": "Unit",
    "rateOfPartnerEarnedCredit": "PartnerEarnedCreditPercentage",
    "rateOfCredit": "CreditPercentage",
    "pcToBCExchangeRate": "PCToBCExchangeRate",
    "pcToBCExchangeRateDate": "PCToBCExchangeRateDate",
    "resourceUri": "ResourceURI",
}


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        canonical = [RENAMED.get(name, name[0].upper() + name[1:]) for name in header]
        canonical = ["PCToBCExchangeRate" if n == "PcToBCExchangeRate" else n for n in canonical]
        return header, [dict(zip(canonical, row, strict=True)) for row in reader]


def day_of(text: str) -> date:
    return (
        date.fromisoformat(text[:10])
        if "-" in text
        else date(*(int(p) for p in (text.split("/")[2], *text.split("/")[:2])))
    )


def percent(row: dict[str, str], header: list[str]) -> Decimal:
    value = Decimal(row["PartnerEarnedCreditPercentage"])
    return value * 100 if "rateOfPartnerEarnedCredit" in header else value


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("daily")
    assert (
        main(
            [
                "generate",
                "--out",
                str(out),
                "--period",
                PERIOD,
                "--customers",
                "6",
                "--license-rows",
                "12",
                "--usage-rows",
                "40",
                "--header-form",
                "mixed",
                "--seed",
                "4",
                "--unbilled-through",
                "2026-11-17",
            ]
        )
        == 0
    )
    return out


def recon_and_daily(out: Path) -> list[tuple[list[dict], list[str], list[dict]]]:
    pairs = []
    for recon_path in sorted((out / PERIOD).glob("G0*_InvoiceReconciliation.csv")):
        number = recon_path.name.split("_")[0]
        _, recon = read(recon_path)
        header, daily = read(out / PERIOD / f"{number}_DailyRatedUsage.csv")
        pairs.append((recon, header, daily))
    return pairs


def test_each_g_invoice_has_its_billed_daily_file_and_the_open_month_its_unbilled_one(month):
    names = sorted(p.name for p in (month / PERIOD).iterdir())
    numbers = sorted({name.split("_")[0] for name in names if name.startswith("G0")})
    assert len(numbers) == 2
    assert names == sorted(
        [
            *(f"{n}_DailyRatedUsage.csv" for n in numbers),
            *(f"{n}_InvoiceReconciliation.csv" for n in numbers),
            "invoice_summary.csv",
        ]
    )
    assert sorted(p.name for p in (month / "2026-11").iterdir()) == [
        "Unbilled_DailyRatedUsage_2026-11_EUR.csv",
        "Unbilled_DailyRatedUsage_2026-11_USD.csv",
    ]


def test_daily_rows_add_up_to_each_azure_plan_line_as_microsoft_truncates_it(month):
    groups = 0
    for recon, header, daily in recon_and_daily(month):
        expected = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for row in recon:
            if row["SubscriptionDescription"] == "Azure plan" and row["ChargeType"] != "customerCredit":
                key = (
                    row["CustomerId"],
                    row["SubscriptionId"],
                    row["ProductId"],
                    row["SkuId"],
                    row["AvailabilityId"],
                    "Partner earned credit" in row["PriceAdjustmentDescription"],
                )
                expected[key][0] += Decimal(row["BillableQuantity"])
                expected[key][1] += Decimal(row["Subtotal"])
        found = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for row in daily:
            key = (
                row["CustomerId"],
                row["SubscriptionId"],
                row["ProductId"],
                row["SkuId"],
                row["AvailabilityId"],
                percent(row, header) == 15,
            )
            found[key][0] += Decimal(row["Quantity"])
            found[key][1] += Decimal(row["BillingPreTaxTotal"])
        assert found.keys() == expected.keys()
        for key, (quantity, subtotal) in expected.items():
            assert found[key][0] == quantity
            assert found[key][1].quantize(CENT, rounding=ROUND_DOWN) == subtotal
        groups += len(expected)
    assert groups > 20


def test_every_day_several_resources_groups_and_tags_per_azure_subscription_and_both_credit_segments(month):
    for _, header, daily in recon_and_daily(month):
        days = {day_of(row["UsageDate"]) for row in daily}
        assert days == {date(2026, 10, 1) + timedelta(days=n) for n in range(31)}
        per_entitlement = defaultdict(lambda: (set(), set()))
        for row in daily:
            resources, groups = per_entitlement[row["EntitlementId"]]
            resources.add(row["ResourceURI"])
            groups.add(row["ResourceGroup"])
            assert row["ResourceURI"].startswith(
                f"/subscriptions/{row['EntitlementId']}/resourceGroups/{row['ResourceGroup']}/"
            )
        assert max(len(resources) for resources, _ in per_entitlement.values()) >= 3
        assert max(len(groups) for _, groups in per_entitlement.values()) >= 2
        assert len({row["EntitlementId"] for row in daily}) > len({row["SubscriptionId"] for row in daily})
        assert {percent(row, header) for row in daily} == {Decimal(0), Decimal(15)}
        decimals = {len(row["BillingPreTaxTotal"].split(".")[1]) for row in daily}
        assert decimals == {15}
        tags = [row["Tags"] for row in daily]
        assert "" in tags and any(t.startswith("{") for t in tags) and any(t and not t.startswith("{") for t in tags)
        assert all(json.loads(row["AdditionalInfo"]) for row in daily)


def test_both_header_forms(month):
    (_, pascal, _), (_, camel, camel_rows) = recon_and_daily(month)
    assert pascal[:3] == ["PartnerId", "PartnerName", "CustomerId"] and "Tier2MpnId" in pascal and "Unit" in pascal
    assert "PartnerEarnedCreditPercentage" in pascal and "CreditPercentage" in pascal and len(pascal) == 55
    assert camel[:3] == ["partnerId", "partnerName", "customerId"] and len(camel) == 55
    assert {"resellerMpnId", "unitOfMeasure", "rateOfPartnerEarnedCredit", "rateOfCredit", "resourceUri"} <= set(camel)
    assert {row["PartnerEarnedCreditPercentage"] for row in camel_rows} == {"0.15", "0.00"}


def test_the_unbilled_file_runs_through_the_given_day_with_a_blank_invoice(month):
    for path in sorted((month / "2026-11").iterdir()):
        _, rows = read(path)
        assert {row["InvoiceNumber"] for row in rows} == {""}
        days = {day_of(row["UsageDate"]) for row in rows}
        assert min(days) == date(2026, 11, 1) and max(days) == date(2026, 11, 17) and len(days) == 17


def test_the_generated_month_and_the_open_month_load_whole(month, tmp_path):
    for period in (PERIOD, "2026-11"):
        landing = tmp_path / "landing" / period
        landing.mkdir(parents=True)
        for path in (month / period).iterdir():
            (landing / path.name).write_bytes(path.read_bytes())
        loaded = load(tmp_path, period)
        assert all(f.rows_rejected == 0 and f.rows_read == f.rows_loaded for f in loaded.files)
        assert loaded.open_month == (period == "2026-11")
    rows = {
        row[0]: row[1]
        for row in query(tmp_path, "SELECT billing_period::VARCHAR, count(*) FROM raw.daily_usage GROUP BY ALL")
    }
    expected = sum(len(read(path)[1]) for period in (PERIOD, "2026-11") for path in (month / period).glob("*Daily*"))
    assert sum(rows.values()) == expected and set(rows) == {"2026-10-01", "2026-11-01"}


def test_same_seed_same_bytes_and_legacy_is_unchanged(tmp_path):
    def fingerprint(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    for run in ("a", "b"):
        generate(
            tmp_path / run,
            BillingPeriod.parse(PERIOD),
            customers=3,
            license_rows=4,
            usage_rows=10,
            commerce="nce",
            seed=9,
        )
    assert fingerprint(tmp_path / "a" / PERIOD) == fingerprint(tmp_path / "b" / PERIOD)
    generate(
        tmp_path / "c", BillingPeriod.parse(PERIOD), customers=3, license_rows=4, usage_rows=10, commerce="nce", seed=10
    )
    assert fingerprint(tmp_path / "c" / PERIOD) != fingerprint(tmp_path / "a" / PERIOD)
    # The legacy files as the generator wrote them before the daily file existed.
    (legacy,) = generate(
        tmp_path / "legacy",
        BillingPeriod.parse(PERIOD),
        customers=5,
        license_rows=20,
        usage_rows=40,
        seed=3,
        commerce="legacy",
    )
    assert fingerprint(legacy.directory) == {
        "D07WOUF97T_LicenseBasedRecon.csv": "0877795142e6209d720460ec62b3ffd88de611263be5c38921b5440c3ffac645",
        "D07WOUF97T_UsageBasedRecon.csv": "9a3ed37c16d11035c37252ae9588e3f24e907d03bb7171a0f3b10f210a1b741e",
        "D0PGGJILIG_LicenseBasedRecon.csv": "67b7fd765c86678283f6b657bc60165a534cef615521071a06f58c930a15ed60",
        "D0PGGJILIG_UsageBasedRecon.csv": "88614cb95805c3fdbda8c1d09302d04cd02e8f0e4689418539e9b4f8f8d1db42",
        "invoice_summary.csv": "ccc61a62e25a8fd0443d55649f631b8029c55f4037cbf8362871129a6795904a",
    }


def test_unbilled_through_a_generated_month_or_with_legacy_is_refused(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path), "--period", PERIOD, "--unbilled-through", "2026-10-17"]) == 2
    assert (
        "2026-10 is both a billed month and the open month of --unbilled-through 2026-10-17" in capsys.readouterr().err
    )
    assert (
        main(
            [
                "generate",
                "--out",
                str(tmp_path),
                "--period",
                PERIOD,
                "--commerce",
                "legacy",
                "--unbilled-through",
                "2026-11-17",
            ]
        )
        == 2
    )
    assert "use it with --commerce nce" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
