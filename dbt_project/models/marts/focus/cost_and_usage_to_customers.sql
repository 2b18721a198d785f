-- FOCUS 1.2 Cost and Usage rows of what the partner invoices each customer (the spec's
-- managed-service-provider scenario: invoice issuer and service provider = the partner, host
-- provider = Microsoft or the Marketplace publisher). One row per priced reconciliation line,
-- one per partner service charge, one Tax row per customer invoice carrying tax. A customer's
-- non-tax BilledCost sums exactly to its invoice's pre-tax total (customer_monthly.billed_pretax:
-- the same rounded lines and service charges), its Tax rows to the invoice's tax.
-- InvoiceId is the issued invoice's number (billing.issued_invoices), NULL while a draft.
-- x_ columns after the FOCUS columns carry Microsoft's cost, the markup and the pricing rule:
-- the files handed to customers leave them out. Mapping: docs/focus.md.
{{ config(schema='focus') }}

{%- set issued_relation = adapter.get_relation(database=this.database, schema='billing', identifier='issued_invoices') if execute else none %}

with charges as (
    select * from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
),

-- Microsoft's side of each line, mapped once (units, meter, subscription name, commitment).
microsoft as (
    select * from {{ ref('int_focus_microsoft_rows') }}
    where focus_row_kind <> 'daily'
),

services as (
    select * from {{ ref('service_charges_monthly') }}
    where {{ in_rebuilt_periods() }}
),

monthly as (
    select * from {{ ref('customer_monthly') }}
    where {{ in_rebuilt_periods() }}
),

partner as (
    select legal_name from {{ source('config', 'partner_profile') }}
),

customers as (
    select lower(customer_id) as customer_id, billing_name, billing_profile_problems
    from {{ source('config', 'customers') }}
),

-- Numbers exist only once `csp-recon issue` has issued the month; until then InvoiceId is NULL.
issued as (
    {%- if issued_relation %}
    select billing_period, lower(customer_id) as customer_id, currency, invoice_number
    from {{ issued_relation }}
    where {{ in_rebuilt_periods() }}
{%- else %}
        select null::date as billing_period, null::varchar as customer_id, null::varchar as currency, null::varchar as invoice_number
        where false
    {%- endif %}
),

charge_rows as (
    select
        null::varchar as "AvailabilityZone",
        c.billed_pretax::decimal(28, 2) as "BilledCost",
        c.customer_id as "BillingAccountId",
        c.customer_name as recon_customer_name,
        c.currency as "BillingCurrency",
        c.billing_period,
        case
            when c.source = 'credit' then 'Credit'
            when c.source in ('usage', 'azure_plan') then 'Usage'
            else 'Purchase'
        end as "ChargeCategory",
        case
            when c.billed_pretax < 0 and c.source <> 'credit' and c.charge_start_date < c.billing_period then 'Correction'
        end as "ChargeClass",
        ms."ChargeDescription",
        ms."ChargeFrequency",
        ms."PricingUnit",
        ms."ConsumedUnit",
        ms."SkuMeter",
        ms."SubAccountName",
        coalesce(c.charge_start_date, c.billing_period) as charge_start,
        -- Microsoft's ChargeEndDate is the last day covered: FOCUS ends are exclusive.
        coalesce(c.charge_end_date, c.charge_start_date, c.billing_period) + 1 as charge_end,
        c.quantity::decimal(38, 18) as quantity,
        c.list_amount::decimal(38, 12) as "ListCost",
        c.unit_price_billing_currency::decimal(38, 12) as "ListUnitPrice",
        coalesce(nullif(c.publisher_name, ''), 'Microsoft') as "PublisherName",
        case when c.source = 'marketplace' then c.publisher_name else 'Microsoft' end as "HostProviderName",
        case
            when c.source in ('license', 'seat', 'software') then 'Business Applications'
            when c.source = 'reservation' then 'Compute'
            else 'Other'
        end as "ServiceCategory",
        c.product_name as "ServiceName",
        ms."SkuId",
        ms."SkuPriceId",
        c.subscription_id as "SubAccountId",
        c.source as "x_ChargeSource",
        c.cost_pretax::decimal(28, 6) as "x_CostBilledCost",
        c.markup_amount::decimal(28, 6) as "x_Markup",
        c.pricing_rule_id as "x_MarkupRuleId",
        c.pricing_basis as "x_PricingBasis",
        c.invoice_number as "x_SourceInvoiceId",
        c.charge_id as "x_ChargeId"
    from charges as c
    left join microsoft as ms on ms."x_ChargeId" = c.charge_id
),

