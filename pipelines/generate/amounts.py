"""Exact arithmetic and text for amounts held as scaled integers.

Decimal per value is too slow for millions of rows, floats are not exact: every amount is
an int counting cents (2 dp), ten-thousandths (4 dp), millionths (6 dp) or 1e-8 (rates).
"""

from __future__ import annotations

from dataclasses import dataclass

CENTS_PER_UNIT = 100
MICROS_PER_UNIT = 1_000_000
RATE_SCALE = 100_000_000  # effective rates carry 8 decimals
BASIS_POINTS = 10_000


@dataclass(slots=True)
class FileTotals:
    """What one recon file adds up to, counted line by line as it is written."""

    rows: int = 0
    pretax_cents: int = 0
    tax_cents: int = 0


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, ties away from zero
    (Decimal's ROUND_HALF_UP, which is how the checks recompute the files)."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((denominator - 2 * numerator) // (2 * denominator))


def tax_cents(pretax_cents: int, basis_points: int) -> int:
    return round_half_up(pretax_cents * basis_points, BASIS_POINTS)


def money_text(cents: int) -> str:
    """`-12.30` style: always two decimals. (%-formatting a divmod is the fastest exact way;
    this runs millions of times.)"""
    if cents < 0:
        return "-" + money_text(-cents)
    return "%d.%02d" % divmod(cents, CENTS_PER_UNIT)


def rate_text(rate: int) -> str:
    """A rate scaled by 1e8, with all eight decimals."""
    if rate < 0:
        return "-" + rate_text(-rate)
    return "%d.%08d" % divmod(rate, RATE_SCALE)


def scaled_text(value: int, places: int, min_places: int = 0) -> str:
    """A value scaled by 10**places, without trailing zeros beyond min_places:
    Partner Center writes `744` and `0.0416`, not `744.000000`."""
    if value < 0:
        return "-" + scaled_text(-value, places, min_places)
    whole, fraction = divmod(value, 10**places)
    digits = f"{fraction:0{places}d}".rstrip("0").ljust(min_places, "0")
    return f"{whole}.{digits}" if digits else str(whole)


def quantity_text(micros: int) -> str:
    """A non-negative quantity in millionths, as `744` or `0.031248`."""
    whole, fraction = divmod(micros, MICROS_PER_UNIT)
    return ("%d.%06d" % (whole, fraction)).rstrip("0") if fraction else str(whole)


def effective_rate(charge_cents: int, consumed_micros: int) -> int:
    """charges / consumed quantity as a 1e-8 scaled rate; 0 when nothing was consumed."""
    if consumed_micros == 0:
        return 0
    # cents * 1e-2 / (micros * 1e-6) * 1e8 = cents * 1e12 / micros
    return round_half_up(charge_cents * 1_000_000_000_000, consumed_micros)


def local_price(usd_price: int, per_100_usd: int) -> int:
    """A USD price in the billing currency (same scale), at per_100_usd units per 100 USD."""
    return round_half_up(usd_price * per_100_usd, 100)
