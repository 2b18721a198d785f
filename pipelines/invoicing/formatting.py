"""Amounts, numbers and dates as the customer's language writes them (Babel, CLDR data)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from pipelines.invoicing.labels import LOCALES
from pipelines.invoicing.money import cents


class Formatter:
    def __init__(self, language: str):
        self.locale = LOCALES.get(language, LOCALES["en"])

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(
            cents(amount),
            currency,
            locale=self.locale,
            currency_digits=False,
            format_type="standard",
            decimal_quantization=True,
        )

    def amount(self, amount: Decimal) -> str:
        return format_decimal(cents(amount), format="#,##0.00", locale=self.locale)

    def number(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        return format_decimal(
            value.normalize() if value == value.to_integral() else value, format="#,##0.######", locale=self.locale
        )

    def unit_price(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        return format_decimal(value, format="#,##0.00##", locale=self.locale)

    def rate(self, rate: Decimal) -> str:
        return format_percent(rate, format="#,##0.##%", locale=self.locale)

    def date(self, value: datetime.date | None) -> str:
        return "" if value is None else format_date(value, format="long", locale=self.locale)

    def month(self, value: datetime.date) -> str:
        return format_date(value, format="LLLL yyyy", locale=self.locale)
