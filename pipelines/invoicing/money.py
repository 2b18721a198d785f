"""Money and quantities as text, with Decimal only: never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def mart_amount(value: Decimal | None) -> Decimal:
    """A money value of a public mart, NULL as zero. It is DECIMAL by the mart's enforced dbt
    contract (customer_monthly, fct_charges, service_charges_monthly), never DOUBLE."""
    return Decimal(0) if value is None else value


def to_number(value: object) -> Decimal | None:
    """A quantity or rate, which may come as DOUBLE: read through its shortest text form."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def cents(amount: Decimal) -> Decimal:
    """Rounded to the cent, half away from zero, as printed on the invoice."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def plain_amount(amount: Decimal) -> str:
    """`-1234.50`: two decimals, point separator, no grouping (CSV)."""
    return f"{cents(amount):f}"


def display_amount(amount: Decimal) -> str:
    """`-1,234.50`: two decimals with thousands separators (HTML, PDF)."""
    return f"{cents(amount):,.2f}"


def plain_number(value: Decimal | None, min_places: int = 0) -> str:
    """A quantity or unit price without trailing zeros beyond `min_places`, never in exponent form."""
    if value is None:
        return ""
    exponent = value.normalize().as_tuple().exponent if value else 0
    places = max(min_places, -int(exponent), 0)
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"
