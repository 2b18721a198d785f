"""`csp-recon generate`: files in the Partner Center layouts whose invoice summary is their
exact sum. Every figure is recomputed here independently, with Decimal, from the files."""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from pipelines.formats import LEGACY_SUMMARY_HEADER, LICENSE_RECON_COLUMNS, USAGE_RECON_COLUMNS
from pipelines.generate import command, generate
from pipelines.generate.catalog import currency_terms
from pipelines.periods import BillingPeriod

PERIOD = "2026-10"
CURRENCIES = ("EUR", "USD")
LICENSE_ROWS = 150
USAGE_ROWS = 400
CUSTOMERS = 8
CENT = Decimal("0.01")
RATE = Decimal("0.00000001")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INVOICE_NUMBER = re.compile(r"^D0[0-9A-Z]{8}$")
LICENSE_CHARGE_TYPES = {
    "Cycle fee",
    "Renew fee",
    "Prorate fees when purchase",
    "Prorate fees when cancel",
    "Cancel fee",
    "cycle instance prorate",
}


def small_run(out: Path, **options) -> list:
    arguments = dict(
        months=1,
        customers=CUSTOMERS,
        license_rows=LICENSE_ROWS,
        usage_rows=USAGE_ROWS,
        currencies=CURRENCIES,
        seed=7,
    )
    arguments.update(options)
    return generate(out, BillingPeriod.parse(PERIOD), **arguments)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    (generated,) = small_run(tmp_path_factory.mktemp("generated"))
    return generated


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def raw_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def rounded(value: Decimal, step: Decimal = CENT) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def summary_rows(month) -> list[dict[str, str]]:
    return read_rows(month.directory / "invoice_summary.csv")[1]


def test_invoice_summary_is_the_exact_sum_of_the_files(month):
    summary = summary_rows(month)
    assert [row["Currency"] for row in summary] == list(CURRENCIES)
    for row in summary:
        number = row["InvoiceNumber"]
        _, licenses = read_rows(month.directory / f"{number}_LicenseBasedRecon.csv")
        _, usage = read_rows(month.directory / f"{number}_UsageBasedRecon.csv")
        license_charges = sum(Decimal(line["Subtotal"]) for line in licenses)
        usage_charges = sum(Decimal(line["PretaxCharges"]) for line in usage)
        tax = sum(Decimal(line["Tax"]) for line in licenses) + sum(Decimal(line["TaxAmount"]) for line in usage)

        assert row["LicenseCharges"] == f"{license_charges:.2f}"
        assert row["UsageCharges"] == f"{usage_charges:.2f}"
        assert row["OtherCharges"] == "0.00"
        assert row["Tax"] == f"{tax:.2f}"
        assert row["Total"] == f"{license_charges + usage_charges + tax:.2f}"
        assert {line["Currency"] for line in licenses} == {line["Currency"] for line in usage} == {row["Currency"]}


def test_invoice_summary_dates_and_numbers(month):
    summary = summary_rows(month)
    for row in summary:
        assert INVOICE_NUMBER.match(row["InvoiceNumber"])
        assert row["InvoiceDate"] == "2026-11-01"
        assert row["BillingPeriodStart"] == "2026-10-01"
        assert row["BillingPeriodEnd"] == "2026-10-31"
    assert len({row["InvoiceNumber"] for row in summary}) == len(CURRENCIES)


def test_returned_figures_are_those_written(month):
    summary = {row["InvoiceNumber"]: row for row in summary_rows(month)}
    assert month.period.key == PERIOD
    assert [path.name for path in month.files][-1] == "invoice_summary.csv"
    for invoice in month.invoices:
        written = summary[invoice.invoice_number]
        assert Decimal(written["Total"]) == invoice.total
        assert Decimal(written["Tax"]) == invoice.tax
        assert invoice.license_file.name == f"{invoice.invoice_number}_LicenseBasedRecon.csv"
        assert invoice.usage_file.name == f"{invoice.invoice_number}_UsageBasedRecon.csv"
        assert (invoice.license_rows, invoice.usage_rows) == (LICENSE_ROWS, USAGE_ROWS)


