"""New-commerce lines through dbt: classified, priced and tied out per G-invoice.

Raw rows are Microsoft's published samples (values verbatim) and hand-made lines, written
straight into raw.nce_recon and raw.invoice_summary beside a legacy D-invoice of the same
month (a migration month). Every expected figure is computed here with Decimal from the rows
and the pricing rules of the test, not by the SQL under test.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.quality.reconciliation import invoices_match
from pipelines.defs.quality.warnings import lines_below_cost
from pipelines.periods import BillingPeriod
from pipelines.publishing.warehouse_copy import publish_month
from pipelines.quality.report_data import load_report
from pipelines.quality.report_html import render_report
from pipelines.transform.failures import describe_dbt_failures
from tests.dbt_warehouse import dbt, dicts, insert_rows, new_warehouse, query
from tests.legacy_rows import CONTOSO, IBANEZ, load_legacy_month
from tests.nce_rows import (
    AZURE_PLAN_SAMPLE,
    MICROSOFT_SAMPLE,
    SEAT_SCENARIO,
    USD_TO_EUR,
    azure_plan_rows,
    nce_row,
    seat_scenario_rows,
)

PERIOD, PREVIOUS = "2026-10", "2026-09"
MONTH = date(2026, 10, 1)
BILLING_PERIOD = BillingPeriod.containing(MONTH)
CENT = Decimal("0.01")
ZOE = "42c07649-0f06-4a51-8db5-75433746c84e"  # seeds: Zoë's Café, EUR
DUPONT = "e2ddfd8e-ff1f-4d0d-8617-9528ba85532e"  # seeds: Société Dupont, EUR, 20 % VAT
JPY_CUSTOMER = "5b1f0a2e-4c1d-4e57-9a53-3c6a1d2b7e90"  # not in the seeds: billed under its recon name
G_EUR, G_JPY, D_EUR = "G000000101", "G000000102", "D000000101"

RULES = [
    # id, customer, source, product_pattern, product_id, sku_id, publisher, term, frequency, reseller, priority, basis, rate, unit_price, currency
    ("default", None, None, None, None, None, None, None, None, None, 0, "cost_markup", "10", None, None),
    ("contoso-1", CONTOSO, None, None, None, None, None, None, None, None, 0, "cost_markup", "1", None, None),
    (
        "contoso-azure",
        CONTOSO,
        "azure_plan",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        0,
        "cost_markup",
        "20",
        None,
        None,
    ),
    (
        "ibanez-seats-list",
        IBANEZ,
        "seat",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        0,
        "list_relative",
        "0",
        None,
        None,
    ),
    (
        "backup-list",
        None,
        "marketplace",
        None,
        None,
        None,
        "Contoso Software%",
        None,
        None,
        None,
        0,
        "list_relative",
        "-10",
        None,
        None,
    ),
    (
        "reservations",
        None,
        None,
        None,
        None,
        None,
        None,
        "%Reservation%",
        None,
        None,
        0,
        "cost_markup",
        "5",
        None,
        None,
    ),
    (
        "zoe-e3-fixed",
        ZOE,
        None,
        "Microsoft 365 E3",
        None,
        None,
        None,
        None,
        None,
        None,
        0,
        "fixed_unit_price",
        None,
        "14.00",
        "EUR",
    ),
]
RULE_COLUMNS = (
    "pricing_rule_id, customer_id, source, product_pattern, product_id, sku_id, publisher_pattern, term_pattern, "
    "billing_frequency, reseller_mpn_id, priority, basis, rate, unit_price, currency"
)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _month(day: int, month: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day)


def _line(customer: str, name: str, invoice: str, **values) -> dict:
    base = dict(
        customer_id=customer,
        customer_name=name,
        invoice_number=invoice,
        reseller_mpn_id="0",
        currency="EUR",
        tax_total=Decimal(0),
        publisher_name="Microsoft Corporation",
        pricing_currency="EUR",
        pc_to_bc_exchange_rate=Decimal(1),
        charge_start_date=_month(1),
        charge_end_date=_month(31),
        billing_frequency="Monthly",
        subscription_id=f"sub-{customer[:8]}-{values.get('product_id', 'x')}",
    )
    base.update(values)
    base["total"] = base["subtotal"] + base["tax_total"]
    return nce_row(**base)


def eur_lines() -> list[dict]:
    """The EUR G-invoice: Azure plan (upper-case customer GUID), seats, Marketplace, a
    reservation, a customer credit, an annual renewal and an 11-day prorated charge with its
    refund."""
    lines = azure_plan_rows(CONTOSO.upper(), "Contoso Ltd.", G_EUR, _month(1), _month(31))
    lines += seat_scenario_rows(IBANEZ, "Ibáñez y Peña, S.L.", G_EUR)
    lines += [
        _line(
            IBANEZ,
            "Ibáñez y Peña, S.L.",
            G_EUR,
            product_id="9NBLCD1SDP3C",
            sku_id="0001",
            product_name="Contoso Backup",
            sku_name="Contoso Backup",
            publisher_name="Contoso Software Ltd",
            publisher_id="30000000",
            term_and_billing_cycle="One-Month commitment for monthly billing",
            charge_type="new",
            unit_price=Decimal(50),
            effective_unit_price=Decimal(50),
            quantity=Decimal(2),
            billable_quantity=Decimal(2),
            pricing_currency="USD",
            pc_to_bc_exchange_rate=USD_TO_EUR,
            subtotal=Decimal("84.62"),
            reseller_mpn_id="4649221",
        ),
        _line(
            IBANEZ,
            "Ibáñez y Peña, S.L.",
            G_EUR,
            product_id="DZH318Z0BQ3Q",
            sku_id="0012",
            product_name="Reserved VM Instance, Standard_D2s_v3, EU West, 1 Year",
            sku_name="Standard_D2s_v3",
            term_and_billing_cycle="One-Year Reservation",
            charge_type="cycleCharge",
            unit_price=Decimal("70.08"),
            effective_unit_price=Decimal("70.08"),
            quantity=Decimal(1),
            billable_quantity=Decimal(1),
            pricing_currency="USD",
            pc_to_bc_exchange_rate=USD_TO_EUR,
            subtotal=Decimal("59.30"),
            reservation_order_id="RIOderId-3f1a",
            reseller_mpn_id="4649221",
        ),
        _line(
            CONTOSO,
            "Contoso Ltd.",
            G_EUR,
            product_id="DZH318Z0BQD2",
            sku_id="003J",
            product_name="Log Analytics",
            subscription_description="Azure plan",
            charge_type="customerCredit",
            credit_reason_code="Azure Credit Offer",
            unit_price=Decimal(0),
            effective_unit_price=Decimal(0),
            quantity=Decimal(1),
            billable_quantity=Decimal(1),
            subtotal=Decimal("-10.00"),
        ),
        _line(
            ZOE,
            "Zoë's Café",
            G_EUR,
            product_id="CFQ7TTC0LFLZ",
            sku_id="0002",
            product_name="Microsoft 365 E3",
            sku_name="Microsoft 365 E3",
            term_and_billing_cycle="One-Year commitment for yearly billing",
            charge_type="renew",
            billing_frequency="Annual",
            charge_start_date=_month(1),
            charge_end_date=_month(30, 9, 2027),
            unit_price=Decimal("150.00"),
            effective_unit_price=Decimal("150.00"),
            quantity=Decimal(1),
            billable_quantity=Decimal(1),
            subtotal=Decimal("150.00"),
            subscription_id="zoe-annual",
        ),
    ]
    for charge_type, sign in (("addQuantity", 1), ("removeQuantity", -1)):
        lines.append(
            _line(
                ZOE,
                "Zoë's Café",
                G_EUR,
                product_id="CFQ7TTC0LFLZ",
                sku_id="0002",
                product_name="Microsoft 365 E3",
                sku_name="Microsoft 365 E3",
                term_and_billing_cycle="One-Year commitment for monthly billing",
                charge_type=charge_type,
                charge_start_date=_month(10),
                charge_end_date=_month(20),
                unit_price=Decimal("12.00"),
                effective_unit_price=sign * Decimal("4.40"),
                quantity=Decimal(1),
                billable_quantity=Decimal(1),
                subtotal=sign * Decimal("4.44"),
                subscription_id="zoe-monthly",
                reference_id="7D71C595-4635-40D1-A9E2-B34E63B01764",
            )
        )
    lines.append(
        _line(
            DUPONT,
            "Société Dupont, SA",
            G_EUR,
            product_id="CFQ7TTC0LH0R",
            sku_id="0001",
            product_name="Dynamics 365 Finance",
            term_and_billing_cycle="One-Year commitment for monthly billing",
            charge_type="cycleCharge",
            unit_price=Decimal("500000.00"),
            effective_unit_price=Decimal("500000.00"),
            quantity=Decimal(10),
            billable_quantity=Decimal(10),
            subtotal=Decimal("5000000.00"),
        )
    )
    return lines


def jpy_line(amount: Decimal, invoice: str) -> dict:
    return _line(
        JPY_CUSTOMER,
        "東京商事株式会社",
        invoice,
        currency="JPY",
        pricing_currency="JPY",
        product_id="CFQ7TTC0LH16",
        sku_id="0001",
        product_name="Microsoft 365 E5",
        term_and_billing_cycle="Three-Year commitment for yearly billing",
        charge_type="cycleCharge",
        unit_price=amount,
        effective_unit_price=amount,
        quantity=Decimal(1),
        billable_quantity=Decimal(1),
        subtotal=amount,
    )


def nce_summary(invoice: str, currency: str, lines: list[dict], tax: Decimal, start: datetime) -> dict:
    subtotal = sum(line["subtotal"] for line in lines)
    return {
        "invoice_number": invoice,
        "invoice_date": start.replace(day=8),
        "billing_period_start": start,
        "billing_period_end": start.replace(day=28),
        "currency": currency,
        "charges": sum(line["subtotal"] for line in lines if line["subtotal"] > 0),
        "credits": sum(line["subtotal"] for line in lines if line["subtotal"] < 0),
        "subtotal": subtotal,
        "tax": tax,
        "total": subtotal + tax,
    }


def set_rules(warehouse: Path, rules: list[tuple]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM config.pricing_rules")
        for rule in rules:
            con.execute(
                f"INSERT INTO config.pricing_rules ({RULE_COLUMNS}) VALUES ({', '.join('?' for _ in rule)})", list(rule)
            )


def build(data_dir: Path, period: str, *extra: str, check: bool = True):
    """The month's models and tests with the test's pricing rules (seeds loaded once, first)."""
    return dbt(data_dir, [period], "build", "--exclude", "resource_type:seed", *extra, check=check)


@pytest.fixture(scope="module")
def nce_month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    data_dir = tmp_path_factory.mktemp("nce")
    warehouse = new_warehouse(data_dir)
    dbt(data_dir, [PREVIOUS], "seed")
    set_rules(warehouse, RULES)

    # Last month: the large customers at a fraction of this month's cost.
    september = [jpy_line(Decimal("1000000"), "G000000091")]
    insert_rows(warehouse, "raw.nce_recon", PREVIOUS, september, "nce_recon_2026-09.csv")
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        PREVIOUS,
        [nce_summary("G000000091", "JPY", september, Decimal(0), _month(1, 9))],
        "invoice_summary_2026-09.csv",
    )
    build(data_dir, PREVIOUS)

    eur = eur_lines()
    jpy = [jpy_line(Decimal("2000000000"), G_JPY)]
    insert_rows(warehouse, "raw.nce_recon", PERIOD, eur + jpy, "nce_recon_2026-10.csv")
    insert_rows(warehouse, "raw.nce_recon", PERIOD, [MICROSOFT_SAMPLE], "microsoft_sample_2026-10.csv")
    eur_subtotal = sum(line["subtotal"] for line in eur)
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        PERIOD,
        [
            nce_summary(G_EUR, "EUR", eur, cents(eur_subtotal * Decimal("0.23")), _month(1)),
            nce_summary(G_JPY, "JPY", jpy, Decimal("200000000"), _month(1)),
            # A Partner Center API Invoice document: totalCharges only.
            {
                "invoice_number": "G000773581",
                "invoice_date": datetime(2021, 6, 8),
                "billing_period_start": datetime(2021, 5, 1),
                "billing_period_end": datetime(2021, 5, 31),
                "currency": "USD",
                "total": Decimal("793"),
            },
        ],
        "invoice_summary_2026-10.csv",
    )
    load_legacy_month(warehouse, PERIOD, D_EUR)
    build(data_dir, PERIOD)
    return data_dir, eur


def _charges(warehouse: Path) -> dict[str, dict]:
    rows = dicts(
        warehouse, "SELECT * FROM marts.fct_charges WHERE billing_period = ? ORDER BY source_file, source_line", [MONTH]
    )
    return {f"{row['source_file']}:{row['source_line']}": row for row in rows}


def test_microsoft_sample_row_is_exact_and_priced(nce_month):
    data_dir, _ = nce_month
    row = _charges(data_dir / "warehouse.duckdb")["microsoft_sample_2026-10.csv:2"]
    assert row["source"] == "seat"
    assert (row["product_id"], row["sku_id"], row["availability_id"]) == ("CFQ7TTC0HL8W", "0001", "CFQ7TTC0K59S")
    assert (row["cost_pretax"], row["cost_tax"], row["quantity"]) == (Decimal(720), Decimal(73), Decimal(50))
    assert (row["unit_price"], row["effective_unit_price"]) == (Decimal(16), Decimal("14.4"))
    assert row["reservation_order_id"] == "8fdebb4a-7110-496e-9570-623e4c992797"
    assert row["reference_id"] == "28b535e0-68f4-40b5-84f7-8ed9241eb149"
    assert (row["reseller_mpn_id"], row["billing_frequency"], row["pricing_currency"]) == ("0", "Monthly", "USD")
    assert row["term_and_billing_cycle"] == "One-Year commitment for monthly/yearly billing"
    # A whole cycle (20 May - 19 June, 31 days): the list price is not prorated.
    assert row["list_amount"] == Decimal(16) * 50
    assert (row["pricing_rule_id"], row["billed_pretax"]) == ("default", cents(Decimal(720) * Decimal("1.10")))


def test_sources_follow_the_documented_heuristics(nce_month):
    data_dir, eur = nce_month
    charges = _charges(data_dir / "warehouse.duckdb")
    sources = [charges[f"nce_recon_2026-10.csv:{line}"]["source"] for line in range(2, len(eur) + 2)]
    assert sources == ["azure_plan"] * 2 + ["seat"] * 5 + [
        "marketplace",
        "reservation",
        "credit",
        "seat",
        "seat",
        "seat",
        "seat",
    ]
    legacy = {row["source"] for row in charges.values() if row["invoice_number"] == D_EUR}
    assert legacy == {"license", "usage"}


def test_list_relative_uses_microsofts_list_price_in_billing_currency_prorated(nce_month):
    data_dir, eur = nce_month
    charges = _charges(data_dir / "warehouse.duckdb")
    # Seats (§11.3): UnitPrice x BillableQuantity x charge days / cycle days (cycle 18 June -
    # 17 July: 30 days), signed like the line; the rule bills at list.
    for offset, (_, _, unit_price, start, end, effective, quantity, _, _) in enumerate(SEAT_SCENARIO):
        row = charges[f"nce_recon_2026-10.csv:{4 + offset}"]
        days = (datetime.strptime(end, "%B %d %Y") - datetime.strptime(start, "%B %d %Y")).days + 1
        sign = -1 if Decimal(effective) < 0 else 1
        expected_list = sign * Decimal(unit_price) * Decimal(quantity) * days / 30
        assert row["pricing_rule_id"] == "ibanez-seats-list"
        assert row["billed_pretax"] == cents(expected_list), row["charge_type"]
        assert (row["charge_days"], row["cycle_days"]) == (days, 30)
    # Marketplace priced in USD: UnitPrice x PCToBCExchangeRate x BillableQuantity, 10 % below list.
    marketplace = charges["nce_recon_2026-10.csv:9"]
    list_amount = Decimal(50) * USD_TO_EUR * 2
    assert marketplace["list_amount"] == list_amount
    assert marketplace["unit_price_billing_currency"] == Decimal(50) * USD_TO_EUR
    assert (marketplace["pricing_rule_id"], marketplace["billed_pretax"]) == (
        "backup-list",
        cents(list_amount * Decimal("0.9")),
    )
    assert (marketplace["publisher_name"], marketplace["reseller_mpn_id"]) == ("Contoso Software Ltd", "4649221")


def test_every_targeted_dimension_counts(nce_month):
    data_dir, _ = nce_month
    charges = _charges(data_dir / "warehouse.duckdb")
    azure = [charges[f"nce_recon_2026-10.csv:{line}"] for line in (2, 3)]
    # "customer + Azure plan 20 %" beats "customer 1 %"; the customer id was upper case.
    assert [row["pricing_rule_id"] for row in azure] == ["contoso-azure", "contoso-azure"]
    assert [row["billed_pretax"] for row in azure] == [
        cents(Decimal(sample[6]) * Decimal("1.2")) for sample in AZURE_PLAN_SAMPLE
    ]
    reservation, credit = charges["nce_recon_2026-10.csv:10"], charges["nce_recon_2026-10.csv:11"]
    assert (reservation["pricing_rule_id"], reservation["billed_pretax"]) == (
        "reservations",
        cents(Decimal("59.30") * Decimal("1.05")),
    )
    assert reservation["reservation_order_id"] == "RIOderId-3f1a"
    assert (credit["pricing_rule_id"], credit["billed_pretax"]) == (
        "contoso-1",
        cents(Decimal("-10.00") * Decimal("1.01")),
    )
    assert credit["credit_reason_code"] == "Azure Credit Offer"
    assert {row["pricing_rules_tied"] for row in charges.values()} == {None}


def test_fixed_monthly_prices_follow_the_charges_own_period(nce_month):
    data_dir, _ = nce_month
    charges = _charges(data_dir / "warehouse.duckdb")
    annual, prorated, refund = (charges[f"nce_recon_2026-10.csv:{line}"] for line in (12, 13, 14))
    assert {row["pricing_rule_id"] for row in (annual, prorated, refund)} == {"zoe-e3-fixed"}
    # The annual renewal bills 12 months at 14.00; the 11-day charge 11/30 of a month (its
    # cycle 21 Sep - 20 Oct has 30 days); its refund (same ReferenceId) exactly what it billed.
    assert annual["billed_pretax"] == Decimal("14.00") * 12
    assert prorated["billed_pretax"] == cents(Decimal("14.00") * 11 / 30)
    assert refund["billed_pretax"] == -prorated["billed_pretax"]
    assert refund["reference_id"] == "7d71c595-4635-40d1-a9e2-b34e63b01764"


def test_upper_case_guid_keeps_its_billing_profile(nce_month):
    data_dir, _ = nce_month
    rows = dicts(
        data_dir / "warehouse.duckdb",
        "SELECT * FROM marts.customer_monthly WHERE billing_period = ? AND customer_id = ?",
        [MONTH, CONTOSO],
    )
    assert len(rows) == 1
    contoso = rows[0]
    # The sample partner is French: Contoso (IE, VAT id) is billed under the reverse charge.
    assert contoso["has_billing_profile"] and contoso["tax_exempt"]
    assert contoso["customer_name"] == "Contoso Ltd."
    assert contoso["customer_tax"] == 0 and contoso["billed_total"] == contoso["billed_pretax"]


def test_each_g_invoice_ties_out_and_the_legacy_one_too(nce_month):
    data_dir, eur = nce_month
    warehouse = data_dir / "warehouse.duckdb"
    rows = {
        row["invoice_number"]: row
        for row in dicts(warehouse, "SELECT * FROM marts.invoice_reconciliation WHERE billing_period = ?", [MONTH])
    }
    assert set(rows) == {G_EUR, G_JPY, D_EUR, "G000773581"}
    assert {number: row["status"] for number, row in rows.items()} == dict.fromkeys(rows, "matched")
    g = rows[G_EUR]
    assert g["invoice_kind"] == "nce"
    assert g["recon_pretax"] == sum(line["subtotal"] for line in eur)
    assert g["recon_charges"] == sum(line["subtotal"] for line in eur if line["subtotal"] > 0)
    assert g["recon_credits"] == sum(line["subtotal"] for line in eur if line["subtotal"] < 0)
    assert rows["G000773581"]["invoice_kind"] == "api"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = invoices_match(con, BILLING_PERIOD)
    assert result.passed, result.description


def test_amounts_of_any_size_and_trends_read(nce_month):
    data_dir, _ = nce_month
    warehouse = data_dir / "warehouse.duckdb"
    big = dict(
        query(
            warehouse,
            "SELECT customer_id, cost_pretax FROM marts.customer_monthly WHERE billing_period = ? AND customer_id IN (?, ?)",
            [MONTH, JPY_CUSTOMER, DUPONT],
        )
    )
    assert big == {JPY_CUSTOMER: Decimal("2000000000"), DUPONT: Decimal("5000000.00")}
    trend = query(
        warehouse,
        "SELECT cost_change, cost_change_percent FROM marts.customer_trends WHERE billing_period = ? AND customer_id = ?",
        [MONTH, JPY_CUSTOMER],
    )
    change = Decimal("2000000000") - Decimal("1000000")
    assert trend == [(change, (change * 100 / Decimal("1000000")).quantize(Decimal("0.0001")))]
    # 10^12 with its decimals fits every money column of the marts.
    types = query(
        warehouse,
        """SELECT table_name, column_name, data_type FROM information_schema.columns
                                WHERE table_schema = 'marts' AND data_type LIKE 'DECIMAL%'""",
    )
    for table, column, data_type in types:
        if column == "vat_rate":
            continue
        width, scale = (int(part) for part in data_type[8:-1].split(","))
        assert width - scale >= 13, f"marts.{table}.{column} is {data_type}"


def test_a_month_with_a_customer_of_millions_publishes_and_its_trends_read(nce_month, tmp_path):
    data_dir, _ = nce_month
    published = tmp_path / "published" / "warehouse.duckdb"
    for month in (date.fromisoformat(f"{PREVIOUS}-01"), MONTH):  # trends compare with the month before
        publication = publish_month(
            data_dir / "warehouse.duckdb", published, BillingPeriod.containing(month), "big-amounts"
        )
    assert publication.months == [date.fromisoformat(f"{PREVIOUS}-01"), MONTH]
    with duckdb.connect(str(published), read_only=True) as con:
        costs = dict(
            con.execute(
                "SELECT customer_id, cost_change FROM marts.customer_trends WHERE billing_period = ? AND customer_id IN (?, ?)",
                [MONTH, JPY_CUSTOMER, DUPONT],
            ).fetchall()
        )
    assert costs[JPY_CUSTOMER] == Decimal("2000000000") - Decimal("1000000")
    assert DUPONT in costs


def test_reseller_monthly_rolls_up_per_reseller(nce_month):
    data_dir, eur = nce_month
    rows = dicts(
        data_dir / "warehouse.duckdb",
        "SELECT * FROM marts.reseller_monthly WHERE billing_period = ? AND currency = 'EUR' AND reseller_mpn_id = '4649221'",
        [MONTH],
    )
    indirect = [line for line in eur if line["reseller_mpn_id"] == "4649221"]
    assert len(rows) == 1
    assert rows[0]["cost_pretax"] == sum(line["subtotal"] for line in indirect)
    assert rows[0]["line_count"] == len(indirect) and rows[0]["customer_count"] == 1


def test_lines_below_cost_are_listed(nce_month):
    data_dir, _ = nce_month
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        result = lines_below_cost(con, BILLING_PERIOD)
    # Marketplace 10 % below list is below Microsoft's cost (partner-earned credit aside).
    assert not result.passed
    assert "Contoso Backup" in result.description and "backup-list" in result.description


def _copy(nce_month, tmp_path: Path) -> tuple[Path, Path]:
    data_dir, _ = nce_month
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy(data_dir / "warehouse.duckdb", copy / "warehouse.duckdb")
    return copy, copy / "warehouse.duckdb"


def test_a_summary_off_by_a_cent_blocks_and_is_drilled_into(nce_month, tmp_path: Path):
    data_dir, warehouse = _copy(nce_month, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE raw.invoice_summary SET subtotal = subtotal + 0.01, charges = charges + 0.01, total = total + 0.01 "
            "WHERE invoice_number = ?",
            [G_EUR],
        )
        # A legacy summary whose Total is not its pre-tax plus tax.
        con.execute("UPDATE raw.invoice_summary SET total = total + 1 WHERE invoice_number = ?", [D_EUR])
    build(data_dir, PERIOD, "--select", "marts")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = invoices_match(con, BILLING_PERIOD)
        report = render_report(load_report(con, BILLING_PERIOD))
    assert not result.passed
    assert f"Invoice {G_EUR} (EUR) does not reconcile" in result.description
    assert "difference -0.01" in result.description and "charges in the files" in result.description
    assert f"Invoice {D_EUR} (EUR) does not reconcile" in result.description
    assert "is not its pre-tax plus tax (off by 1.00)" in result.description
    assert f"Why invoice {G_EUR} does not reconcile" in report
    assert "Per product:" in report and "Contoso Backup" in report and "customerCredit" in report


def test_a_choice_left_to_rule_ids_fails_with_a_sentence(nce_month, tmp_path: Path):
    data_dir, warehouse = _copy(nce_month, tmp_path)
    tied = [
        (
            "backup-monthly",
            None,
            None,
            None,
            None,
            None,
            None,
            "%One-Month%",
            None,
            None,
            0,
            "cost_markup",
            "3",
            None,
            None,
        ),
        (
            "backup-publisher",
            None,
            None,
            None,
            None,
            None,
            "Contoso%",
            None,
            None,
            None,
            0,
            "cost_markup",
            "4",
            None,
            None,
        ),
    ]
    set_rules(warehouse, [rule for rule in RULES if rule[0] != "backup-list"] + tied)
    result = build(data_dir, PERIOD, check=False)
    assert result.returncode != 0
    run_results = json.loads((data_dir / "dbt_target" / "run_results.json").read_text())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        description = describe_dbt_failures(run_results, lambda sql: [row[0] for row in con.execute(sql).fetchall()])
    assert (
        'pricing rules backup-monthly, backup-publisher match marketplace lines of "Contoso Backup"' in description
    ), description


# What earlier versions built: money in DECIMAL(18, x), and none of the columns added since.
OLD_TYPES = {
    "fct_charges": {
        "quantity": 6,
        "cost_pretax": 6,
        "cost_tax": 6,
        "list_amount": 6,
        "billed_pretax": 2,
        "markup_amount": 6,
        "margin": 6,
    },
    "customer_monthly": {
        "license_cost_pretax": 6,
        "usage_cost_pretax": 6,
        "cost_pretax": 6,
        "markup_amount": 6,
        "service_charges": 2,
        "billed_pretax": 2,
        "customer_tax": 2,
        "billed_total": 2,
        "margin": 6,
    },
    "customer_invoice_lines": {"quantity": 6, "unit_price": 4, "amount": 2},
    "invoice_reconciliation": dict.fromkeys(
        (
            "recon_license_pretax",
            "recon_usage_pretax",
            "recon_pretax",
            "other_charges",
            "invoice_license_pretax",
            "invoice_usage_pretax",
            "invoice_pretax",
            "recon_tax",
            "invoice_tax",
            "invoice_total",
            "pretax_difference",
            "tax_difference",
            "total_difference",
        ),
        6,
    ),
}
DROPPED = {
    "fct_charges": (
        "reference_id",
        "charge_days",
        "cycle_days",
        "months_per_cycle",
        "pricing_rules_tied",
        "is_prior_period_correction",
        "original_billing_period",
    ),
    "customer_monthly": ("credit_cost_pretax",),
}
SCHEMA_SQL = "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' ORDER BY 1, ordinal_position"


def _kept_rows(warehouse: Path, table: str, period: date) -> list[tuple]:
    dropped = DROPPED.get(table)
    columns = f"* EXCLUDE ({', '.join(dropped)})" if dropped else "*"
    return sorted(query(warehouse, f"SELECT {columns} FROM marts.{table} WHERE billing_period = ?", [period]), key=repr)


def test_marts_built_with_the_old_widths_are_widened_losslessly(nce_month, tmp_path: Path):
    data_dir, warehouse = _copy(nce_month, tmp_path)
    september = date(2026, 9, 1)
    fresh_schema = query(warehouse, SCHEMA_SQL)
    before = {table: _kept_rows(warehouse, table, september) for table in OLD_TYPES}
    with duckdb.connect(str(warehouse)) as con:
        for table, columns in OLD_TYPES.items():
            for column, scale in columns.items():
                con.execute(f"ALTER TABLE marts.{table} ALTER COLUMN {column} TYPE DECIMAL(18,{scale})")
        for table, columns in DROPPED.items():
            for column in columns:
                con.execute(f"ALTER TABLE marts.{table} DROP COLUMN {column}")
    assert query(warehouse, SCHEMA_SQL) != fresh_schema
    build(data_dir, PERIOD)
    assert query(warehouse, SCHEMA_SQL) == fresh_schema
    for table, rows in before.items():
        assert _kept_rows(warehouse, table, september) == rows, table
    assert query(
        warehouse,
        "SELECT cost_pretax FROM marts.customer_monthly WHERE billing_period = ? AND customer_id = ?",
        [MONTH, JPY_CUSTOMER],
    ) == [(Decimal("2000000000"),)]
