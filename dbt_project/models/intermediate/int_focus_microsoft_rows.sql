-- Microsoft's lines mapped to FOCUS 1.2 Cost and Usage columns, before the Tax rows: every
-- reconciliation line of the month (new commerce and legacy alike), and every billed daily rated
-- usage line of an Azure plan group the recon has (per resource, day and meter, its cost shared
-- to the cent by int_azure_daily_cost_shared). focus_row_kind says which: recon, itemised (an
-- Azure plan recon line whose group has daily lines: the daily lines stand for it on the cost
-- side) or daily. The cost side (cost_and_usage_from_microsoft) keeps recon and daily rows and
-- adds the Tax rows; the sell side (cost_and_usage_to_customers) maps each priced recon line as
-- Microsoft's. Column mapping: docs/focus.md. Columns: FOCUS columns first, then x_ columns,
-- then billing_period.
{#- Microsoft's list price and quantity, and who provides and publishes: alike on recon and daily rows. #}
{%- set priced_and_published -%}
unit_price::decimal(38, 18) as "PricingCurrencyListUnitPrice",
        quantity::decimal(38, 18) as "PricingQuantity",
        unit_type as "PricingUnit",
        'Microsoft' as "ProviderName",
        coalesce(nullif(publisher_name, ''), 'Microsoft') as "PublisherName",
{%- endset %}

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

-- Billed daily rated usage lines, each with its cent share of its Azure plan group.
daily as (
    select * from {{ ref('int_azure_daily_cost_shared') }}
),

daily_groups as (
    select distinct billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key
    from daily
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
        end as charge_category,
        -- An Azure plan line whose group the daily file itemises: its daily lines stand for it.
        l.source = 'azure_plan' and g.billing_period is not null as itemised_daily
    from lines as l
    left join detail as d using (charge_id)
    left join daily_groups as g
        on
            g.billing_period = l.billing_period
            and g.invoice_number = l.invoice_number
            and g.customer_id = l.customer_id
            and g.currency = l.currency
            and g.subscription_id = l.subscription_id
            and g.product_key = upper(l.product_id)
            and g.sku_key = upper(l.sku_id)
),

-- The partner's account and the group's recon facts the daily file does not carry.
daily_rows as (
    select
        daily.*,
        recon.partner_id,
        recon.reseller_mpn_id as recon_reseller_mpn_id
    from daily
    join (
        select
            billing_period, invoice_number, customer_id, currency, subscription_id,
            upper(product_id) as product_key, upper(sku_id) as sku_key,
            max(partner_id) as partner_id, max(reseller_mpn_id) as reseller_mpn_id
        from charge_rows
        where itemised_daily
        group by all
    ) as recon using (billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key)
),

focus_rows as (
    select
        null::varchar as "AvailabilityZone",
        cost_pretax::decimal(28, 6) as "BilledCost",
        {{ focus_billed_to_partner() }}
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
        {{ focus_microsoft_invoice_issuer() }} as "InvoiceIssuerName",
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
        {{ priced_and_published }}
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
        billing_period,
        case when coalesce(itemised_daily, false) then 'itemised' else 'recon' end as focus_row_kind
    from charge_rows

    union all by name

    -- Azure plan usage at the daily file's grain (mapping: docs/focus.md).
    select
        cost_billed_pretax::decimal(28, 6) as "BilledCost",
        {{ focus_billed_to_partner() }}
        'Usage' as "ChargeCategory",
        case when cost_billed_pretax < 0 and usage_date < billing_period then 'Correction' end as "ChargeClass",
        product_name || coalesce(' - ' || nullif(meter_name, ''), '') as "ChargeDescription",
        'Usage-Based' as "ChargeFrequency",
        -- One day of usage: from its midnight to the next (FOCUS ends are exclusive).
        timezone('UTC', (usage_date + 1)::timestamp) as "ChargePeriodEnd",
        timezone('UTC', usage_date::timestamp) as "ChargePeriodStart",
        -- A commitment (reservation or savings plan, BenefitType) covered the line.
        case
            when nullif(benefit_order_id, '') is not null then
                case when benefit_type ilike '%savings%' then 'Spend' else 'Usage' end
        end as "CommitmentDiscountCategory",
        nullif(benefit_order_id, '') as "CommitmentDiscountId",
        case when nullif(benefit_order_id, '') is not null then 'Used' end as "CommitmentDiscountStatus",
        case
            when nullif(benefit_order_id, '') is not null then
                case when benefit_type ilike '%savings%' then 'Savings Plan' else 'Reservation' end
        end as "CommitmentDiscountType",
        quantity::decimal(38, 18) as "ConsumedQuantity",
        unit as "ConsumedUnit",
        cost_billed_pretax::decimal(28, 6) as "ContractedCost",
        abs(
            cast(effective_unit_price as decimal(38, 18)) * cast(coalesce(pc_to_bc_exchange_rate, 1) as decimal(38, 12))
        )::decimal(38, 12) as "ContractedUnitPrice",
        cost_billed_pretax::decimal(28, 6) as "EffectiveCost",
        invoice_number as "InvoiceId",
        {{ focus_microsoft_invoice_issuer() }} as "InvoiceIssuerName",
        coalesce(list_amount, cost_billed_pretax)::decimal(38, 12) as "ListCost",
        list_unit_price_billing_currency::decimal(38, 12) as "ListUnitPrice",
        'Standard' as "PricingCategory",
        coalesce(pricing_currency, currency) as "PricingCurrency",
        abs(effective_unit_price)::decimal(38, 18) as "PricingCurrencyContractedUnitPrice",
        pricing_cost_pretax::decimal(38, 12) as "PricingCurrencyEffectiveCost",
        {{ priced_and_published }}
        nullif(lower(replace(resource_location, ' ', '')), '') as "RegionId",
        nullif(resource_location, '') as "RegionName",
        nullif(resource_uri, '') as "ResourceId",
        nullif(regexp_extract(resource_uri, '([^/]+)/*$', 1), '') as "ResourceName",
        -- The provider namespace and type of `/providers/<namespace>/<type>/<name>`.
        nullif(regexp_extract(resource_uri, '(?i)/providers/([^/]+/[^/]+)/[^/]+', 1), '') as "ResourceType",
        case
            when meter_category in ('Virtual Machines', 'Container Instances', 'Functions') then 'Compute'
            when meter_category in ('Storage', 'Backup') then 'Storage'
            when meter_category in ('SQL Database', 'Azure Cosmos DB', 'Azure Database for PostgreSQL') then 'Databases'
            when meter_category in ('Bandwidth', 'Virtual Network', 'Azure DNS', 'Load Balancer') then 'Networking'
            when meter_category = 'Azure App Service' then 'Web'
            when meter_category = 'Key Vault' then 'Security'
            when meter_category in ('Log Analytics', 'Azure Monitor') then 'Management and Governance'
            else 'Other'
        end as "ServiceCategory",
        coalesce(nullif(meter_category, ''), product_name) as "ServiceName",
        nullif(concat_ws(':', product_id, sku_id), '') as "SkuId",
        meter_name as "SkuMeter",
        nullif(concat_ws(':', product_id, sku_id, availability_id), '') as "SkuPriceId",
        coalesce(entitlement_id, subscription_id) as "SubAccountId",
        coalesce(nullif(entitlement_description, ''), nullif(subscription_description, ''), product_name) as "SubAccountName",
        'Subscription' as "SubAccountType",
        nullif(tags::varchar, '') as "Tags",
        'Microsoft' as "ServiceProviderName",
        'Microsoft' as "HostProviderName",
        customer_id as "x_CustomerId",
        customer_name as "x_CustomerName",
        coalesce(recon_reseller_mpn_id, reseller_mpn_id) as "x_ResellerId",
        'azure_plan' as "x_ChargeSource",
        charge_type as "x_ChargeType",
        pc_to_bc_exchange_rate::decimal(38, 18) as "x_PCToBCExchangeRate",
        -- PartnerEarnedCreditPercentage as Microsoft writes it (15 in the CSV file, 0.15 from the API).
        partner_earned_credit_percentage::double::varchar as "x_PartnerCreditApplied",
        usage_line_id as "x_ChargeId",
        source_file as "x_SourceFile",
        source_line::integer as "x_SourceLine",
        billing_period,
        'daily' as focus_row_kind
    from daily_rows
)

-- union all by name keeps the first branch's column order, the order documented.
select * from focus_rows
