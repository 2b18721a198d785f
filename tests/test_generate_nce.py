"""`csp-recon generate --commerce nce`: every NCE line kind, Microsoft's truncation formulas, two
currencies with FX from USD, both header forms, and a G-invoice summary that is the files' exact
sum. Every figure is recomputed here with Decimal from the files."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.generate import generate
from pipelines.periods import BillingPeriod
from tests.corpus import load, query

PERIOD = "2026-10"
CENT = Decimal("0.01")
NCE_SUMMARY = [
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
]


def is_azure_plan(row: dict) -> bool:
    """Azure plan meters and Azure credits: priced per unit of usage (recon-formats.md §4)."""
    return row["SubscriptionDescription"] == "Azure plan"


def rounddown(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        # Rows keyed by the PascalCase name, whichever form the header is in.
        canonical = [
            {"totalforcustomer": "Total", "resellermpnid": "ResellerMpnId"}.get(h.lower(), h[0].upper() + h[1:])
            for h in header
        ]
        canonical = [name.replace("PcToBC", "PCToBC") for name in canonical]
        return header, [dict(zip(canonical, row, strict=True)) for row in reader]


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("nce")
    assert (
        main(
            [
                "generate",
                "--out",
                str(out),
                "--period",
                PERIOD,
                "--customers",
                "9",
                "--license-rows",
                "60",
                "--usage-rows",
                "120",
                "--header-form",
                "mixed",
                "--seed",
                "4",
            ]
        )
        == 0
    )  # new commerce by default
    folder = out / PERIOD
    recon = {path.name: read(path) for path in sorted(folder.glob("G0*_InvoiceReconciliation.csv"))}
    return folder, recon


def all_rows(month) -> list[dict[str, str]]:
    return [row for _, rows in month[1].values() for row in rows]


def test_the_default_is_new_commerce_with_a_g_invoice_summary(month):
    folder, recon = month
    daily = [name.replace("_InvoiceReconciliation", "_DailyRatedUsage") for name in recon]  # each invoice's Azure usage
    assert sorted(p.name for p in folder.iterdir()) == sorted([*recon, *daily, "invoice_summary.csv"])
    header, summary = read(folder / "invoice_summary.csv")
    assert header == NCE_SUMMARY
    assert [row["Currency"] for row in summary] == ["EUR", "USD"]
    assert all(row["InvoiceNumber"].startswith("G0") for row in summary)


def test_summary_is_the_exact_sum_of_each_invoices_lines(month):
    folder, _ = month
    _, summary = read(folder / "invoice_summary.csv")
    lines = defaultdict(list)
    for row in all_rows(month):
        lines[row["InvoiceNumber"]].append(row)
    for printed in summary:
        rows = lines[printed["InvoiceNumber"]]
        assert {row["Currency"] for row in rows} == {printed["Currency"]}
        amounts = [Decimal(row["Subtotal"]) for row in rows]
        charges = sum(a for a in amounts if a >= 0)
        credits = sum(a for a in amounts if a < 0)
        tax = sum(Decimal(row["TaxTotal"]) for row in rows)
        assert Decimal(printed["Charges"]) == charges and Decimal(printed["Credits"]) == credits < 0
        assert Decimal(printed["Subtotal"]) == charges + credits
        assert Decimal(printed["Tax"]) == tax and Decimal(printed["Total"]) == charges + credits + tax


def test_every_subtotal_follows_microsofts_truncation_formulas(month):
    for row in all_rows(month):
        price, quantity, fx = (
            Decimal(row[c]) for c in ("EffectiveUnitPrice", "BillableQuantity", "PCToBCExchangeRate")
        )
        if is_azure_plan(row):
            expected = rounddown(rounddown(price * quantity) * fx)
        else:
            expected = rounddown(price * fx) * quantity
        assert Decimal(row["Subtotal"]) == expected, row
        assert Decimal(row["Total"]) == Decimal(row["Subtotal"]) + Decimal(row["TaxTotal"])


def test_a_month_holds_every_line_kind(month):
    rows = all_rows(month)
    kinds = Counter(row["ChargeType"] for row in rows)
    assert {
        "cycleCharge",
        "new",
        "addQuantity",
        "removeQuantity",
        "convert",
        "cancelImmediate",
        "customerCredit",
    } <= set(kinds)
    assert {row["BillingFrequency"] for row in rows} >= {"Monthly", "Annual", ""}
    by_reference = defaultdict(list)
    for row in rows:
        if row["ReferenceId"]:
            by_reference[row["ReferenceId"]].append(row)
    for group in by_reference.values():  # a refund and its recharge, or the two halves of a convert
        assert len(group) == 2 and len({row["ChargeType"] for row in group}) == 1
        assert sorted(Decimal(row["EffectiveUnitPrice"]) > 0 for row in group) == [False, True]
        if group[0]["ChargeType"] == "convert":
            assert group[0]["SubscriptionId"] != group[1]["SubscriptionId"]
    prorated = [
        r for r in rows if r["ChargeType"] == "new" and Decimal(r["EffectiveUnitPrice"]) < Decimal(r["UnitPrice"])
    ]
    assert prorated
    assert any(r["ChargeType"] == "cancelImmediate" and Decimal(r["Subtotal"]) < 0 for r in rows)
    assert any(
        r["CreditReasonCode"] and r["ChargeType"] == "customerCredit" and Decimal(r["Subtotal"]) < 0 for r in rows
    )
    assert any(r["ReservationOrderId"] and "Reservation" in r["TermAndBillingCycle"] for r in rows)
    assert any(r["PublisherName"] not in ("Microsoft", "Microsoft Corporation") for r in rows)


def test_azure_plan_meters_with_part_month_partner_earned_credit_have_two_rows(month):
    azure = [r for r in all_rows(month) if is_azure_plan(r) and r["ChargeType"] == "new"]
    meters = defaultdict(list)
    for row in azure:
        meters[(row["SubscriptionId"], row["MeterDescription"])].append(row)
    split = [rows for rows in meters.values() if len(rows) == 2]
    assert split and all(len(rows) <= 2 for rows in meters.values())
    for first, second in split:
        assert (
            "Partner earned credit" in first["PriceAdjustmentDescription"]
            and second["PriceAdjustmentDescription"] == "[]"
        )
        assert Decimal(first["EffectiveUnitPrice"]) == Decimal(first["UnitPrice"]) * Decimal("0.85")


def test_fx_from_usd_in_the_euro_invoice_and_none_in_the_dollar_invoice(month):
    for row in all_rows(month):
        fx = row["PCToBCExchangeRate"]
        if row["PricingCurrency"] == row["Currency"]:
            assert fx == "1"
        else:
            assert (row["PricingCurrency"], row["Currency"]) == ("USD", "EUR")
            assert len(fx.split(".")[1]) == 9 and Decimal(fx) != 1
    assert any(r["PricingCurrency"] == "USD" and r["Currency"] == "EUR" for r in all_rows(month))


def test_mixed_header_forms_and_hostile_names(month):
    headers = [header for header, _ in month[1].values()]
    assert sum(h[0] == "PartnerId" and "Total" in h for h in headers) == 1
    assert sum(h[0] == "partnerId" and "totalForCustomer" in h and "pcToBCExchangeRate" in h for h in headers) == 1
    names = {r["CustomerName"] for r in all_rows(month)}
    assert {"Société Dupont, SA", 'The "Best" Company, Inc.'} <= names


def test_the_generated_month_loads_whole_and_its_sums_are_the_summarys(month, tmp_path):
    folder, _ = month
    landing = tmp_path / "landing" / PERIOD
    landing.mkdir(parents=True)
    for path in folder.iterdir():
        (landing / path.name).write_bytes(path.read_bytes())
    loaded = load(tmp_path)
    for outcome in loaded.files:
        assert outcome.rows_rejected == 0 and outcome.rows_read == outcome.rows_loaded
    _, summary = read(folder / "invoice_summary.csv")
    sums = dict(query(tmp_path, "SELECT invoice_number, sum(subtotal) FROM raw.nce_recon GROUP BY ALL"))
    assert sums == {row["InvoiceNumber"]: Decimal(row["Subtotal"]) for row in summary}


def test_legacy_keeps_todays_files_and_same_seed_same_bytes(tmp_path):
    def fingerprint(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert main(["generate", "--out", str(tmp_path / "cli"), "--period", PERIOD, "--commerce", "legacy"]) == 0
    (library,) = generate(
        tmp_path / "library", BillingPeriod.parse(PERIOD)
    )  # the library's default is the legacy layout
    assert fingerprint(tmp_path / "cli" / PERIOD) == fingerprint(library.directory)
    assert all(name.startswith("D0") or name == "invoice_summary.csv" for name in fingerprint(library.directory))
    for run in ("a", "b"):
        assert main(["generate", "--out", str(tmp_path / run), "--period", PERIOD, "--seed", "9"]) == 0
    assert fingerprint(tmp_path / "a" / PERIOD) == fingerprint(tmp_path / "b" / PERIOD)
