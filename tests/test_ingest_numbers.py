"""Numbers are read as text and kept only when their column's type holds them exactly."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from pipelines.formats import INTEGER, MONEY, RATE, Column
from pipelines.ingest.recon_csv import _value_checks
from pipelines.ingest.schema import ensure_raw_schema

AMOUNT, QUANTITY, RATE_COLUMN = Column("Amount", MONEY), Column("Quantity", INTEGER), Column("Rate", RATE)


def _verdict(column: Column, text: str | None):
    """(problem or None, the value stored when there is none)."""
    case = f"CASE {' '.join(_value_checks(column, column.name, required=False))} END"
    with duckdb.connect() as con:
        (problem,) = con.execute(f"SELECT {case} FROM (SELECT ?::VARCHAR AS {column.sql_name})", [text]).fetchone()
        stored = None if problem else con.execute(f"SELECT CAST(?::VARCHAR AS {column.type})", [text]).fetchone()[0]
    return problem, stored


@pytest.mark.parametrize(
    ("column", "text", "stored"),
    [
        (AMOUNT, "12.50", Decimal("12.50")),
        (AMOUNT, "-0.000001", Decimal("-0.000001")),
        (AMOUNT, "1.2500000000", Decimal("1.25")),  # trailing zeros lose nothing
        (AMOUNT, ".5", Decimal("0.5")),
        (AMOUNT, "+3", Decimal("3")),
        (AMOUNT, " 7.1 ", Decimal("7.1")),
        (AMOUNT, "999999999999.999999", Decimal("999999999999.999999")),
        (RATE_COLUMN, "0.123456789012", Decimal("0.123456789012")),
        (QUANTITY, "2147483647", 2147483647),  # ten digits, still an INTEGER
        (QUANTITY, "3.0", 3),
        (AMOUNT, None, None),
    ],
)
def test_numbers_the_type_holds_exactly_are_kept(column, text, stored):
    assert _verdict(column, text) == (None, stored)


@pytest.mark.parametrize(
    ("column", "text", "reason"),
    [
        (
            AMOUNT,
            "12,50",
            "Amount is '12,50', which is not a number (use a point for decimals and no thousands separators)",
        ),
        (
            AMOUNT,
            "1,234.50",
            "Amount is '1,234.50', which is not a number (use a point for decimals and no thousands separators)",
        ),
        (
            AMOUNT,
            "N/A",
            "Amount is 'N/A', which is not a number (use a point for decimals and no thousands separators)",
        ),
        (AMOUNT, "0.1234567", "Amount is '0.1234567', which has more than 6 decimals and would be rounded"),
        (AMOUNT, "1234567890123456789", "Amount is '1234567890123456789', which is too large for this column"),
        (
            RATE_COLUMN,
            "0.1234567890123",
            "Rate is '0.1234567890123', which has more than 12 decimals and would be rounded",
        ),
        (QUANTITY, "2.5", "Quantity is '2.5', which is not a whole number"),
        (
            QUANTITY,
            "seven",
            "Quantity is 'seven', which is not a whole number (use a point for decimals and no thousands separators)",
        ),
        (QUANTITY, "2147483648", "Quantity is '2147483648', which is too large for this column"),
    ],
)
def test_numbers_the_type_would_change_are_rejected_with_a_reason(column, text, reason):
    problem, _ = _verdict(column, text)
    assert problem == [column.name, reason]


def test_a_warehouse_from_an_earlier_version_is_widened_without_losing_a_value(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(
            "CREATE TABLE raw.usage_recon AS SELECT 1.234567::DECIMAL(18,6) AS overage_quantity, "
            "0.12345678::DECIMAL(18,8) AS pretax_effective_rate, 2.50::DECIMAL(18,6) AS pretax_charges"
        )
        ensure_raw_schema(con)
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'usage_recon' "
                "AND column_name IN ('overage_quantity', 'pretax_effective_rate', 'pretax_charges')"
            ).fetchall()
        )
        values = con.execute(
            "SELECT overage_quantity, pretax_effective_rate, pretax_charges FROM raw.usage_recon"
        ).fetchone()
    assert types == {
        "overage_quantity": "DECIMAL(28,12)",
        "pretax_effective_rate": "DECIMAL(28,12)",
        "pretax_charges": "DECIMAL(24,6)",
    }
    assert values == (Decimal("1.234567"), Decimal("0.12345678"), Decimal("2.50"))
