-- FOCUS 1.2 Cost and Usage rows of what Microsoft (or the distributor) invoices the partner:
-- one row per reconciliation line of the month (new commerce and legacy alike), plus one Tax
-- row per invoice carrying tax. Column mapping: docs/focus.md. Rows of one invoice sum to it:
-- non-tax BilledCost = the invoice's Subtotal exactly (the lines are Microsoft's own
-- cent amounts), Tax rows = the invoice's tax as printed on the invoice summary.
-- Columns: FOCUS columns first, then x_ columns, then billing_period (the month key every
-- mart has; the exported files leave it out).
{{ config(schema='focus') }}
{#- Microsoft, or the distributor an indirect reseller buys from (a SQL literal, quotes doubled). #}
{%- set microsoft_issuer = "'" ~ (var("focus_microsoft_invoice_issuer", "Microsoft") | replace("'", "''")) ~ "'" %}

with lines as (
    select * from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
),

-- What fct_charges does not carry: the partner's account and Microsoft's line details.
nce_detail as (
    select
        file_sha256 || ':' || source_line as charge_id,
        partner_id, unit_type, meter_description, subscription_description,
        order_id, promotion_id, price_adjustment_description::varchar as price_adjustment_description,
        null::varchar as legacy_sku
    from {{ source('partner_center', 'nce_recon') }}
    where {{ in_rebuilt_periods() }}
),

license_detail as (
    select
        file_sha256 || ':' || source_line as charge_id,
        partner_id, 'Licenses' as unit_type, null::varchar as meter_description, subscription_description,
        order_id, null::varchar as promotion_id, null::varchar as price_adjustment_description,
        -- A legacy licence has no SKU: its DurableOfferId names what was sold.
        durable_offer_id as legacy_sku
    from {{ source('partner_center', 'license_recon') }}
    where {{ in_rebuilt_periods() }}
),

usage_detail as (
    select
        file_sha256 || ':' || source_line as charge_id,
        partner_billable_account_id as partner_id, unit as unit_type, resource_name as meter_description,
        subscription_description, order_id, null::varchar as promotion_id, null::varchar as price_adjustment_description,
        null::varchar as legacy_sku
    from {{ source('partner_center', 'usage_recon') }}
    where {{ in_rebuilt_periods() }}
),

detail as (
    select * from nce_detail
    union all
    select * from license_detail
    union all
    select * from usage_detail
),

partner as (
    select legal_name from {{ source('config', 'partner_profile') }}
),

charge_rows as (
    select
        l.*,
        d.partner_id, d.unit_type, d.meter_description, d.subscription_description, d.order_id, d.promotion_id,
        d.price_adjustment_description, d.legacy_sku,
        case
            when l.source = 'credit' then 'Credit'
            when l.source in ('usage', 'azure_plan') then 'Usage'
            else 'Purchase'
        end as charge_category
    from lines as l
    left join detail as d using (charge_id)
),

invoices as (
    select invoice_number, currency, tax, subtotal, billing_period
    from {{ ref('stg_partner_center__invoices') }}
    where {{ in_rebuilt_periods() }}
),

-- One Tax row per invoice carrying tax: the invoice's own figure (Microsoft rounds tax per
-- invoice, the lines per line), so the issuer's rows add up to what it invoiced.
tax_rows as (
    select
        i.billing_period, i.invoice_number, i.currency, i.tax,
        sum(c.cost_tax) as line_tax,
        max(c.partner_id) as partner_id
    from invoices as i
    join charge_rows as c on c.invoice_number = i.invoice_number and c.billing_period = i.billing_period
    where coalesce(i.tax, 0) <> 0
    group by all
),

