"""The FOCUS datasets csp-recon publishes: where each lives, what it declares, which columns it must have.

One definition of each dataset, read by the export (which files, which columns go to customers)
and by the checks (which columns are required). The warehouse tables are built by dbt
(`dbt_project/models/marts/focus/`); Invoice Detail and Billing Period rows are made here, at
export time, from the issued invoices and `marts.billing_periods`.
"""

from __future__ import annotations

from dataclasses import dataclass

FOCUS_SCHEMA = "focus"
FOCUS_VERSION = "1.2"  # the Cost and Usage datasets (what FinOps tools ingest today)
FOCUS_DATASETS_VERSION = "1.4"  # Invoice Detail and Billing Period exist from 1.4 on
FOCUS_DIR = "focus"  # under exports/<YYYY-MM>/
CUSTOMERS_DIR = "customers"
CUSTOM_PREFIX = "x_"
# The month key every mart is rebuilt by: the last column of the warehouse tables, in no file.
PERIOD_COLUMN = "billing_period"

# FOCUS 1.2 Cost and Usage columns a dataset of a provider like Microsoft (or a partner
# re-billing it) must carry: the mandatory columns, and the conditional ones whose condition
# holds for CSP data (invoices, list and contracted prices, two currencies, subscriptions).
COST_AND_USAGE_REQUIRED = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
)
# Columns whose value FOCUS forbids to be NULL on any row.
COST_AND_USAGE_NOT_NULL = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
TAX = "Tax"

INVOICE_DETAIL_COLUMNS = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "InvoiceDetailCreated",
    "InvoiceDetailDescription",
    "InvoiceDetailGrain",
    "InvoiceDetailId",
    "InvoiceDetailLastUpdated",
    "InvoiceId",
    "InvoiceIssueDate",
    "InvoiceIssueStatus",
    "InvoiceIssuerName",
    "PaymentCurrency",
    "PaymentCurrencyBilledCost",
    "PaymentDueDate",
    "PaymentTerms",
    "PurchaseOrderNumber",
    "ReferenceInvoiceId",
)
BILLING_PERIOD_COLUMNS = (
    "BillingPeriodCreated",
    "BillingPeriodEnd",
    "BillingPeriodLastUpdated",
    "BillingPeriodStart",
    "BillingPeriodStatus",
    "InvoiceIssuerName",
    "x_Status",
)
BILLING_PERIOD_STATUSES = ("Open", "Closed")

# The sell side's internal columns: Microsoft's cost, the markup, the rule, Microsoft's invoice
# and line keys. Never in a file a customer receives.
INTERNAL_COLUMNS = (
    "x_CostBilledCost",
    "x_Markup",
    "x_MarkupRuleId",
    "x_PricingBasis",
    "x_SourceInvoiceId",
    "x_ChargeId",
    "x_Invoiced",
)


@dataclass(frozen=True)
class Dataset:
    """One FOCUS dataset as written to files."""

    name: str  # file stem
    columns: tuple[str, ...] | None = None  # fixed columns (made here); None: the warehouse table's


# Cost and Usage datasets declare FOCUS_VERSION; Invoice Detail and Billing Period FOCUS_DATASETS_VERSION.
COST_FROM_MICROSOFT = Dataset("cost_and_usage_microsoft")
COST_TO_CUSTOMER = Dataset("cost_and_usage")
INVOICE_DETAIL = Dataset("invoice_detail", INVOICE_DETAIL_COLUMNS)
BILLING_PERIOD = Dataset("billing_period", BILLING_PERIOD_COLUMNS)

COST_FROM_MICROSOFT_TABLE = f"{FOCUS_SCHEMA}.cost_and_usage_from_microsoft"
COST_TO_CUSTOMERS_TABLE = f"{FOCUS_SCHEMA}.cost_and_usage_to_customers"
ISSUED_INVOICES_TABLE = "billing.issued_invoices"  # pipelines/invoicing/issuing.py
BILLING_PERIODS_TABLE = "marts.billing_periods"  # the month close's statuses
