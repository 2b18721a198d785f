"""FOCUS files of a generated new-commerce month: validated, and tied to the invoices.

A small NCE month is generated (`csp-recon generate`), ingested and transformed with dbt; its
customers get complete billing profiles (written into config.customers here), one invoice is
issued (a row of billing.issued_invoices, as `csp-recon issue` records it) and the month
close's `marts.billing_periods` is a fixture table of its contract's columns. Expected figures
come from the generated files (Decimal, read here) and from the invoice module's own sums, not
from the FOCUS code. The month has its daily rated usage files, so its Azure plan usage is at
the daily grain on the cost side; the same month without them (a second warehouse) keeps its
recon Azure lines. Every file is checked and validated as CSV and as Parquet.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.cli import main
from pipelines.config import SAMPLE_DIR, load_config
from pipelines.focus.checks import FocusCheckError, InvoiceTotal, check_file
from pipelines.focus.datasets import COST_AND_USAGE_NOT_NULL, COST_AND_USAGE_REQUIRED, INTERNAL_COLUMNS
from pipelines.focus.export import export_month
from pipelines.focus.validation import run_focus_validator
from pipelines.ingest.month import load_month
from pipelines.invoicing.issuing import ISSUED_TABLE, ensure_tables
from pipelines.invoicing.source import load_month as load_invoices
from pipelines.periods import BillingPeriod
from pipelines.publishing.warehouse_copy import PUBLISHED_SCHEMAS
from pipelines.settings import DataPaths
from tests.dbt_warehouse import dbt, new_warehouse

PERIOD = "2026-10"
MONTH = date(2026, 10, 1)
GENERATE = [
    "--period",
    PERIOD,
    "--customers",
    "4",
    "--license-rows",
    "12",
    "--usage-rows",
    "24",
    "--currencies",
    "EUR,USD",
    "--seed",
    "5",
]
VAT = Decimal("0.20")
ISSUED_NUMBER = "FA-000001"
ISSUE_DATE, DUE_DATE = date(2026, 11, 3), date(2026, 12, 3)  # payment terms of the sample partner: 30 days
PARTNER = load_config(SAMPLE_DIR).partner
CUSTOMER_KEY = ("InvoiceIssuerName", "BillingAccountId", "BillingCurrency")
FORMATS = (".csv", ".parquet")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


def _landed(data_dir: Path, pattern: str) -> dict[str, dict[str, str]]:
    """The month's landed files of one kind, by `<file name>:<line>` (the header is line 1)."""
    found = {}
    for path in sorted((data_dir / "landing" / PERIOD).glob(pattern)):
        for line, row in enumerate(_rows(path), start=2):
            found[f"{path.name}:{line}"] = row
    return found


def _us_date(text: str) -> date:
    month_, day, year = (int(part) for part in text.split(" ")[0].split("/"))
    return date(year, month_, day)


def _azure_group(row: dict[str, str]) -> tuple[str, ...]:
    """The Azure plan group a recon or daily line belongs to."""
    return tuple(row[c].upper() for c in ("InvoiceNumber", "CustomerId", "SubscriptionId", "ProductId", "SkuId"))


def _bill_generated_customers(warehouse: Path) -> list[tuple[str, str]]:
    """Every generated customer gets a complete French billing profile at 20 % VAT."""
    with duckdb.connect(str(warehouse)) as con:
        found = con.execute(
            "SELECT DISTINCT lower(customer_id), upper(currency) FROM raw.nce_recon ORDER BY 1"
        ).fetchall()
        for number, (customer, currency) in enumerate(found, start=100):
            con.execute(
                "INSERT INTO config.customers (customer_id, billing_name, address_line1, postal_code, city, country, vat_id, "
                "tax_treatment, vat_rate, language, currency, invoice_grouping, tax_exempt, billing_profile_problems, source_line) "
                "VALUES (?, ?, '1 rue de la Paix', '75002', 'Paris', 'FR', NULL, 'domestic', ?, 'fr', ?, 'product', false, NULL, ?)",
                [customer, f"=Client {number}", VAT, currency, number],  # a name a spreadsheet would take for a formula
            )
    return found