def test_headers_are_the_formats_columns(month, tmp_path):
    invoice = month.invoices[0]
    license_header, licenses = read_rows(invoice.license_file)
    usage_header, usage = read_rows(invoice.usage_file)
    summary_header, _ = read_rows(month.directory / "invoice_summary.csv")

    assert license_header == [column.name for column in LICENSE_RECON_COLUMNS if column.required]
    assert len(license_header) == 27
    assert usage_header == [
        column.name for column in USAGE_RECON_COLUMNS if column.required or column.name == "ResellerMpnId"
    ]
    assert summary_header == list(LEGACY_SUMMARY_HEADER)
    assert (len(licenses), len(usage)) == (LICENSE_ROWS, USAGE_ROWS)

    (indirect,) = small_run(tmp_path, indirect=True)
    indirect_header, indirect_rows = read_rows(indirect.invoices[0].license_file)
    assert indirect_header == [column.name for column in LICENSE_RECON_COLUMNS]
    assert indirect_header.index("ResellerMpnId") == indirect_header.index("MpnId") + 1
    resellers = {row["ResellerMpnId"] for row in indirect_rows}
    assert all(value == "-1" or value.isdigit() for value in resellers)


def test_no_cell_is_blank(month):
    for invoice in month.invoices:
        for path in (invoice.license_file, invoice.usage_file):
            _, rows = read_rows(path)
            blank = {name for row in rows for name, value in row.items() if value == ""}
            assert not blank, f"{path.name}: blank {sorted(blank)}"


