"""Months of a small warehouse for the closing tests: the marts invoices are made from, set month
by month (a re-run of a month replaces its rows), with the sample config and chosen customers.

Figures are chosen by the tests; the expected amounts are their own hand arithmetic.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.settings import DataPaths
from tests.invoice_warehouse import MONEY, Customer, build_warehouse, cents, expected_totals, write_config

DOMESTIC_ID = "0a1b2c3d-0000-4000-8000-0000000000a1"
REVERSE_ID = "0a1b2c3d-0000-4000-8000-0000000000b2"


def seats(count: int, period: str, price: str = "22.00") -> tuple[str, str, str, str, str, str]:
    """`count` Business Premium seats for the whole month at `price` each (billed amount = count x price)."""
    start = date.fromisoformat(f"{period}-01")
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    last = date.fromordinal(end.toordinal() - 1)
    return (
        "Microsoft 365 Business Premium",
        "sub-1",
        start.isoformat(),
        last.isoformat(),
        str(count),
        str(cents(Decimal(count) * Decimal(price))),
    )


def customers(domestic_charges: list, reverse_charges: list) -> list[Customer]:
    return [
        Customer(DOMESTIC_ID, "Société Dupont, SA", vat_rate="0.20", language="fr", charges=domestic_charges),
        Customer(
            REVERSE_ID,
            "Contoso Ltd.",
            country="IE",
            tax_treatment="reverse_charge",
            vat_id="IE6388047V",
            charges=reverse_charges,
        ),
    ]


def new_data_dir(root: Path, first: list[Customer], correction_mode: str = "credit_note") -> DataPaths:
    """The sample config (with `correction_mode`) and a warehouse holding only the config and marts tables."""
    paths = DataPaths(root.resolve())
    config = write_config(root / "config", first)
    partner = config / "partner.toml"
    partner.write_text(
        partner.read_text(encoding="utf-8").replace(
            'correction_mode = "credit_note"', f'correction_mode = "{correction_mode}"'
        ),
        encoding="utf-8",
    )
    build_warehouse(paths.warehouse, config, first)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute(
            "DELETE FROM marts.customer_monthly; DELETE FROM marts.fct_charges; DELETE FROM marts.service_charges_monthly"
        )
    return paths


def set_month(paths: DataPaths, period: str, month_customers: list[Customer]) -> None:
    """What a run of `period` leaves in the marts: its rows replaced, other months untouched."""
    start = date.fromisoformat(f"{period}-01")
    with duckdb.connect(str(paths.warehouse)) as con:
        for table in ("customer_monthly", "fct_charges", "service_charges_monthly"):
            con.execute(f"DELETE FROM marts.{table} WHERE billing_period = ?", [start])
        for c in month_customers:
            for product, subscription, charge_start, charge_end, quantity, amount in c.charges:
                con.execute(
                    "INSERT INTO marts.fct_charges VALUES (?, ?, ?, 'seat', ?, ?, ?, ?, ?, ?)",
                    [
                        start,
                        c.customer_id,
                        c.currency,
                        product,
                        subscription,
                        charge_start,
                        charge_end,
                        Decimal(quantity),
                        Decimal(amount),
                    ],
                )
            totals = expected_totals(c)
            con.execute(
                f"INSERT INTO marts.customer_monthly VALUES (?, ?, ?, ?, {', '.join('?' for _ in MONEY)}, ?)",
                [start, c.customer_id, c.currency, c.name, *(totals[column] for column in MONEY), len(c.charges)],
            )
