"""A small warehouse with the marts the invoices are made from, and a config directory.

Figures are chosen here and the expected totals computed here with Decimal, independently of
the invoicing code: charges per customer, VAT as marts.customer_monthly computes it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from pipelines.config import load_config, load_into_warehouse, write_sample_config

PERIOD = "2026-10"
START = "2026-10-01"
MONEY = ["license_cost_pretax", "usage_cost_pretax", "cost_pretax", "markup_amount", "service_charges",
         "billed_pretax", "customer_tax", "billed_total", "margin"]  # fmt: skip
CUSTOMER_COLUMNS = ["customer_id", "billing_name", "address_line1", "address_line2", "postal_code", "city", "country", "vat_id",
                    "tax_treatment", "vat_rate", "exemption_text", "language", "currency", "monthly_usage_budget", "invoice_grouping"]  # fmt: skip


@dataclass(eq=False)
class Customer:
    customer_id: str
    name: str
    currency: str = "EUR"
    country: str = "FR"
    tax_treatment: str = "domestic"
    vat_rate: str = ""
    vat_id: str = ""
    exemption_text: str = ""
    language: str = "en"
    city: str = "Paris"
    in_config: bool = True
    # (product, subscription, start, end, quantity, billed amount)
    charges: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    services: list[tuple[str, str, str]] = field(default_factory=list)  # (description, quantity, unit price)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_totals(customer: Customer) -> dict[str, Decimal]:
    charges = sum((Decimal(c[5]) for c in customer.charges), Decimal(0))
    services = sum((cents(Decimal(q) * Decimal(p)) for _, q, p in customer.services), Decimal(0))
    pretax = charges + services
    rate = Decimal(customer.vat_rate) if customer.tax_treatment == "domestic" and customer.vat_rate else Decimal(0)
    tax = cents(pretax * rate)
    cost = cents(charges * Decimal("0.8"))
    return {
        "license_cost_pretax": cost, "usage_cost_pretax": Decimal(0), "cost_pretax": cost, "markup_amount": charges - cost,
        "service_charges": services, "billed_pretax": pretax, "customer_tax": tax, "billed_total": pretax + tax, "margin": pretax - cost,
    }  # fmt: skip


def write_config(directory: Path, customers: list[Customer]) -> Path:
    """The sample config with its customers replaced by `customers` (those in_config)."""
    write_sample_config(directory)
    with open(directory / "customers.csv", "w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(CUSTOMER_COLUMNS)
        for c in customers:
            if c.in_config:
                writer.writerow([c.customer_id, c.name, "1 Main Street", "", "75001", c.city, c.country, c.vat_id, c.tax_treatment,
                                 c.vat_rate, c.exemption_text, c.language, c.currency, "", "product"])  # fmt: skip
    (directory / "pricing_rules.csv").write_text(
        "pricing_rule_id,priority,basis,rate\ndefault,0,cost_markup,15\n", encoding="utf-8"
    )  # an old-style file: the targeting columns absent load blank
    (directory / "partner_service_charges.csv").write_text(
        "service_charge_id,customer_id,description,quantity,unit_price,currency,valid_from,valid_to\n", encoding="utf-8"
    )
    return directory


def build_warehouse(path: Path, config_dir: Path, customers: list[Customer]) -> dict[str, dict[str, Decimal]]:
    expected = {}
    with duckdb.connect(str(path)) as con:
        load_into_warehouse(con, load_config(config_dir))
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA intermediate")
        con.execute(
            "CREATE TABLE marts.customer_monthly (billing_period DATE, customer_id VARCHAR, currency VARCHAR, customer_name VARCHAR, "
            + ", ".join(f"{column} DECIMAL(18,2)" for column in MONEY)
            + ", line_count INTEGER)"
        )
        con.execute(
            "CREATE TABLE marts.fct_charges (billing_period DATE, customer_id VARCHAR, currency VARCHAR, source VARCHAR, product_name VARCHAR, "
            "subscription_id VARCHAR, charge_start_date TIMESTAMP, charge_end_date TIMESTAMP, quantity DECIMAL(38,18), billed_pretax DECIMAL(18,2))"
        )
        con.execute(
            "CREATE TABLE marts.service_charges_monthly (billing_period DATE, customer_id VARCHAR, currency VARCHAR, "
            "description VARCHAR, quantity DECIMAL(18,4), unit_price DECIMAL(18,6), amount DECIMAL(18,2))"
        )
        for c in customers:
            for product, subscription, start, end, quantity, amount in c.charges:
                con.execute(
                    "INSERT INTO marts.fct_charges VALUES (?, ?, ?, 'license', ?, ?, ?, ?, ?, ?)",
                    [
                        START,
                        c.customer_id,
                        c.currency,
                        product,
                        subscription,
                        start,
                        end,
                        Decimal(quantity),
                        Decimal(amount),
                    ],
                )
            for description, quantity, price in c.services:
                con.execute(
                    "INSERT INTO marts.service_charges_monthly VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        START,
                        c.customer_id,
                        c.currency,
                        description,
                        Decimal(quantity),
                        Decimal(price),
                        cents(Decimal(quantity) * Decimal(price)),
                    ],
                )
            totals = expected_totals(c)
            expected[c.customer_id] = totals
            con.execute(
                f"INSERT INTO marts.customer_monthly VALUES (?, ?, ?, ?, {', '.join('?' for _ in MONEY)}, ?)",
                [START, c.customer_id, c.currency, c.name, *(totals[column] for column in MONEY), len(c.charges)],
            )
        # Another month must not leak into PERIOD's invoices.
        con.execute(
            f"INSERT INTO marts.customer_monthly VALUES ('2026-09-01', 'old', 'EUR', 'Old', {', '.join('1' for _ in MONEY)}, 1)"
        )
    return expected