def _issue_first_invoice(warehouse: Path, customer: str, currency: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        ensure_tables(con)
        pretax, tax, total = con.execute(
            "SELECT billed_pretax, customer_tax, billed_total FROM marts.customer_monthly WHERE billing_period = ? AND customer_id = ? AND currency = ?",
            [MONTH, customer, currency],
        ).fetchone()
        con.execute(
            f"INSERT INTO {ISSUED_TABLE} VALUES ('FA', 1, ?, ?, ?, 'Client', ?, ?, ?, ?, ?, ?, 'invoice', NULL, NULL, NULL)",
            [ISSUED_NUMBER, MONTH, customer, currency, ISSUE_DATE, DUE_DATE, pretax, tax, total],
        )


def _billing_periods_fixture(warehouse: Path) -> None:
    """The month close's table, exactly its contract's columns (built in parallel by that work)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE marts.billing_periods (billing_period_start DATE, billing_period_end DATE, billing_period_status VARCHAR, "
            "x_status VARCHAR, created_at TIMESTAMP, last_updated_at TIMESTAMP, invoice_issuer_name VARCHAR)"
        )
        con.execute(
            "INSERT INTO marts.billing_periods VALUES (?, ?, 'Open', 'approved', ?, ?, ?), (?, ?, 'Closed', 'closed', ?, ?, ?)",
            [MONTH, date(2026, 11, 1), datetime(2026, 11, 2, 8, 0), datetime(2026, 11, 3, 9, 30), PARTNER.legal_name,
             date(2026, 9, 1), MONTH, datetime(2026, 10, 2, 8, 0), datetime(2026, 10, 5, 9, 0), PARTNER.legal_name],
        )  # fmt: skip


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("focus")
    warehouse = new_warehouse(data_dir)
    assert main(["generate", "--out", str(data_dir / "landing"), *GENERATE]) == 0
    with duckdb.connect(str(warehouse)) as con:
        load_month(con, DataPaths(data_dir), BillingPeriod.parse(PERIOD))
    customers = _bill_generated_customers(warehouse)
    dbt(data_dir, [PERIOD], "run", "--select", "+cost_and_usage_from_microsoft", "+cost_and_usage_to_customers")
    issued_customer, issued_currency = customers[0]
    _issue_first_invoice(warehouse, issued_customer, issued_currency)
    _billing_periods_fixture(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exported = export_month(con, DataPaths(data_dir), BillingPeriod.parse(PERIOD), PARTNER)
        invoices = load_invoices(con, BillingPeriod.parse(PERIOD), PARTNER)
    folder = exported.folder
    # Two hand-made breaches of a customer's file, for the validator and the checks.
    own = folder / "customers" / issued_customer / "cost_and_usage.csv"
    breaches = data_dir / "breaches"
    breaches.mkdir()
    with own.open(encoding="utf-8", newline="") as source:
        table = list(csv.reader(source))
    billed = table[0].index("BilledCost")
    with (breaches / "missing_billed_cost.csv").open("w", encoding="utf-8", newline="") as target:
        csv.writer(target).writerows([cell for i, cell in enumerate(row) if i != billed] for row in table)
    inclusive = breaches / "inclusive_end.csv"
    shutil.copyfile(own, inclusive)
    inclusive.write_text(
        inclusive.read_text(encoding="utf-8").replace(
            "2026-11-01T00:00:00Z,2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z,2026-10-01T00:00:00Z", 1
        ),
        encoding="utf-8",
    )
    # The same two breaches of its Parquet file: the column dropped, the first row's end inclusive.
    own_parquet = own.with_suffix(".parquet")
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * EXCLUDE (\"BilledCost\") FROM read_parquet('{own_parquet}')) "
            f"TO '{breaches / 'missing_billed_cost.parquet'}' (FORMAT parquet)"
        )
        con.execute(
            f'COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN "BillingPeriodEnd" - INTERVAL 1 DAY '
            f'ELSE "BillingPeriodEnd" END AS "BillingPeriodEnd") FROM read_parquet(\'{own_parquet}\')) '
            f"TO '{breaches / 'inclusive_end.parquet'}' (FORMAT parquet)"
        )
    reports = run_focus_validator(
        [
            folder / f"{stem}{suffix}"
            for stem in ("cost_and_usage_microsoft", "cost_and_usage_customers")
            for suffix in FORMATS
        ]
        + [own, own_parquet, breaches / "missing_billed_cost.csv", breaches / "missing_billed_cost.parquet"]
    )
    return {
        "data_dir": data_dir,
        "folder": folder,
        "exported": exported,
        "customers": customers,
        "issued": (issued_customer, issued_currency),
        "invoices": invoices,
        "validator": {
            report.file.name if report.file.parent.name != issued_customer else f"own{report.file.suffix}": report
            for report in reports
        },
        "breaches": breaches,
    }


@pytest.fixture(scope="module")
def month_without_daily(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same generated month, its daily rated usage files removed before the ingest."""
    data_dir = tmp_path_factory.mktemp("focus-no-daily")
    warehouse = new_warehouse(data_dir)
    assert main(["generate", "--out", str(data_dir / "landing"), *GENERATE]) == 0
    for path in (data_dir / "landing" / PERIOD).glob("*_DailyRatedUsage.csv"):
        path.unlink()
    with duckdb.connect(str(warehouse)) as con:
        load_month(con, DataPaths(data_dir), BillingPeriod.parse(PERIOD))
    dbt(data_dir, [PERIOD], "run", "--select", "+cost_and_usage_from_microsoft", "+cost_and_usage_to_customers")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        folder = export_month(con, DataPaths(data_dir), BillingPeriod.parse(PERIOD), PARTNER).folder
    validator = run_focus_validator([folder / f"cost_and_usage_microsoft{suffix}" for suffix in FORMATS])
    return {"data_dir": data_dir, "folder": folder, "validator": validator}


@pytest.mark.parametrize("suffix", FORMATS)
def test_both_datasets_pass_focus_validator_and_the_project_checks(month, suffix):
    validator = month["validator"]
    for name in (f"cost_and_usage_microsoft{suffix}", f"cost_and_usage_customers{suffix}", f"own{suffix}"):
        assert validator[name].passed, validator[name].sentences()
        assert len(validator[name].checks) == 133  # the whole 1.0 rule set ran, none skipped
    folder = month["folder"]
    assert (
        check_file(folder / f"cost_and_usage_microsoft{suffix}", COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL) == []
    )
    for customer, _ in month["customers"]:
        assert (
            check_file(
                folder / "customers" / customer / f"cost_and_usage{suffix}",
                COST_AND_USAGE_REQUIRED,
                COST_AND_USAGE_NOT_NULL,
            )
            == []
        )


@pytest.mark.parametrize("suffix", FORMATS)
def test_the_project_checks_tie_each_format_to_the_invoices(month, suffix):
    """The figures come from the invoice summary Microsoft sent and from the invoice module; a
    cent off in either is named, for the Parquet file as for the CSV."""
    summary = _rows(month["data_dir"] / "landing" / PERIOD / "invoice_summary.csv")
    cost = {("Microsoft", r["InvoiceNumber"]): InvoiceTotal(Decimal(r["Subtotal"]), Decimal(r["Tax"])) for r in summary}
    sell = {
        (PARTNER.legal_name, customer.customer_id, invoice.currency): InvoiceTotal(
            invoice.billed_pretax, invoice.customer_tax
        )
        for customer in month["invoices"].customers
        for invoice in customer.invoices
    }
    folder = month["folder"]
    microsoft = folder / f"cost_and_usage_microsoft{suffix}"
    customers = folder / f"cost_and_usage_customers{suffix}"
    assert check_file(microsoft, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, cost) == []
    assert check_file(customers, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, sell, key_columns=CUSTOMER_KEY) == []
    for (_, customer, currency), total in sell.items():
        own = {(PARTNER.legal_name, customer, currency): total}
        path = folder / "customers" / customer / f"cost_and_usage{suffix}"
        assert check_file(path, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, own, key_columns=CUSTOMER_KEY) == []
    (issuer, invoice), total = sorted(cost.items())[0]
    off = {(issuer, invoice): InvoiceTotal(total.pretax + Decimal("0.01"), total.tax)}
    assert check_file(microsoft, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, off) == [
        f"{microsoft.name}: the BilledCost of invoice {invoice} of Microsoft (tax rows apart) adds up to "
        f"{total.pretax.quantize(Decimal('0.000001'))}, but the invoice bills {total.pretax + Decimal('0.01')} before tax."
    ]


def test_cost_side_billed_cost_per_invoice_is_the_g_invoice_subtotal(month):
    summary = _rows(month["data_dir"] / "landing" / PERIOD / "invoice_summary.csv")
    expected = {row["InvoiceNumber"]: (Decimal(row["Subtotal"]), Decimal(row["Tax"])) for row in summary}
    pretax, tax = defaultdict(Decimal), defaultdict(Decimal)
    for row in _rows(month["folder"] / "cost_and_usage_microsoft.csv"):
        assert row["InvoiceIssuerName"] == "Microsoft"
        (tax if row["ChargeCategory"] == "Tax" else pretax)[row["InvoiceId"]] += Decimal(row["BilledCost"])
    assert len(expected) == 2 and set(pretax) == set(expected)
    for invoice, (subtotal, invoice_tax) in expected.items():
        assert pretax[invoice] == subtotal
        assert tax[invoice] == invoice_tax


def test_each_customers_billed_cost_is_its_invoice_pretax_total(month):
    invoices = {
        (customer.customer_id, invoice.currency): invoice
        for customer in month["invoices"].customers
        for invoice in customer.invoices
    }
    # The generated customers, and the sample configuration's customers billed only services.
    assert set(month["customers"]) < set(invoices)
    assert set(month["exported"].customers) == {customer for customer, _ in invoices}
    for (customer, currency), invoice in invoices.items():
        rows = _rows(month["folder"] / "customers" / customer / "cost_and_usage.csv")
        pretax = sum((Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] != "Tax"), Decimal(0))
        tax = sum((Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Tax"), Decimal(0))
        assert pretax == invoice.billed_pretax == sum((line.amount for line in invoice.lines), Decimal(0))
        assert tax == invoice.customer_tax
        if (customer, currency) in month["customers"]:
            assert tax == (pretax * VAT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert (
            {r["InvoiceIssuerName"] for r in rows} == {r["ServiceProviderName"] for r in rows} == {PARTNER.legal_name}
        )
        assert {r["BillingCurrency"] for r in rows} == {currency}


def test_customer_files_keep_microsofts_cost_and_the_markup_inside(month):
    folder = month["folder"]
    internal_header = _rows(folder / "cost_and_usage_customers.csv")[0].keys()
    assert set(INTERNAL_COLUMNS) <= set(internal_header)
    customer, _ = month["issued"]
    rows = _rows(folder / "customers" / customer / "cost_and_usage.csv")
    assert not set(INTERNAL_COLUMNS) & set(rows[0])
    header = list(rows[0])
    first_custom = next(i for i, name in enumerate(header) if name.startswith("x_"))
    assert all(name.startswith("x_") for name in header[first_custom:]) and "billing_period" not in header
    assert {r["HostProviderName"] for r in rows if r["x_ChargeSource"] not in ("partner_service", "tax")} <= {
        "Microsoft"
    } | {r["PublisherName"] for r in rows}
    # An untrusted name that reads as a formula is written inert.
    assert {r["BillingAccountName"] for r in rows} == {"'=Client 100"}


def test_money_is_decimal_in_parquet_and_periods_are_utc_with_exclusive_ends(month):
    folder = month["folder"]
    with duckdb.connect() as con:
        types = dict(
            con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
                [str(folder / "cost_and_usage_microsoft.parquet")],
            ).fetchall()
        )
        sums = con.execute(
            'SELECT sum("BilledCost"), count(*) FROM read_parquet(?)',
            [str(folder / "cost_and_usage_microsoft.parquet")],
        ).fetchone()
    assert types["BilledCost"] == "DECIMAL(28,6)" and types["ListCost"] == "DECIMAL(38,12)"
    assert types["BillingPeriodEnd"] == "TIMESTAMP WITH TIME ZONE"
    rows = _rows(folder / "cost_and_usage_microsoft.csv")
    assert sums == (sum(Decimal(r["BilledCost"]) for r in rows), len(rows))
    assert {(r["BillingPeriodStart"], r["BillingPeriodEnd"]) for r in rows} == {
        ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    }
    # Microsoft's inclusive ChargeEndDate (MM/DD/YYYY) + 1 day is the exclusive ChargePeriodEnd;
    # a daily Azure row covers its UsageDate, to the next midnight.
    recon = _landed(month["data_dir"], "*_InvoiceReconciliation.csv")
    daily = _landed(month["data_dir"], "*_DailyRatedUsage.csv")
    checked = 0
    for row in rows:
        if row["x_ChargeSource"] == "tax":
            continue
        key = f"{Path(row['x_SourceFile']).name}:{row['x_SourceLine']}"
        if key in daily:
            start = _us_date(daily[key]["UsageDate"])
            end = start + timedelta(days=1)
        else:
            start, end = (
                _us_date(recon[key]["ChargeStartDate"]),
                _us_date(recon[key]["ChargeEndDate"]) + timedelta(days=1),
            )
        assert (row["ChargePeriodStart"], row["ChargePeriodEnd"]) == (
            start.strftime("%Y-%m-%dT00:00:00Z"),
            end.strftime("%Y-%m-%dT00:00:00Z"),
        )
        checked += 1
    azure_recon = sum(1 for line in recon.values() if line["SubscriptionDescription"] == "Azure plan")
    assert checked == len(recon) - azure_recon + len(daily)


def test_azure_usage_on_the_cost_side_is_at_the_daily_files_grain(month):
    """Each billed daily line (resource, day, meter) is one cost row; per Azure plan group its
    BilledCost adds up to the group's recon lines exactly, though the daily file's own pre-tax
    total does not (Microsoft's daily figures are not cent-exact)."""
    recon = _landed(month["data_dir"], "*_InvoiceReconciliation.csv")
    daily = _landed(month["data_dir"], "*_DailyRatedUsage.csv")
    rows = _rows(month["folder"] / "cost_and_usage_microsoft.csv")
    azure = [row for row in rows if row["x_ChargeSource"] == "azure_plan"]
    assert {f"{Path(r['x_SourceFile']).name}:{r['x_SourceLine']}" for r in azure} == set(daily)
    assert len(azure) == len(daily) > 0
    recon_groups, daily_groups, daily_cost = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for line in recon.values():
        if line["SubscriptionDescription"] == "Azure plan":
            recon_groups[_azure_group(line)] += Decimal(line["Subtotal"])
    for row in azure:
        line = daily[f"{Path(row['x_SourceFile']).name}:{row['x_SourceLine']}"]
        daily_groups[_azure_group(line)] += Decimal(row["BilledCost"])
        daily_cost[_azure_group(line)] += Decimal(line["BillingPreTaxTotal"])
        assert row["ResourceId"] == line["ResourceURI"] and row["RegionName"] == line["ResourceLocation"]
        assert row["RegionId"] == line["ResourceLocation"].lower() and row["SkuMeter"] == line["MeterName"]
        assert row["SubAccountId"] == line["EntitlementId"].lower() and row["ConsumedQuantity"]
        # Tags as a JSON object (Microsoft writes some without their braces).
        tags = line["Tags"] and json.loads(line["Tags"] if line["Tags"].startswith("{") else "{" + line["Tags"] + "}")
        assert (json.loads(row["Tags"]) if row["Tags"] else "") == tags and row["ChargeCategory"] == "Usage"
        assert Decimal(row["BilledCost"]).as_tuple().exponent >= -6 and Decimal(row["BilledCost"]) == Decimal(
            row["BilledCost"]
        ).quantize(Decimal("0.01"))
    assert daily_groups == recon_groups
    assert any(daily_cost[group] != total for group, total in recon_groups.items())  # the cents were re-shared
    # Every other recon line is still there, one row each.
    others = {key for key, line in recon.items() if line["SubscriptionDescription"] != "Azure plan"}
    assert {
        f"{Path(r['x_SourceFile']).name}:{r['x_SourceLine']}"
        for r in rows
        if r["x_ChargeSource"] not in ("tax", "azure_plan")
    } == others


def test_a_month_without_daily_file_keeps_its_recon_azure_lines(month_without_daily):
    """No daily rated usage file: the cost side is one row per recon line, as before, and still
    validates and ties to the invoices."""
    folder, data_dir = month_without_daily["folder"], month_without_daily["data_dir"]
    recon = _landed(data_dir, "*_InvoiceReconciliation.csv")
    rows = _rows(folder / "cost_and_usage_microsoft.csv")
    lines = {f"{Path(r['x_SourceFile']).name}:{r['x_SourceLine']}" for r in rows if r["x_ChargeSource"] != "tax"}
    assert lines == set(recon) and len(rows) == len(recon) + 2
    assert {r["ResourceId"] for r in rows} == {""}
    assert (
        sum(1 for r in rows if r["x_ChargeSource"] == "azure_plan")
        == sum(1 for line in recon.values() if line["SubscriptionDescription"] == "Azure plan")
        > 0
    )
    summary = _rows(data_dir / "landing" / PERIOD / "invoice_summary.csv")
    invoices = {
        ("Microsoft", r["InvoiceNumber"]): InvoiceTotal(Decimal(r["Subtotal"]), Decimal(r["Tax"])) for r in summary
    }
    for suffix in FORMATS:
        path = folder / f"cost_and_usage_microsoft{suffix}"
        assert check_file(path, COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL, invoices) == []
    for report in month_without_daily["validator"]:
        assert report.passed and len(report.checks) == 133, report.sentences()


def test_invoice_detail_lists_the_issued_invoice_with_its_due_date(month):
    customer, currency = month["issued"]
    rows = _rows(month["folder"] / "invoice_detail.csv")
    assert {r["InvoiceId"] for r in rows} == {ISSUED_NUMBER}  # drafts have no number, hence no row
    assert {r["PaymentDueDate"] for r in rows} == {"2026-12-03T00:00:00Z"}
    assert {r["InvoiceIssueDate"] for r in rows} == {"2026-11-03T00:00:00Z"}
    assert {r["PaymentTerms"] for r in rows} == {"Net 30 days"}
    invoice = next(
        i
        for c in month["invoices"].customers
        if c.customer_id == customer
        for i in c.invoices
        if i.currency == currency
    )
    assert sum(Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] != "Tax") == invoice.billed_pretax
    assert [Decimal(r["BilledCost"]) for r in rows if r["ChargeCategory"] == "Tax"] == [invoice.customer_tax]
    own = _rows(month["folder"] / "customers" / customer / "cost_and_usage.csv")
    assert {r["InvoiceId"] for r in own} == {ISSUED_NUMBER} and {r["x_InvoiceStatus"] for r in own} == {"Issued"}
    other, _ = month["customers"][1]
    assert {r["InvoiceId"] for r in _rows(month["folder"] / "customers" / other / "cost_and_usage.csv")} == {""}
    assert _rows(month["folder"] / "customers" / other / "invoice_detail.csv") == []


def test_billing_period_dataset_reads_the_month_close(month):
    rows = _rows(month["folder"] / "billing_period.csv")
    assert rows == [
        {
            "BillingPeriodCreated": "2026-11-02T08:00:00Z",
            "BillingPeriodEnd": "2026-11-01T00:00:00Z",
            "BillingPeriodLastUpdated": "2026-11-03T09:30:00Z",
            "BillingPeriodStart": "2026-10-01T00:00:00Z",
            "BillingPeriodStatus": "Open",
            "InvoiceIssuerName": PARTNER.legal_name,
            "x_Status": "approved",
        }
    ]
    customer, _ = month["issued"]
    assert _rows(month["folder"] / "customers" / customer / "billing_period.csv") == rows


@pytest.mark.parametrize("suffix", FORMATS)
def test_hand_made_breaches_fail_with_a_sentence(month, suffix):
    missing = month["validator"][f"missing_billed_cost{suffix}"]
    assert not missing.passed
    assert any(
        "BilledCost_Required" in sentence and "column BilledCost" in sentence for sentence in missing.sentences()
    )
    said = check_file(
        month["breaches"] / f"missing_billed_cost{suffix}", COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL
    )
    assert said == [f"missing_billed_cost{suffix} lacks the required FOCUS column BilledCost."]
    said = check_file(month["breaches"] / f"inclusive_end{suffix}", COST_AND_USAGE_REQUIRED, COST_AND_USAGE_NOT_NULL)
    assert said == [
        f"inclusive_end{suffix}, row 2: BillingPeriodEnd 2026-10-31T00:00:00Z is not the first instant of the month after "
        "BillingPeriodStart 2026-10-01T00:00:00Z: the billing period's end is exclusive."
    ]


def test_files_that_break_a_rule_are_not_published_and_the_previous_ones_stay(month):
    """Microsoft's invoice says a cent more than its lines: the export refuses, naming the invoice."""
    data_dir, folder = month["data_dir"], month["folder"]
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    invoice = _rows(data_dir / "landing" / PERIOD / "invoice_summary.csv")[0]["InvoiceNumber"]
    warehouse = DataPaths(data_dir).warehouse
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.invoice_summary SET subtotal = subtotal + 0.01 WHERE invoice_number = ?", [invoice])
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con, pytest.raises(FocusCheckError) as refused:
            export_month(con, DataPaths(data_dir), BillingPeriod.parse(PERIOD), PARTNER)
    finally:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("UPDATE raw.invoice_summary SET subtotal = subtotal - 0.01 WHERE invoice_number = ?", [invoice])
    assert f"the BilledCost of invoice {invoice} of Microsoft (tax rows apart) adds up to" in str(refused.value)
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
    assert [path.name for path in folder.parent.iterdir() if path.name.startswith(".focus")] == []


def test_the_monthly_run_writes_the_files_behind_the_gate(definitions):
    graph = definitions.resolve_asset_graph()
    files = dg.AssetKey(["exports", "focus"])
    assert graph.get(files).parent_keys == {
        dg.AssetKey(["focus", "cost_and_usage_from_microsoft"]),
        dg.AssetKey(["focus", "cost_and_usage_to_customers"]),
        dg.AssetKey(["quality", "reconciliation_report"]),
    }
    assert (
        dg.AssetKey(["config", "partner_profile"])
        in graph.get(dg.AssetKey(["focus", "cost_and_usage_to_customers"])).parent_keys
    )
    assert "focus" in PUBLISHED_SCHEMAS
