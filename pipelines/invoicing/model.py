"""One month of customer invoices, as read from the marts: plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pipelines.invoicing.money import cents

# The money columns of `marts.customer_monthly`, in the order the index CSV lists them.
MONEY_COLUMNS = (
    "license_cost_pretax",
    "usage_cost_pretax",
    "cost_pretax",
    "markup_amount",
    "service_charges",
    "billed_pretax",
    "customer_tax",
    "billed_total",
    "margin",
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


class InvoiceDataError(ValueError):
    """The marts cannot make a correct invoice: the message names the customers and the figures."""


@dataclass(frozen=True)
class InvoiceLine:
    line_number: int | None
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class Billing:
    """From the customers seed when it exists; every field optional."""

    billing_name: str | None = None
    country: str | None = None
    vat_rate: Decimal | None = None
    tax_exempt: bool | None = None


@dataclass(frozen=True)
class CurrencyInvoice:
    """One invoice: one customer, one currency (the grain of `marts.customer_monthly`)."""

    invoice_number: str
    currency: str
    totals: dict[str, Decimal]
    line_count: int
    lines: tuple[InvoiceLine, ...]

    @property
    def billed_pretax(self) -> Decimal:
        return self.totals["billed_pretax"]

    @property
    def customer_tax(self) -> Decimal:
        return self.totals["customer_tax"]

    @property
    def billed_total(self) -> Decimal:
        return self.totals["billed_total"]

    def problems(self) -> list[str]:
        """What would make the printed invoice not add up (compared at the cent, as printed)."""
        found = []
        lines_sum = sum((cents(line.amount) for line in self.lines), Decimal(0))
        if lines_sum != cents(self.billed_pretax):
            found.append(f"its lines add up to {lines_sum} but billed_pretax is {cents(self.billed_pretax)}")
        if cents(self.billed_pretax) + cents(self.customer_tax) != cents(self.billed_total):
            found.append(
                f"billed_pretax {cents(self.billed_pretax)} + customer_tax {cents(self.customer_tax)} "
                f"is not billed_total {cents(self.billed_total)}"
            )
        return found


@dataclass(frozen=True)
class CustomerInvoice:
    """Everything one customer is sent for the month: one document, one section per currency."""

    period: str
    customer_id: str
    customer_name: str
    file_stem: str
    billing: Billing
    invoices: tuple[CurrencyInvoice, ...]

    @property
    def billing_name(self) -> str:
        return self.billing.billing_name or self.customer_name or self.customer_id


@dataclass(frozen=True)
class MonthInvoices:
    period: str
    customers: tuple[CustomerInvoice, ...] = field(default_factory=tuple)

    @property
    def period_start(self) -> date:
        year, month = self.period.split("-")
        return date(int(year), int(month), 1)

    @property
    def period_end(self) -> date:
        start = self.period_start
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)

    @property
    def issue_date(self) -> date:
        """The day after the month closes: fixed, so a re-run writes identical documents."""
        return self.period_end + timedelta(days=1)

    @property
    def period_label(self) -> str:
        return f"{_MONTHS[self.period_start.month - 1]} {self.period_start.year}"

    def totals_by_currency(self) -> dict[str, dict[str, Decimal]]:
        totals: dict[str, dict[str, Decimal]] = {}
        for customer in self.customers:
            for invoice in customer.invoices:
                into = totals.setdefault(invoice.currency, {name: Decimal(0) for name in MONEY_COLUMNS})
                for name in MONEY_COLUMNS:
                    into[name] += invoice.totals[name]
        return dict(sorted(totals.items()))
