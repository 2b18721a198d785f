"""Azure detail from the daily rated usage file: marts.azure_daily_usage shares each invoiced
Azure plan line over its daily rows to the cent, the invoice's Azure lines follow the
customer's azure_grouping, and each customer gets a usage detail attachment (CSV, XLSX)
whose total is its invoice's Azure lines.

Raw rows go straight into raw.nce_recon, raw.invoice_summary and raw.daily_usage (the ingest's
tables) and dbt runs as the transform asset runs it. Every expected figure below is worked out
by hand in the comments, from the rows and the pricing rules of this file.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.config import SAMPLE_DIR, load_config
from pipelines.invoicing import load_month, write_month
from pipelines.invoicing.azure_detail import load_usage_details
from pipelines.invoicing.issuing import issue_month
from pipelines.invoicing.safety import is_inert_csv_cell
from pipelines.invoicing.source import assemble_month
from pipelines.periods import BillingPeriod
from pipelines.settings import DataPaths
from tests.azure_rows import daily_row
from tests.dbt_warehouse import dbt, dicts, insert_rows, new_warehouse, query
from tests.nce_rows import nce_row

PERIOD = "2026-10"
MONTH = date(2026, 10, 1)
BILLING_PERIOD = BillingPeriod.parse(PERIOD)
INVOICE = "G000000201"
CONTOSO = "3eb751bd-dd07-411e-97c2-fefcfffa92af"  # sample config: azure_grouping blank = subscription
CAFE = "dedb9bf6-b9cd-4374-9646-2d7555a38231"  # sample config: azure_grouping resource_group
DUPONT = "e2ddfd8e-ff1f-4d0d-8617-9528ba85532e"  # sample config: azure_grouping tag:costcenter, 20 % VAT
PROD, DEV = "11111111-aaaa-4bbb-8ccc-000000000001", "22222222-aaaa-4bbb-8ccc-000000000002"
CAFE_SUB, DUPONT_SUB = "33333333-aaaa-4bbb-8ccc-000000000003", "44444444-aaaa-4bbb-8ccc-000000000004"
HOSTILE = '=HYPERLINK("http://evil.example/x","click")'
RULES = [
    ("default", None, None, 0, "cost_markup", "10"),
    ("contoso-azure", CONTOSO, "azure_plan", 0, "cost_markup", "20"),
]


def _day(day: int) -> datetime:
    return datetime(2026, 10, day)


def _recon(customer: str, name: str, product: str, sku: str, product_name: str, subtotal: str) -> dict:
    return nce_row(
        customer_id=customer,
        customer_name=name,
        invoice_number=INVOICE,
        reseller_mpn_id="0",
        product_id=product,
        sku_id=sku,
        availability_id="DZH318Z0B5DK",
        sku_name=product_name,
        product_name=product_name,
        charge_type="new",
        unit_price=Decimal("1"),
        quantity=Decimal("1"),
        subtotal=Decimal(subtotal),
        tax_total=Decimal(0),
        total=Decimal(subtotal),
        currency="EUR",
        publisher_name="Microsoft",
        subscription_description="Azure plan",
        subscription_id=f"plan-{customer[:8]}",
        charge_start_date=_day(1),
        charge_end_date=_day(31),
        effective_unit_price=Decimal("1"),
        billable_quantity=Decimal("1"),
        billing_frequency="Monthly",
        pricing_currency="EUR",
        pc_to_bc_exchange_rate=Decimal(1),
    )


RECON = [
    # Contoso, +20 %: Log Analytics in two partner-earned-credit segments (0.00 and 81.33, billed
    # 0.00 and 97.596 -> 97.60), Storage 0.84 -> 1.008 -> 1.01.
    _recon(CONTOSO, "Contoso Ltd.", "DZH318Z0BQD2", "003J", "Log Analytics", "0.00"),
    _recon(CONTOSO, "Contoso Ltd.", "DZH318Z0BQD2", "003J", "Log Analytics", "81.33"),
    _recon(CONTOSO, "Contoso Ltd.", "DZH318Z0BQ5S", "0001", "Storage", "0.84"),
    # Café, +10 %: Virtual Machines 100.00 -> 110.00; Bandwidth 5.00 -> 5.50, absent from the daily file.
    _recon(CAFE, "Café São Paulo Ltda.", "DZH318Z0BPVW", "0002", "Virtual Machines", "100.00"),
    _recon(CAFE, "Café São Paulo Ltda.", "DZH318Z0BNZ6", "0001", "Bandwidth", "5.00"),
    # Dupont, +10 %: Log Analytics 60.00 -> 66.00.
    _recon(DUPONT, "Société Dupont, SA", "DZH318Z0BQD2", "003J", "Log Analytics", "60.00"),
]

VM = dict(product_id="DZH318Z0BPVW", sku_id="0002", product_name="Virtual Machines", sku_name="Virtual Machines",
          meter_id="B1B2B3B4-0000-4000-8000-000000000002", meter_name="D2s v3", meter_category="Virtual Machines")  # fmt: skip
STORAGE = dict(product_id="DZH318Z0BQ5S", sku_id="0001", product_name="Storage", sku_name="Storage",
               meter_id="C1C2C3C4-0000-4000-8000-000000000003", meter_name="LRS Data Stored", meter_category="Storage")  # fmt: skip


def _daily() -> list[dict]:
    contoso = dict(customer_id=CONTOSO, customer_name="Contoso Ltd.", invoice=INVOICE)
    cafe = dict(customer_id=CAFE, customer_name="Café São Paulo Ltda.", invoice=INVOICE, entitlement=CAFE_SUB, **VM)
    dupont = dict(customer_id=DUPONT, customer_name=HOSTILE, invoice=INVOICE, entitlement=DUPONT_SUB)
    return [
        # Contoso Log Analytics, 81.33 of cost: two resources of one group and day (25.00 + 15.00) ...
        daily_row(
            **contoso,
            entitlement=PROD,
            day=_day(1),
            cost="25.000000000",
            entitlement_description="Prod",
            resource_group="rg-web",
            resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws1",
        ),
        daily_row(
            **contoso,
            entitlement=PROD,
            day=_day(1),
            cost="15.000000000",
            entitlement_description="Prod",
            resource_group="rg-web",
            resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws2",
        ),
        daily_row(
            **contoso,
            entitlement=PROD,
            day=_day(2),
            cost="20.330000000",
            entitlement_description="Prod",
            resource_group="rg-web",
            resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws1",
        ),
        # ... and a line without ResourceGroup: the group is read from its ResourceURI.
        daily_row(
            **contoso,
            entitlement=DEV,
            day=_day(1),
            cost="21.000000000",
            entitlement_description="Dev",
            resource_group="",
            resource_uri=f"/subscriptions/{DEV}/resourceGroups/RG-Dev/providers/Microsoft.Compute/virtualMachines/vm1",
        ),
        # Contoso Storage, 0.84 of cost in three equal days.
        *(
            daily_row(
                **contoso,
                entitlement=PROD,
                day=_day(day),
                cost="0.280000000",
                entitlement_description="Prod",
                resource_group="rg-web",
                **STORAGE,
            )
            for day in (1, 2, 3)
        ),
        # A billed daily line no recon line carries: kept, not billed.
        daily_row(
            **contoso,
            entitlement=PROD,
            day=_day(4),
            cost="5.000000000",
            entitlement_description="Prod",
            product_id="DZH318Z0XXXX",
            sku_id="0009",
            product_name="Unknown meter",
        ),
        # Café Virtual Machines, 100.00 of cost: rg-a 50 + 30, rg-b 20.
        daily_row(**cafe, day=_day(1), cost="50.00", resource_group="rg-a"),
        daily_row(**cafe, day=_day(2), cost="30.00", resource_group="rg-a"),
        daily_row(**cafe, day=_day(1), cost="20.00", resource_group="rg-b"),
        # Dupont Log Analytics, 60.00 of cost by cost centre tag (its key in any case), one hostile name.
        daily_row(
            **dupont, day=_day(1), cost="30.00", tags='{"CostCenter": "CC-1", "env": "prod"}', resource_group=HOSTILE
        ),
        daily_row(**dupont, day=_day(1), cost="20.00", tags='{"costcenter": "CC-2"}', entitlement_description=HOSTILE),
        daily_row(**dupont, day=_day(2), cost="10.00"),
    ]


def _summary(subtotal: Decimal, start: datetime) -> dict:
    return {"invoice_number": INVOICE if start.month == 10 else "G000000191", "invoice_date": start.replace(day=8),
            "billing_period_start": start, "billing_period_end": start.replace(day=28), "currency": "EUR", "charges": subtotal,
            "credits": Decimal(0), "subtotal": subtotal, "tax": Decimal(0), "total": subtotal}  # fmt: skip


@pytest.fixture(scope="module")
def azure_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("azure")
    warehouse = new_warehouse(data_dir)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM config.pricing_rules")
        for rule in RULES:
            con.execute(
                "INSERT INTO config.pricing_rules (pricing_rule_id, customer_id, source, priority, basis, rate) VALUES (?, ?, ?, ?, ?, ?)",
                list(rule),
            )
        con.execute("DELETE FROM config.partner_service_charges")
    # September: the recon only, no daily file (Contoso Log Analytics 50.00 -> 60.00).
    september = [
        _recon(CONTOSO, "Contoso Ltd.", "DZH318Z0BQD2", "003J", "Log Analytics", "50.00")
        | {"invoice_number": "G000000191"}
    ]
    insert_rows(warehouse, "raw.nce_recon", "2026-09", september, "nce_recon_2026-09.csv")
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        "2026-09",
        [_summary(Decimal("50.00"), datetime(2026, 9, 1))],
        "invoice_summary_2026-09.csv",
    )
    insert_rows(warehouse, "raw.nce_recon", PERIOD, RECON, "nce_recon_2026-10.csv")
    insert_rows(
        warehouse,
        "raw.invoice_summary",
        PERIOD,
        [_summary(sum(row["subtotal"] for row in RECON), _day(1))],
        "invoice_summary_2026-10.csv",
    )
    insert_rows(warehouse, "raw.daily_usage", PERIOD, _daily(), "daily_usage_2026-10.csv")
    # What the invoices read, and the detail's own tests (its sum to the invoice's Azure lines).
    dbt(
        data_dir,
        ["2026-09", PERIOD],
        "build",
        "--select",
        "+azure_daily_usage+",
        "+customer_monthly",
        "+service_charges_monthly",
    )
    return data_dir


@pytest.fixture(scope="module")
def month_invoices(azure_month: Path):
    seller = load_config(SAMPLE_DIR).partner
    with duckdb.connect(str(azure_month / "warehouse.duckdb"), read_only=True) as con:
        return load_month(con, BILLING_PERIOD, seller), load_usage_details(con, BILLING_PERIOD)


def _detail(data_dir: Path, customer: str) -> list[dict]:
    return dicts(
        data_dir / "warehouse.duckdb",
        """SELECT line_status, entitlement_id, resource_group, usage_date, product_id, cost_pretax, billed_pretax, invoice_group, usage_lines
           FROM marts.azure_daily_usage WHERE billing_period = ? AND customer_id = ?
           ORDER BY product_id, usage_date NULLS LAST, entitlement_id, resource_group""",
        [MONTH, customer],
    )


def test_each_azure_line_is_shared_over_its_daily_rows_to_the_cent(azure_month):
    rows = [(r["line_status"], r["entitlement_id"], r["resource_group"], r["usage_date"], r["product_id"], r["billed_pretax"], r["usage_lines"])
            for r in _detail(azure_month, CONTOSO)]  # fmt: skip
    assert rows == [
        # Storage: 1.01 over three equal days is 33.67 cents each: 33 + 33 + 33 = 99, the two
        # cents left go to the equal remainders in date order.
        ("billed", PROD, "rg-web", date(2026, 10, 1), "DZH318Z0BQ5S", Decimal("0.34"), 1),
        ("billed", PROD, "rg-web", date(2026, 10, 2), "DZH318Z0BQ5S", Decimal("0.34"), 1),
        ("billed", PROD, "rg-web", date(2026, 10, 3), "DZH318Z0BQ5S", Decimal("0.33"), 1),
        # Log Analytics: 97.60 in proportion to 40.00 / 20.33 / 21.00 of 81.33: 4800.19, 2439.70,
        # 2520.10 cents; floors 9759, the cent left to the largest remainder (.70). The two
        # resources of 1 October (25.00 + 15.00) are one row; Dev's group is read from ResourceURI.
        ("billed", PROD, "rg-web", date(2026, 10, 1), "DZH318Z0BQD2", Decimal("48.00"), 2),
        ("billed", DEV, "RG-Dev", date(2026, 10, 1), "DZH318Z0BQD2", Decimal("25.20"), 1),
        ("billed", PROD, "rg-web", date(2026, 10, 2), "DZH318Z0BQD2", Decimal("24.40"), 1),
        # The daily line no recon line carries is kept, unpriced.
        ("not_in_recon", PROD, "rg-default", date(2026, 10, 4), "DZH318Z0XXXX", None, 1),
    ]
    cafe = {
        (r["line_status"], r["product_id"]): r["billed_pretax"]
        for r in _detail(azure_month, CAFE)
        if r["line_status"] == "not_itemised"
    }
    assert cafe == {
        ("not_itemised", "DZH318Z0BNZ6"): Decimal("5.50")
    }  # Bandwidth 5.00 + 10 %, absent from the daily file


def test_detail_adds_up_to_each_customers_invoice_azure_lines(azure_month):
    warehouse = azure_month / "warehouse.duckdb"
    detail = dict(
        query(
            warehouse,
            """SELECT customer_id, sum(billed_pretax) FROM marts.azure_daily_usage
                                      WHERE billing_period = ? AND line_status IN ('billed', 'not_itemised') GROUP BY 1""",
            [MONTH],
        )
    )
    invoiced = dict(
        query(
            warehouse,
            """SELECT customer_id, sum(billed_pretax) FROM marts.fct_charges
                                        WHERE billing_period = ? AND source = 'azure_plan' GROUP BY 1""",
            [MONTH],
        )
    )
    # Contoso 97.60 + 1.01; Café 110.00 + 5.50; Dupont 66.00.
    expected = {CONTOSO: Decimal("98.61"), CAFE: Decimal("115.50"), DUPONT: Decimal("66.00")}
    assert detail == expected and invoiced == expected


EXPECTED_LINES = {
    # Contoso, by Azure subscription: Prod 48.00 + 24.40 + 0.34 + 0.34 + 0.33; Dev 25.20.
    CONTOSO: [(f"Azure subscription Dev ({DEV})", Decimal("25.20")), (f"Azure subscription Prod ({PROD})", Decimal("73.41"))],
    # Café, by resource group: rg-a 55.00 + 33.00, rg-b 22.00, Bandwidth not in the daily file.
    CAFE: [("Azure resource group rg-a", Decimal("88.00")), ("Azure resource group rg-b", Decimal("22.00")),
           ("Azure usage not itemised in the daily usage file", Decimal("5.50"))],
    # Dupont, by the costcenter tag (CostCenter and costcenter alike): 30, 20, 10 of cost + 10 %.
    DUPONT: [("Azure tag costcenter: CC-1", Decimal("33.00")), ("Azure tag costcenter: CC-2", Decimal("22.00")),
             ("Azure usage without tag costcenter", Decimal("11.00"))],
}  # fmt: skip


def test_invoice_lines_follow_each_customers_azure_grouping(azure_month, month_invoices):
    warehouse = azure_month / "warehouse.duckdb"
    for customer, expected in EXPECTED_LINES.items():
        mart = query(warehouse, "SELECT line_description, amount FROM marts.customer_invoice_lines WHERE billing_period = ? AND customer_id = ? "
                     "ORDER BY line_number", [MONTH, customer])  # fmt: skip
        assert mart == expected, customer
    month, _ = month_invoices
    printed = {
        c.customer_id: [(line.description, line.amount) for line in c.invoices[0].lines] for c in month.customers
    }
    assert printed == EXPECTED_LINES


def test_grouping_changes_no_total_and_no_vat(azure_month, month_invoices):
    month, _ = month_invoices
    seller = load_config(SAMPLE_DIR).partner
    with duckdb.connect(str(azure_month / "warehouse.duckdb"), read_only=True) as con:
        # The same month as it would read without the daily file: Azure lines per product.
        monthly = dicts(
            azure_month / "warehouse.duckdb", "SELECT * FROM marts.customer_monthly WHERE billing_period = ?", [MONTH]
        )
        charges = dicts(azure_month / "warehouse.duckdb", "SELECT customer_id, currency, source, product_name, subscription_id, "
                        "charge_start_date::DATE AS period_start, charge_end_date::DATE AS period_end, quantity, billed_pretax "
                        "FROM marts.fct_charges WHERE billing_period = ?", [MONTH])  # fmt: skip
        buyers = {
            row[0]: dict(zip([d[0] for d in con.description], row))
            for row in con.execute("SELECT * FROM config.customers").fetchall()
        }
    per_product = assemble_month(BILLING_PERIOD, seller, monthly, charges, [], buyers)
    for grouped, plain in zip(month.customers, per_product.customers, strict=True):
        assert grouped.invoices[0].totals == plain.invoices[0].totals
        assert grouped.invoices[0].vat_totals(grouped.buyer) == plain.invoices[0].vat_totals(plain.buyer)
        assert [line.description for line in grouped.invoices[0].lines] != [
            line.description for line in plain.invoices[0].lines
        ]
    dupont = next(c for c in month.customers if c.customer_id == DUPONT).invoices[0]
    assert (dupont.billed_pretax, dupont.customer_tax, dupont.billed_total) == (
        Decimal("66.00"),
        Decimal("13.20"),
        Decimal("79.20"),
    )


def test_a_month_without_daily_rows_keeps_its_azure_lines_per_product(azure_month):
    september = date(2026, 9, 1)
    assert query(
        azure_month / "warehouse.duckdb",
        "SELECT count(*) FROM marts.azure_daily_usage WHERE billing_period = ?",
        [september],
    ) == [(0,)]
    lines = query(azure_month / "warehouse.duckdb", "SELECT line_description, amount FROM marts.customer_invoice_lines WHERE billing_period = ?",
                  [september])  # fmt: skip
    assert lines == [("Log Analytics (Azure usage)", Decimal("60.00"))]  # 50.00 + 20 %
    with duckdb.connect(str(azure_month / "warehouse.duckdb"), read_only=True) as con:
        month = load_month(con, BillingPeriod.containing(september), load_config(SAMPLE_DIR).partner)
    assert [(line.description, line.amount) for line in month.customers[0].invoices[0].lines] == [
        ("Log Analytics (Azure usage)", Decimal("60.00"))
    ]


def _xlsx_rows(content: bytes) -> list[list[str]]:
    """The first sheet's cells as text, read from the XLSX's XML (shared strings resolved)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        strings = [
            re.sub(r"<[^>]+>", "", item)
            for item in re.findall(r"<si>(.*?)</si>", book.read("xl/sharedStrings.xml").decode())
        ]
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", sheet):
        cells = []
        for attributes, value in re.findall(r"<c ([^>]*?)(?:/>|>(.*?)</c>)", row):
            text = re.sub(r"</?v>", "", value or "")
            cells.append(strings[int(text)] if 't="s"' in attributes else text)
        rows.append(cells)
    return [[_unescape(cell) for cell in row] for row in rows]


