"""The month's reconciliation report: a page a billing clerk reads before paying Microsoft.

One Jinja2 template (`templates/report.html.j2`), autoescaped: customer names and file lines
are untrusted text. Each section is its own template under `templates/report/`, included by
the page; a new section is one include there and one field of ReportData here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipelines.periods import BillingPeriod
from pipelines.quality import report_charts
from pipelines.quality.daily_crosscheck import CrossCheck
from pipelines.quality.reconciliation_status import ReconciliationStatus
from pipelines.quality.report_charts import Chart

HISTORY_MONTHS = 12
PERCENT_PLACES = Decimal("0.1")


@dataclass
class InvoiceBreakdown:
    invoice: dict
    by_customer: list[dict] = field(default_factory=list)
    by_charge_type: list[dict] = field(default_factory=list)
    by_product: list[dict] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return self.invoice["status"] == ReconciliationStatus.MATCHED


@dataclass(frozen=True)
class MonthFigures:
    """One currency's month across all customers (marts.customer_monthly)."""

    billing_period: date
    currency: str
    cost: Decimal
    billed: Decimal
    margin: Decimal


@dataclass(frozen=True)
class CustomerMargin:
    customer_id: str
    customer_name: str
    currency: str
    cost: Decimal
    billed: Decimal
    margin: Decimal


@dataclass(frozen=True)
class UsageBudget:
    """A customer with a monthly usage budget (customers.csv) and the month's Azure spend at sell price."""

    customer_id: str
    customer_name: str
    currency: str
    usage: Decimal
    budget: Decimal

    @property
    def over(self) -> bool:
        return self.usage > self.budget

    @property
    def used_percent(self) -> Decimal | None:
        if self.budget <= 0:
            return None
        return (self.usage * 100 / self.budget).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class ReportData:
    period: BillingPeriod
    invoices: list[InvoiceBreakdown]
    files: list[dict]
    rejected: list[dict]  # each with `amounts_as_written`: the line's money fields as the file has them
    rejected_total: int
    history: list[MonthFigures] = field(default_factory=list)  # up to HISTORY_MONTHS, ending with this month
    margins: list[CustomerMargin] = field(default_factory=list)
    budgets: list[UsageBudget] = field(default_factory=list)
    azure_warnings: list[dict] = field(default_factory=list)  # pipelines/quality/azure_warnings.py
    closing: dict | None = None  # issue 14: pipelines/closing/report_section.py
    daily_crosscheck: CrossCheck | None = None  # recon vs daily rated usage (pipelines/quality/daily_crosscheck.py)


@dataclass(frozen=True)
class Trend:
    currency: str
    chart: Chart | None  # None: fewer than two months to draw, "no history yet"
    months: list[MonthFigures]


@dataclass(frozen=True)
class CurrencyMargins:
    currency: str
    chart: Chart
    customers: list[CustomerMargin]
    left_out: int  # customers between the largest and smallest margins, not drawn (all are in the table)


@dataclass(frozen=True)
class CurrencyBudgets:
    currency: str
    chart: Chart
    customers: list[UsageBudget]
    left_out: int  # customers furthest below their budget, not drawn (all are in the table)


def history_window(period: BillingPeriod, months: int = HISTORY_MONTHS) -> list[date]:
    """The first days of the `months` months ending with the report's month, oldest first."""
    return [period.shifted(-back).start for back in range(months - 1, -1, -1)]


def trends(data: ReportData) -> list[Trend]:
    by_currency: dict[str, list[MonthFigures]] = defaultdict(list)
    for figures in data.history:
        by_currency[figures.currency].append(figures)
    window = history_window(data.period)
    found = []
    for currency in sorted(by_currency):
        months = sorted(by_currency[currency], key=lambda m: m.billing_period)
        chart = None
        if len(months) >= 2:
            shown = [month for month in window if month >= months[0].billing_period]
            figures = {m.billing_period: (m.cost, m.billed, m.margin) for m in months}
            chart = report_charts.trend_chart(currency, shown, figures)
        found.append(Trend(currency, chart, months))
    return found


def _drawn(customers: list[CustomerMargin]) -> list[CustomerMargin]:
    """The largest margins and, a third of the bars, the smallest (losses first to see)."""
    if len(customers) <= report_charts.MAX_BARS:
        return customers
    smallest = report_charts.MAX_BARS // 3
    return customers[: report_charts.MAX_BARS - smallest] + customers[-smallest:]


def _labels(customers: list[CustomerMargin] | list[UsageBudget]) -> list[str]:
    """Names beside the bars; two customers of one name are told apart by their id's start."""
    names = Counter(customer.customer_name for customer in customers)
    return [
        f"{c.customer_name} ({c.customer_id[:8]})" if names[c.customer_name] > 1 else c.customer_name for c in customers
    ]


def margins(data: ReportData) -> list[CurrencyMargins]:
    found = []
    for currency in sorted({m.currency for m in data.margins}):
        customers = sorted(
            (m for m in data.margins if m.currency == currency),
            key=lambda m: (-m.margin, m.customer_name, m.customer_id),
        )
        drawn = _drawn(customers)
        chart = report_charts.margin_chart(currency, _labels(drawn), [m.margin for m in drawn])
        found.append(CurrencyMargins(currency, chart, customers, len(customers) - len(drawn)))
    return found


def budget_note(budget: UsageBudget) -> str:
    used = budget.used_percent
    share = f"budget {amount(budget.budget)}" if used is None else f"{used} % of {amount(budget.budget)}"
    return share + (", over" if budget.over else "")


def budgets(data: ReportData) -> list[CurrencyBudgets]:
    """Per currency, the customers nearest their budget (or past it) first; the chart draws at
    most MAX_BARS of them, the table all."""
    found = []
    for currency in sorted({b.currency for b in data.budgets}):
        customers = sorted(
            (b for b in data.budgets if b.currency == currency),
            key=lambda b: (not b.over, -(b.used_percent or 0), b.customer_name, b.customer_id),
        )
        drawn = customers[: report_charts.MAX_BARS]
        chart = report_charts.budget_chart(
            currency,
            _labels(drawn),
            [b.usage for b in drawn],
            [b.budget for b in drawn],
            [budget_note(b) for b in drawn],
        )
        found.append(CurrencyBudgets(currency, chart, customers, len(customers) - len(drawn)))
    return found


def amount(value: Decimal | None) -> str:
    """A money figure as the report prints it: from the Decimal, to the cent, thousands apart."""
    return "" if value is None else report_charts.amount_text(value)


def count(value: object) -> str:
    return "" if value is None else f"{value:,}"


_ENVIRONMENT = Environment(
    loader=PackageLoader("pipelines.quality", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(amount=amount, count=count, month=report_charts.month_label)
_ENVIRONMENT.tests["decimal"] = lambda value: isinstance(value, Decimal)
_ENVIRONMENT.globals.update(budget_note=budget_note)


def render_report(data: ReportData) -> str:
    return _ENVIRONMENT.get_template("report.html.j2").render(
        data=data,
        trends=trends(data),
        margins=margins(data),
        budgets=budgets(data),
        history_months=HISTORY_MONTHS,
    )