focus_rows as (
    select
        null::varchar as "AvailabilityZone",
        cost_pretax::decimal(28, 6) as "BilledCost",
        coalesce(partner_id, '') as "BillingAccountId",
        (select legal_name from partner) as "BillingAccountName",
        'Partner' as "BillingAccountType",
        currency as "BillingCurrency",
        timezone('UTC', (billing_period + interval 1 month)::timestamp) as "BillingPeriodEnd",
        timezone('UTC', billing_period::timestamp) as "BillingPeriodStart",
        charge_category as "ChargeCategory",
        case
            when cost_pretax < 0 and source <> 'credit' and charge_start_date < billing_period then 'Correction'
        end as "ChargeClass",
        product_name || coalesce(' - ' || nullif(meter_description, ''), '') as "ChargeDescription",
        case
            when charge_category = 'Usage' then 'Usage-Based'
            when lower(billing_frequency) in ('monthly', 'annual', 'triennial') then 'Recurring'
            else 'One-Time'
        end as "ChargeFrequency",
        -- Microsoft's ChargeEndDate is the last day covered: FOCUS ends are exclusive.
        timezone('UTC', (coalesce(charge_end_date, charge_start_date, billing_period) + 1)::timestamp) as "ChargePeriodEnd",
        timezone('UTC', coalesce(charge_start_date, billing_period)::timestamp) as "ChargePeriodStart",
        case
            when source = 'reservation' then
                case when term_and_billing_cycle ilike '%savings plan%' then 'Spend' else 'Usage' end
        end as "CommitmentDiscountCategory",
        case when source = 'reservation' then reservation_order_id end as "CommitmentDiscountId",
        case when source = 'reservation' then product_name end as "CommitmentDiscountName",
        null::varchar as "CommitmentDiscountStatus",
        case
            when source = 'reservation' then
                case when term_and_billing_cycle ilike '%savings plan%' then 'Savings Plan' else 'Reservation' end
        end as "CommitmentDiscountType",
        case when charge_category = 'Usage' then quantity end::decimal(38, 18) as "ConsumedQuantity",
        case when charge_category = 'Usage' then unit_type end as "ConsumedUnit",
        cost_pretax::decimal(28, 6) as "ContractedCost",
        abs(effective_unit_price_billing_currency)::decimal(38, 12) as "ContractedUnitPrice",
        -- A reservation bought up front covers later usage: FOCUS amortises it there (the
        -- daily usage rows), so its purchase row has no effective cost.
        case when source = 'reservation' then 0 else cost_pretax end::decimal(28, 6) as "EffectiveCost",
        invoice_number as "InvoiceId",
        {{ microsoft_issuer }} as "InvoiceIssuerName",
        list_amount::decimal(38, 12) as "ListCost",
        unit_price_billing_currency::decimal(38, 12) as "ListUnitPrice",
        case when charge_category in ('Usage', 'Purchase') then 'Standard' end as "PricingCategory",
        coalesce(pricing_currency, currency) as "PricingCurrency",
        abs(effective_unit_price)::decimal(38, 18) as "PricingCurrencyContractedUnitPrice",
        -- Microsoft's prorated, discounted unit price x quantity, in the pricing currency.
        case
            when source = 'reservation' then 0
            when effective_unit_price is not null then cast(effective_unit_price as decimal(26, 12)) * cast(coalesce(quantity, 0) as decimal(26, 12))
            else cost_pretax
        end::decimal(38, 12) as "PricingCurrencyEffectiveCost",
        unit_price::decimal(38, 18) as "PricingCurrencyListUnitPrice",
        quantity::decimal(38, 18) as "PricingQuantity",
        unit_type as "PricingUnit",
        'Microsoft' as "ProviderName",
        coalesce(nullif(publisher_name, ''), 'Microsoft') as "PublisherName",
        null::varchar as "RegionId",
        null::varchar as "RegionName",
        null::varchar as "ResourceId",
        null::varchar as "ResourceName",
        null::varchar as "ResourceType",
        case
            when source in ('license', 'seat', 'software') then 'Business Applications'
            when source = 'reservation' then 'Compute'
            else 'Other'
        end as "ServiceCategory",
        product_name as "ServiceName",
        coalesce(nullif(concat_ws(':', product_id, sku_id), ''), legacy_sku) as "SkuId",
        meter_description as "SkuMeter",
        coalesce(nullif(concat_ws(':', product_id, sku_id, availability_id), ''), legacy_sku) as "SkuPriceId",
        subscription_id as "SubAccountId",
        coalesce(nullif(subscription_description, ''), product_name) as "SubAccountName",
        'Subscription' as "SubAccountType",
        null::varchar as "Tags",
        -- FOCUS 1.3+ provider columns (1.4 requires them, 1.2 readers ignore them).
        case when source = 'marketplace' then publisher_name else 'Microsoft' end as "ServiceProviderName",
        'Microsoft' as "HostProviderName",
        customer_id as "x_CustomerId",
        customer_name as "x_CustomerName",
        reseller_mpn_id as "x_ResellerId",
        source as "x_ChargeSource",
        charge_type as "x_ChargeType",
        order_id as "x_OrderId",
        reference_id as "x_ReferenceId",
        promotion_id as "x_PromotionId",
        term_and_billing_cycle as "x_TermAndBillingCycle",
        pc_to_bc_exchange_rate::decimal(38, 18) as "x_PCToBCExchangeRate",
        credit_reason_code as "x_CreditReasonCode",
        price_adjustment_description as "x_PartnerCreditApplied",
        cost_tax::decimal(28, 6) as "x_LineTax",
        charge_id as "x_ChargeId",
        source_file as "x_SourceFile",
        source_line::integer as "x_SourceLine",
        billing_period
    from charge_rows

    union all by name

    select
        t.tax::decimal(28, 6) as "BilledCost",
        coalesce(t.partner_id, '') as "BillingAccountId",
        (select legal_name from partner) as "BillingAccountName",
        'Partner' as "BillingAccountType",
        t.currency as "BillingCurrency",
        timezone('UTC', (t.billing_period + interval 1 month)::timestamp) as "BillingPeriodEnd",
        timezone('UTC', t.billing_period::timestamp) as "BillingPeriodStart",
        'Tax' as "ChargeCategory",
        'Tax on invoice ' || t.invoice_number as "ChargeDescription",
        'One-Time' as "ChargeFrequency",
        timezone('UTC', (t.billing_period + interval 1 month)::timestamp) as "ChargePeriodEnd",
        timezone('UTC', t.billing_period::timestamp) as "ChargePeriodStart",
        t.tax::decimal(28, 6) as "ContractedCost",
        t.tax::decimal(28, 6) as "EffectiveCost",
        t.invoice_number as "InvoiceId",
        {{ microsoft_issuer }} as "InvoiceIssuerName",
        0::decimal(38, 12) as "ListCost",
        t.currency as "PricingCurrency",
        'Microsoft' as "ProviderName",
        'Microsoft' as "PublisherName",
        'Other' as "ServiceCategory",
        'Tax' as "ServiceName",
        'Microsoft' as "ServiceProviderName",
        'Microsoft' as "HostProviderName",
        'tax' as "x_ChargeSource",
        t.line_tax::decimal(28, 6) as "x_LineTax",
        'tax:' || t.invoice_number as "x_ChargeId",
        t.billing_period
    from tax_rows as t
)

-- union all by name keeps the first branch's column order, the order documented.
select * from focus_rows
