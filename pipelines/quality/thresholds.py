"""Tolerances and thresholds of the data-quality checks, each defined once, with its reason.

The tax tolerance of the reconciliation lives in dbt_project.yml
(`reconciliation_tax_tolerance`), where the status is computed; the cost-jump threshold, which a
partner sets, is a setting (`pipelines/settings.py`, $CSP_RECON_COST_JUMP_PERCENT).
"""

from decimal import Decimal

# Microsoft's own examples are not always cent-exact (15.62 x 2 printed as 31.25), so row
# arithmetic is flagged beyond a cent, not required to be exact.
ROW_ARITHMETIC_TOLERANCE = Decimal("0.01")

# Azure budget warnings: the month-to-date Azure spend at sell price (the daily usage file,
# billed or estimated) reaching these percentages of the customer's monthly_usage_budget.
AZURE_BUDGET_WARNING_PERCENTS = (Decimal(80), Decimal(100))

# Day-over-day Azure spikes per Azure subscription, the defaults of partner.toml
# [azure_warnings]: a day costing more than AZURE_SPIKE_PERCENT above the day before, and by at
# least AZURE_SPIKE_MINIMUM_INCREASE in the customer's currency, so that cents moving
# (0.01 -> 0.05) are never a spike while a VM fleet left running is.
AZURE_SPIKE_PERCENT = Decimal(100)
AZURE_SPIKE_MINIMUM_INCREASE = Decimal("50.00")

# ChargeType values documented for the legacy license and usage files and the new-commerce
# reconciliation file (recon-formats.md §9; compared lower-cased).
KNOWN_CHARGE_TYPES = frozenset(
    {
        "cycle fee",
        "cycle instance prorate",
        "prorate fees when purchase",
        "prorate fees when cancel",
        "prorate fee when cancel",
        "prorate fee when purchase",
        "prorate fees when renew",
        "cancel fee",
        "cancel instance prorate",
        "renew fee",
        "purchase fee",
        "activation fee",
        "assess usage fee for current cycle",
        "cycle discount",
        "monthly usage charge",
        "refund",
        "credit",
        "new",
        "renew",
        "cyclecharge",
        "addquantity",
        "removequantity",
        "movequantity",
        "cancelimmediate",
        "convert",
        "changebillingplan",
        "customercredit",
        "extendterm",
    }
)