def _unescape(text: str) -> str:
    return (
        text.replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


@pytest.fixture(scope="module")
def exported(month_invoices, tmp_path_factory: pytest.TempPathFactory) -> Path:
    month, details = month_invoices
    paths = DataPaths(tmp_path_factory.mktemp("exports"))
    return write_month(month, paths, details).folder


def test_usage_attachments_sit_beside_the_invoices_and_add_up_to_their_azure_lines(exported):
    invoices = exported / "invoices"
    for customer, lines in EXPECTED_LINES.items():
        azure_total = sum(amount for _, amount in lines)
        assert (invoices / f"{customer}.pdf").is_file()
        with open(invoices / f"{customer}-azure-usage.csv", encoding="utf-8-sig", newline="") as source:
            rows = list(csv.DictReader(source))
        assert sum(Decimal(row["amount"]) for row in rows) == azure_total, customer
        assert {row["invoice_line"] for row in rows} == {label for label, _ in lines}
        sheet = _xlsx_rows((invoices / f"{customer}-azure-usage.xlsx").read_bytes())
        header, body = sheet[0], sheet[1:]
        assert header == list(rows[0])
        assert sum(Decimal(row[header.index("amount")]) for row in body) == azure_total, customer
        assert len(body) == len(rows)
        # The customer's prices only: no cost, margin or pricing rule.
        assert not any(word in name for name in header for word in ("cost", "margin", "rule"))
    assert not list(invoices.glob("*index*")) and (exported / "invoice_index.csv").is_file()


def test_hostile_names_in_attachments_are_inert(exported):
    invoices = exported / "invoices"
    with open(invoices / f"{DUPONT}-azure-usage.csv", encoding="utf-8-sig", newline="") as source:
        cells = [cell for row in csv.reader(source) for cell in row]
    assert all(is_inert_csv_cell(cell) for cell in cells)
    # The daily file's customer name on each of the 3 rows, a resource group and a subscription name.
    assert cells.count("'" + HOSTILE) == 5
    sheet = [cell for row in _xlsx_rows((invoices / f"{DUPONT}-azure-usage.xlsx").read_bytes()) for cell in row]
    assert HOSTILE not in sheet and "'" + HOSTILE in sheet
    assert all(not cell.startswith("=") for cell in sheet)


def test_a_wrong_azure_grouping_is_named_by_file_line_and_field(tmp_path: Path):
    from pipelines.config import ConfigError, write_sample_config

    write_sample_config(tmp_path)
    customers = tmp_path / "customers.csv"
    text = customers.read_text(encoding="utf-8")
    assert ",5000.00,product,tag:costcenter\n" in text  # Dupont, line 11
    customers.write_text(
        text.replace(",5000.00,product,tag:costcenter\n", ",5000.00,product,costcenter\n"), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert [str(problem) for problem in error.value.problems] == [
        "customers.csv line 11, azure_grouping: is 'costcenter': write subscription, resource_group or tag: followed by a tag name, e.g. tag:costcenter"
    ]


def test_issued_invoices_carry_their_usage_detail_which_adds_up_to_their_azure_lines(azure_month, tmp_path):
    """Issuing the month files each invoice's detail beside it under the invoice's number: the
    drafts (and their attachments) go once issued, the detail sent with the invoice stays."""
    data_dir = tmp_path / "issued"
    shutil.copytree(azure_month, data_dir)
    result = issue_month(DataPaths(data_dir), BILLING_PERIOD, date(2026, 11, 5))
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        numbers = dict(
            con.execute(
                "SELECT customer_id, invoice_number FROM billing.issued_invoices WHERE document_kind = 'invoice'"
            ).fetchall()
        )
    assert set(EXPECTED_LINES) <= set(numbers) and set(result.issued) == set(numbers.values())
    for customer, lines in EXPECTED_LINES.items():
        number = numbers[customer]
        with open(result.folder / f"{number}-azure-usage.csv", encoding="utf-8-sig", newline="") as source:
            rows = list(csv.DictReader(source))
        assert {row["customer_id"] for row in rows} == {customer}
        assert sum(Decimal(row["amount"]) for row in rows) == sum(amount for _, amount in lines), customer
        sheet = _xlsx_rows((result.folder / f"{number}-azure-usage.xlsx").read_bytes())
        assert len(sheet) == len(rows) + 1
    without_azure = set(numbers) - set(EXPECTED_LINES)
    assert all(not (result.folder / f"{numbers[c]}-azure-usage.csv").exists() for c in without_azure)
