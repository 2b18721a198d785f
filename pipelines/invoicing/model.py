"""One month of customer invoices, as read from the marts and the config: plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pipelines.config import PartnerProfile
from pipelines.invoicing.money import cents
from pipelines.periods import BillingPeriod

# The money columns of `marts.customer_monthly`, in the order the billing team's index lists them.
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

# EN 16931 VAT category codes (UNTDID 5305) per tax treatment of customers.csv.
VAT_CATEGORIES = {"domestic": "S", "reverse_charge": "AE", "exempt": "E", "outside_scope": "G"}


class InvoiceDataError(ValueError):
    """The marts cannot make a correct invoice: the message names the customers and the figures."""


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    subscription_id: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    period_kind: str | None = None  # None (the whole month), "prorated", "annual", "multi_month", "prior_period"


@dataclass(frozen=True)
class Buyer:
    """The customer's billing profile from customers.csv."""

    customer_id: str
    billing_name: str
    street: tuple[str, ...]
    postal_code: str | None
    city: str | None
    country: str
    vat_id: str | None
    tax_treatment: str
    vat_rate: Decimal | None
    exemption_text: str | None
    language: str
    grouping: str

    @property
    def address_lines(self) -> tuple[str, ...]:
        locality = " ".join(part for part in (self.postal_code, self.city) if part)
        return (*self.street, locality) if locality else self.street

    @property
    def vat_category(self) -> str:
        return VAT_CATEGORIES[self.tax_treatment]

    @property
    def charged_rate(self) -> Decimal:
        return self.vat_rate if self.tax_treatment == "domestic" and self.vat_rate is not None else Decimal(0)


@dataclass(frozen=True)
class VatTotal:
    """One row of the invoice's VAT summary: the lines of one category and rate."""

    category: str
    rate: Decimal
    basis: Decimal
    tax: Decimal


# Document kinds (UNTDID 1001 type codes on the e-invoice): an invoice, or a credit note that
# cancels an issued invoice in full (issue 14).
INVOICE, CREDIT_NOTE = "invoice", "credit_note"


@dataclass(frozen=True)
class PrecedingInvoice:
    """The issued invoice a credit note cancels or a corrected invoice replaces (EN 16931 BT-25/BT-26)."""

    number: str
    issue_date: date


@dataclass(frozen=True)
class CurrencyInvoice:
    """One invoice: one customer, one currency (the grain of `marts.customer_monthly`)."""

    currency: str
    totals: dict[str, Decimal]
    line_count: int
    lines: tuple[InvoiceLine, ...]
    number: str | None = None  # None while a draft
    kind: str = INVOICE
    preceding: PrecedingInvoice | None = None

    @property
    def billed_pretax(self) -> Decimal:
        return self.totals["billed_pretax"]

    @property
    def customer_tax(self) -> Decimal:
        return self.totals["customer_tax"]

    @property
    def billed_total(self) -> Decimal:
        return self.totals["billed_total"]

    def vat_totals(self, buyer: Buyer) -> tuple[VatTotal, ...]:
        """Every line of a customer carries the customer's tax treatment: one row, the mart's tax."""
        return (VatTotal(buyer.vat_category, buyer.charged_rate, cents(self.billed_pretax), cents(self.customer_tax)),)

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

    period: BillingPeriod
    customer_id: str
    customer_name: str
    file_stem: str
    buyer: Buyer
    invoices: tuple[CurrencyInvoice, ...]

    @property
    def billing_name(self) -> str:
        return self.buyer.billing_name


@dataclass(frozen=True)
class BlockedCustomer:
    """A customer the month cannot invoice, and why (named in the export's check)."""

    customer_id: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name or self.customer_id} ({self.customer_id}): {self.reason}"


@dataclass(frozen=True)
class Issue:
    """When the month's invoices were issued: the dates printed on them."""

    issue_date: date
    payment_terms_days: int

    @property
    def due_date(self) -> date:
        return self.issue_date + timedelta(days=self.payment_terms_days)


@dataclass(frozen=True)
class MonthInvoices:
    period: BillingPeriod
    seller: PartnerProfile
    customers: tuple[CustomerInvoice, ...] = field(default_factory=tuple)
    blocked: tuple[BlockedCustomer, ...] = field(default_factory=tuple)
    issue: Issue | None = None  # None: drafts

    def totals_by_currency(self) -> dict[str, dict[str, Decimal]]:
        totals: dict[str, dict[str, Decimal]] = {}
        for customer in self.customers:
            for invoice in customer.invoices:
                into = totals.setdefault(invoice.currency, {name: Decimal(0) for name in MONEY_COLUMNS})
                for name in MONEY_COLUMNS:
                    into[name] += invoice.totals[name]
        return dict(sorted(totals.items()))