def test_files_are_utf8_with_bom_and_crlf_quoted_like_the_csv_module(month):
    for path in month.files:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name
        assert data.endswith(b"\r\n")
        assert data.count(b"\n") == data.count(b"\r\n"), path.name
        text = raw_text(path)
        rewritten = io.StringIO(newline="")
        csv.writer(rewritten, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(
            csv.reader(io.StringIO(text, newline=""))
        )
        assert rewritten.getvalue() == text, path.name


def test_same_seed_same_bytes_other_seed_other_files(tmp_path):
    first = small_run(tmp_path / "first")
    second = small_run(tmp_path / "second")
    other = small_run(tmp_path / "other", seed=8)

    def contents(months, root):
        return {path.relative_to(root): path.read_bytes() for month in months for path in month.files}

    assert contents(first, tmp_path / "first") == contents(second, tmp_path / "second")
    first_bytes = contents(first, tmp_path / "first")
    other_bytes = contents(other, tmp_path / "other")
    assert first_bytes.keys() != other_bytes.keys()  # other invoice numbers
    assert sorted(first_bytes.values()) != sorted(other_bytes.values())


def test_license_rows_add_up(month):
    for invoice in month.invoices:
        rate = Decimal(currency_terms(invoice.currency).tax_basis_points) / 10_000
        _, rows = read_rows(invoice.license_file)
        for row in rows:
            unit_price, quantity = Decimal(row["UnitPrice"]), int(row["Quantity"])
            amount, discount = Decimal(row["Amount"]), Decimal(row["TotalOtherDiscount"])
            subtotal, tax = Decimal(row["Subtotal"]), Decimal(row["Tax"])
            assert quantity > 0
            assert amount == rounded(unit_price * quantity)
            assert discount >= 0
            assert subtotal == amount - discount
            assert tax == rounded(subtotal * rate)
            assert Decimal(row["TotalForCustomer"]) == subtotal + tax
            assert row["ChargeType"] in LICENSE_CHARGE_TYPES
            assert row["BillingCycleType"] in {"Monthly", "Annual"}
            assert re.fullmatch(r"\d{18}", row["OrderId"])
            for column in ("PartnerId", "CustomerId", "SubscriptionId", "SyndicationPartnerSubscriptionNumber"):
                assert GUID.match(row[column]), (column, row[column])
            assert row["MpnId"].isdigit()


def test_license_files_have_credits_prorations_and_discounts(month):
    rows = [row for invoice in month.invoices for row in read_rows(invoice.license_file)[1]]
    credits = [row for row in rows if Decimal(row["UnitPrice"]) < 0]
    assert credits and all(int(row["Quantity"]) > 0 and Decimal(row["Subtotal"]) < 0 for row in credits)
    assert {row["ChargeType"] for row in credits} <= {"Prorate fees when cancel", "Cancel fee"}
    prorations = [row for row in rows if row["ChargeType"].lower().startswith(("prorate", "cycle instance"))]
    assert prorations
    for row in prorations:
        start = datetime.strptime(row["ChargeStartDate"], "%m/%d/%Y %H:%M")
        assert start.day > 1  # part of the month only
    assert any(Decimal(row["TotalOtherDiscount"]) > 0 for row in rows)
    assert {row["ChargeType"] for row in rows} >= {"Cycle fee", "Prorate fees when purchase"}


def test_usage_rows_add_up(month):
    charge_types = set()
    for invoice in month.invoices:
        rate = Decimal(currency_terms(invoice.currency).tax_basis_points) / 10_000
        _, rows = read_rows(invoice.usage_file)
        for row in rows:
            consumed, included = Decimal(row["ConsumedQuantity"]), Decimal(row["IncludedQuantity"])
            overage, price = Decimal(row["OverageQuantity"]), Decimal(row["ListPrice"])
            pretax, tax = Decimal(row["PretaxCharges"]), Decimal(row["TaxAmount"])
            post_tax = Decimal(row["PostTaxTotal"])
            assert overage == consumed - included >= 0
            for quantity in (consumed, included, overage, price):
                assert -quantity.as_tuple().exponent <= 6
            assert pretax == rounded(price * overage)
            assert tax == rounded(pretax * rate)
            assert post_tax == pretax + tax
            for column, charges in (("PretaxEffectiveRate", pretax), ("PostTaxEffectiveRate", post_tax)):
                expected = rounded(charges / consumed, RATE) if consumed else Decimal(0)
                assert Decimal(row[column]) == expected
                assert len(row[column].split(".")[1]) == 8
            assert row["InvoiceNumber"] == invoice.invoice_number
            assert int(row["DetailLineItemId"]) >= 1
            assert re.fullmatch(r"\d{18}", row["OrderId"])
            for column in ("PartnerId", "CustomerId", "SubscriptionId", "ResourceGuid"):
                assert GUID.match(row[column]), (column, row[column])
            if row["ChargeType"] == "Cycle discount":
                assert price < 0 and pretax <= 0
            charge_types.add(row["ChargeType"])
    assert charge_types == {"Assess usage fee for current cycle", "Cycle discount"}


def test_usage_looks_like_azure(month):
    rows = [row for invoice in month.invoices for row in read_rows(invoice.usage_file)[1]]
    services = {row["ServiceName"] for row in rows}
    assert {"Virtual Machines", "Storage", "Bandwidth"} <= services
    assert "Data Transfer In (GB)" in {row["ResourceName"] for row in rows}
    assert {"1 Hour", "GB", "10,000 Transactions"} <= {row["Unit"] for row in rows}
    assert {row["Sku"] for row in rows} == {"7UD-00001"}
    assert max(int(row["DetailLineItemId"]) for row in rows) > 1  # tiered meters
    assert any(Decimal(row["IncludedQuantity"]) > 0 for row in rows)
    raw = "".join(raw_text(invoice.usage_file) for invoice in month.invoices)
    assert ',"10,000 Transactions"\r\n' in raw


def test_dates_are_us_format(month):
    for invoice in month.invoices:
        _, licenses = read_rows(invoice.license_file)
        for row in licenses:
            start = datetime.strptime(row["SubscriptionStartDate"], "%m/%d/%Y")
            end = datetime.strptime(row["SubscriptionEndDate"], "%m/%d/%Y")
            assert start < end
            charge_start = datetime.strptime(row["ChargeStartDate"], "%m/%d/%Y %H:%M")
            charge_end = datetime.strptime(row["ChargeEndDate"], "%m/%d/%Y %H:%M")
            assert charge_start < charge_end and charge_start.month == 10 and charge_end.strftime("%H:%M") == "23:59"
            assert not row["ChargeStartDate"].startswith("0") and " 0:00" in row["ChargeStartDate"]
        _, usage = read_rows(invoice.usage_file)
        assert {(row["ChargeStartDate"], row["ChargeEndDate"]) for row in usage} == {
            ("10/1/2026 0:00", "10/31/2026 23:59")
        }


def test_customers_bill_in_one_currency_under_one_name(month):
    currencies_of = defaultdict(set)
    names_of = defaultdict(set)
    in_license, in_usage = set(), set()
    for invoice in month.invoices:
        for row in read_rows(invoice.license_file)[1]:
            currencies_of[row["CustomerId"]].add(row["Currency"])
            names_of[row["CustomerId"]].add(row["CustomerName"])
            in_license.add(row["CustomerId"])
        for row in read_rows(invoice.usage_file)[1]:
            currencies_of[row["CustomerId"]].add(row["Currency"])
            names_of[row["CustomerId"]].add(row["CustomerCompanyName"])
            in_usage.add(row["CustomerId"])
    assert len(currencies_of) == CUSTOMERS
    assert all(len(currencies) == 1 for currencies in currencies_of.values())
    assert all(len(names) == 1 for names in names_of.values())
    assert in_license == in_usage
    names = {name for (name,) in names_of.values()}
    assert {"Société Dupont, SA", "Müller & Söhne GmbH", 'The "Best" Company, Inc.', "Zoë's Café"} <= names
    raw = "".join(raw_text(invoice.license_file) for invoice in month.invoices)
    assert ',"Société Dupont, SA",' in raw
    assert ',"The ""Best"" Company, Inc.",' in raw


def test_months_keep_the_customers_and_vary_the_amounts(tmp_path):
    months = small_run(tmp_path, months=3)
    assert [month.period.key for month in months] == ["2026-10", "2026-11", "2026-12"]
    customers_by_month = []
    for month in months:
        customers = set()
        for invoice in month.invoices:
            customers |= {(row["CustomerId"], row["CustomerCompanyName"]) for row in read_rows(invoice.usage_file)[1]}
        customers_by_month.append(customers)
    assert customers_by_month[0] == customers_by_month[1] == customers_by_month[2]
    totals = [tuple(invoice.total for invoice in month.invoices) for month in months]
    assert len(set(totals)) == 3
    assert len({invoice.invoice_number for month in months for invoice in month.invoices}) == 6
    assert months[1].invoices[0].billing_period_end == date(2026, 11, 30)


def test_refuses_a_month_folder_with_other_files(tmp_path):
    small_run(tmp_path)
    small_run(tmp_path)  # its own files are simply rewritten
    stray = tmp_path / PERIOD / "D0OLDOLD00_UsageBasedRecon.csv"
    stray.write_text("left over")
    with pytest.raises(ValueError, match="D0OLDOLD00_UsageBasedRecon.csv"):
        small_run(tmp_path)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(customers=1), "cannot cover 2 currencies"),
        (dict(currencies=("EUR", "EUR")), "listed twice"),
        (dict(currencies=("euro",)), "not a currency code"),
        (dict(months=0), "at least 1"),
    ],
)
def test_rejects_impossible_arguments(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        small_run(tmp_path, **options)


def test_command_line(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path),
            "--period",
            PERIOD,
            "--months",
            "2",
            "--customers",
            "4",
            "--license-rows",
            "20",
            "--usage-rows",
            "30",
            "--currencies",
            "EUR,GBP",
            "--seed",
            "3",
            "--commerce",
            "legacy",
        ]
    )
    assert command.run(args) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["2026-10", "2026-11"]
    summary = read_rows(tmp_path / "2026-11" / "invoice_summary.csv")[1]
    assert [row["Currency"] for row in summary] == ["EUR", "GBP"]
    assert "Wrote 10 files" in capsys.readouterr().out

    bad = parser.parse_args(["--out", str(tmp_path), "--period", "2026-13"])
    assert command.run(bad) == 2
    assert "YYYY-MM" in capsys.readouterr().err