service_rows as (
    select
        s.amount::decimal(28, 2) as "BilledCost",
        s.customer_id as "BillingAccountId",
        null::varchar as recon_customer_name,
        s.currency as "BillingCurrency",
        s.billing_period,
        'Purchase' as "ChargeCategory",
        null::varchar as "ChargeClass",
        s.description as "ChargeDescription",
        'Recurring' as "ChargeFrequency",
        'Units' as "PricingUnit",
        null::varchar as "ConsumedUnit",
        null::varchar as "SkuMeter",
        null::varchar as "SubAccountName",
        s.billing_period as charge_start,
        (s.billing_period + interval 1 month)::date as charge_end,
        s.quantity::decimal(38, 18) as quantity,
        s.amount::decimal(38, 12) as "ListCost",
        s.unit_price::decimal(38, 12) as "ListUnitPrice",
        (select legal_name from partner) as "PublisherName",
        -- The partner's own service: no host provider.
        null::varchar as "HostProviderName",
        'Other' as "ServiceCategory",
        s.description as "ServiceName",
        s.service_charge_id as "SkuId",
        s.service_charge_id as "SkuPriceId",
        null::varchar as "SubAccountId",
        'partner_service' as "x_ChargeSource",
        null::decimal(28, 6) as "x_CostBilledCost",
        null::decimal(28, 6) as "x_Markup",
        null::varchar as "x_MarkupRuleId",
        null::varchar as "x_PricingBasis",
        null::varchar as "x_SourceInvoiceId",
        'service:' || s.service_charge_id as "x_ChargeId"
    from services as s
),

tax_rows as (
    select
        m.customer_tax::decimal(28, 2) as "BilledCost",
        m.customer_id as "BillingAccountId",
        m.customer_name as recon_customer_name,
        m.currency as "BillingCurrency",
        m.billing_period,
        'Tax' as "ChargeCategory",
        null::varchar as "ChargeClass",
        'VAT ' || (m.vat_rate * 100)::decimal(6, 2) || ' %' as "ChargeDescription",
        'One-Time' as "ChargeFrequency",
        null::varchar as "PricingUnit",
        null::varchar as "ConsumedUnit",
        null::varchar as "SkuMeter",
        null::varchar as "SubAccountName",
        m.billing_period as charge_start,
        (m.billing_period + interval 1 month)::date as charge_end,
        null::decimal(38, 18) as quantity,
        0::decimal(38, 12) as "ListCost",
        null::decimal(38, 12) as "ListUnitPrice",
        (select legal_name from partner) as "PublisherName",
        null::varchar as "HostProviderName",
        'Other' as "ServiceCategory",
        'Tax' as "ServiceName",
        null::varchar as "SkuId",
        null::varchar as "SkuPriceId",
        null::varchar as "SubAccountId",
        'tax' as "x_ChargeSource",
        null::decimal(28, 6) as "x_CostBilledCost",
        null::decimal(28, 6) as "x_Markup",
        null::varchar as "x_MarkupRuleId",
        null::varchar as "x_PricingBasis",
        null::varchar as "x_SourceInvoiceId",
        'tax:' || m.customer_id || ':' || m.currency as "x_ChargeId"
    from monthly as m
    where m.customer_tax <> 0
),

unioned as (
    select * exclude ("AvailabilityZone") from charge_rows
    union all by name
    select * from service_rows
    union all by name
    select * from tax_rows
)

