"""Azure detail from the daily rated usage file: marts.azure_daily_usage shares each invoiced
Azure plan line over its daily rows to the cent, the invoice's Azure lines follow the
customer's azure_grouping, and each customer gets a usage detail attachment (CSV, XLSX)
whose total is its invoice's Azure lines.

Raw rows go straight into raw.nce_recon, raw.invoice_summary and raw.daily_usage (the ingest's
tables) and dbt runs as the transform asset runs it. Every expected figure below is worked out
by hand in the comments, from the rows and the pricing rules of this file.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.azure_rows import daily_row
from tests.dbt_warehouse import dbt, dicts, insert_rows, new_warehouse
from tests.nce_rows import nce_row

PERIOD = "2026-10"
MONTH = date(2026, 10, 1)
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
        customer_id=customer, customer_name=name, invoice_number=INVOICE, reseller_mpn_id="0", product_id=product, sku_id=sku,
        availability_id="DZH318Z0B5DK", sku_name=product_name, product_name=product_name, charge_type="new",
        unit_price=Decimal("1"), quantity=Decimal("1"), subtotal=Decimal(subtotal), tax_total=Decimal(0), total=Decimal(subtotal),
        currency="EUR", publisher_name="Microsoft", subscription_description="Azure plan", subscription_id=f"plan-{customer[:8]}",
        charge_start_date=_day(1), charge_end_date=_day(31), effective_unit_price=Decimal("1"), billable_quantity=Decimal("1"),
        billing_frequency="Monthly", pricing_currency="EUR", pc_to_bc_exchange_rate=Decimal(1),
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
        daily_row(**contoso, entitlement=PROD, day=_day(1), cost="25.000000000", entitlement_description="Prod",
                  resource_group="rg-web", resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws1"),
        daily_row(**contoso, entitlement=PROD, day=_day(1), cost="15.000000000", entitlement_description="Prod",
                  resource_group="rg-web", resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws2"),
        daily_row(**contoso, entitlement=PROD, day=_day(2), cost="20.330000000", entitlement_description="Prod",
                  resource_group="rg-web", resource_uri=f"/subscriptions/{PROD}/resourceGroups/rg-web/providers/x/ws1"),
        # ... and a line without ResourceGroup: the group is read from its ResourceURI.
        daily_row(**contoso, entitlement=DEV, day=_day(1), cost="21.000000000", entitlement_description="Dev",
                  resource_group="", resource_uri=f"/subscriptions/{DEV}/resourceGroups/RG-Dev/providers/Microsoft.Compute/virtualMachines/vm1"),
        # Contoso Storage, 0.84 of cost in three equal days.
        *(daily_row(**contoso, entitlement=PROD, day=_day(day), cost="0.280000000", entitlement_description="Prod",
                    resource_group="rg-web", **STORAGE) for day in (1, 2, 3)),
        # A billed daily line no recon line carries: kept, not billed.
        daily_row(**contoso, entitlement=PROD, day=_day(4), cost="5.000000000", entitlement_description="Prod",
                  product_id="DZH318Z0XXXX", sku_id="0009", product_name="Unknown meter"),
        # Café Virtual Machines, 100.00 of cost: rg-a 50 + 30, rg-b 20.
        daily_row(**cafe, day=_day(1), cost="50.00", resource_group="rg-a"),
        daily_row(**cafe, day=_day(2), cost="30.00", resource_group="rg-a"),
        daily_row(**cafe, day=_day(1), cost="20.00", resource_group="rg-b"),
        # Dupont Log Analytics, 60.00 of cost by cost centre tag (its key in any case), one hostile name.
        daily_row(**dupont, day=_day(1), cost="30.00", tags='{"CostCenter": "CC-1", "env": "prod"}', resource_group=HOSTILE),
        daily_row(**dupont, day=_day(1), cost="20.00", tags='{"costcenter": "CC-2"}', entitlement_description=HOSTILE),
        daily_row(**dupont, day=_day(2), cost="10.00"),
    ]


@pytest.fixture(scope="module")
def azure_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("azure")
    warehouse = new_warehouse(data_dir)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM config.pricing_rules")
        for rule in RULES:
            con.execute("INSERT INTO config.pricing_rules (pricing_rule_id, customer_id, source, priority, basis, rate) VALUES (?, ?, ?, ?, ?, ?)", list(rule))
        con.execute("DELETE FROM config.partner_service_charges")
    subtotal = sum(Decimal(row["subtotal"]) for row in RECON)
    insert_rows(warehouse, "raw.nce_recon", PERIOD, RECON, "nce_recon_2026-10.csv")
    insert_rows(
        warehouse, "raw.invoice_summary", PERIOD,
        [{"invoice_number": INVOICE, "invoice_date": datetime(2026, 11, 8), "billing_period_start": _day(1),
          "billing_period_end": _day(31), "currency": "EUR", "charges": subtotal, "credits": Decimal(0), "subtotal": subtotal,
          "tax": Decimal(0), "total": subtotal}],
        "invoice_summary_2026-10.csv",
    )  # fmt: skip
    insert_rows(warehouse, "raw.daily_usage", PERIOD, _daily(), "daily_usage_2026-10.csv")
    dbt(data_dir, [PERIOD], "build")
    return data_dir


def test_debug(azure_month):
    rows = dicts(azure_month / "warehouse.duckdb", "SELECT customer_id, line_status, entitlement_id, resource_group, usage_date, product_id, cost_pretax, billed_pretax, invoice_group, usage_lines FROM marts.azure_daily_usage ORDER BY ALL")
    for row in rows:
        print(row)
    assert False