select
    null::varchar as "AvailabilityZone",
    u."BilledCost",
    u."BillingAccountId",
    coalesce(customers.billing_name, u.recon_customer_name) as "BillingAccountName",
    'Customer' as "BillingAccountType",
    u."BillingCurrency",
    timezone('UTC', (u.billing_period + interval 1 month)::timestamp) as "BillingPeriodEnd",
    timezone('UTC', u.billing_period::timestamp) as "BillingPeriodStart",
    u."ChargeCategory",
    u."ChargeClass",
    u."ChargeDescription",
    u."ChargeFrequency",
    timezone('UTC', u.charge_end::timestamp) as "ChargePeriodEnd",
    timezone('UTC', u.charge_start::timestamp) as "ChargePeriodStart",
    null::varchar as "CommitmentDiscountCategory",
    null::varchar as "CommitmentDiscountId",
    null::varchar as "CommitmentDiscountName",
    null::varchar as "CommitmentDiscountStatus",
    null::varchar as "CommitmentDiscountType",
    case when u."ChargeCategory" = 'Usage' then u.quantity end as "ConsumedQuantity",
    case when u."ChargeCategory" = 'Usage' then u."ConsumedUnit" end as "ConsumedUnit",
    -- The customer's contracted price is what the partner's pricing rule bills.
    u."BilledCost"::decimal(28, 2) as "ContractedCost",
    case when u.quantity <> 0 and u."ChargeCategory" <> 'Tax' then abs({{ decimal_ratio('u."BilledCost"', 'u.quantity') }}) end::decimal(38, 12) as "ContractedUnitPrice",
    u."BilledCost"::decimal(28, 2) as "EffectiveCost",
    issued.invoice_number as "InvoiceId",
    (select legal_name from partner) as "InvoiceIssuerName",
    u."ListCost",
    u."ListUnitPrice",
    case when u."ChargeCategory" in ('Usage', 'Purchase') then 'Standard' end as "PricingCategory",
    u."BillingCurrency" as "PricingCurrency",
    case when u.quantity <> 0 and u."ChargeCategory" <> 'Tax' then abs({{ decimal_ratio('u."BilledCost"', 'u.quantity') }}) end::decimal(38, 18) as "PricingCurrencyContractedUnitPrice",
    u."BilledCost"::decimal(38, 12) as "PricingCurrencyEffectiveCost",
    u."ListUnitPrice"::decimal(38, 18) as "PricingCurrencyListUnitPrice",
    case when u."ChargeCategory" <> 'Tax' then u.quantity end as "PricingQuantity",
    u."PricingUnit",
    (select legal_name from partner) as "ProviderName",
    u."PublisherName",
    null::varchar as "RegionId",
    null::varchar as "RegionName",
    null::varchar as "ResourceId",
    null::varchar as "ResourceName",
    null::varchar as "ResourceType",
    u."ServiceCategory",
    u."ServiceName",
    u."SkuId",
    u."SkuMeter",
    u."SkuPriceId",
    u."SubAccountId",
    u."SubAccountName",
    case when u."SubAccountId" is not null then 'Subscription' end as "SubAccountType",
    null::varchar as "Tags",
    (select legal_name from partner) as "ServiceProviderName",
    u."HostProviderName",
    case when issued.invoice_number is null then 'Draft' else 'Issued' end as "x_InvoiceStatus",
    customers.customer_id is not null and customers.billing_profile_problems is null as "x_Invoiced",
    u."x_ChargeSource",
    u."x_CostBilledCost",
    u."x_Markup",
    u."x_MarkupRuleId",
    u."x_PricingBasis",
    u."x_SourceInvoiceId",
    u."x_ChargeId",
    u.billing_period
from unioned as u
left join customers on customers.customer_id = u."BillingAccountId"
left join issued
    on
        issued.billing_period = u.billing_period
        and issued.customer_id = u."BillingAccountId"
        and issued.currency = u."BillingCurrency"
