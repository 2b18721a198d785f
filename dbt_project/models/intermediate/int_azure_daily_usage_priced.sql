-- Daily rated usage at the grain of marts.azure_daily_usage, with its sell price.
--
-- Billed lines (closed month): each Azure plan group of the invoice reconciliation (invoice x
-- customer x Azure plan subscription x ProductId x SkuId, every partner-earned-credit segment
-- together) has a billed amount, the sum of its priced recon lines (fct_charges). It is shared
-- over the group's daily rows in proportion to their BillingPreTaxTotal, in whole cents by the
-- largest remainder (ties in a fixed order), so a customer's rows add up exactly to its
-- invoice's Azure lines. A group whose daily cost is zero is shared equally. A group without
-- daily rows keeps one row of its own (line_status not_itemised), so the detail still adds up;
-- a billed daily row no recon line carries is kept at no price (line_status not_in_recon).
-- Unbilled lines (open month): an estimate, priced with the rule the invoice will apply (the
-- shared rule resolution, macros/pricing_rules.sql; Azure usage has no term or billing
-- frequency), kept to 6 places. A month that has billed lines ignores its unbilled ones: the
-- billed file replaces Microsoft's running estimate.

-- Only the months this run rebuilds (this model is ephemeral: the months are the run's own).
with daily as (
    select * from {{ ref('stg_partner_center__daily_usage') }}
    where {{ in_rebuilt_periods() }}
),

billed_months as (
    select distinct billing_period from daily where invoice_number is not null
),

usage_lines as (
    select
        daily.*,
        -- The resource group as Microsoft wrote it, else as the resource id names it.
        coalesce(daily.resource_group, nullif(regexp_extract(daily.resource_uri, '(?i)/resourcegroups/([^/]+)', 1), '')) as resource_group_name,
        upper(daily.product_id) as product_key,
        upper(daily.sku_id) as sku_key,
        -- Microsoft's list price of the line in the billing currency, for list_relative rules.
        cast(
            cast(daily.unit_price as decimal(38, 18)) * cast(coalesce(daily.pc_to_bc_exchange_rate, 1) as decimal(38, 12))
            as decimal(38, 12)
        ) * cast(daily.quantity as decimal(38, 12)) as list_amount
    from daily
    where
        daily.invoice_number is not null
        or daily.billing_period not in (select billing_period from billed_months)
),

-- The mart's grain: resources of one meter, resource group, day and set of tags together.
grouped as (
    select
        billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key,
        entitlement_id, meter_id, meter_name, resource_group_name as resource_group, usage_date,
        tags::varchar as tags_text,
        max(customer_name) as customer_name,
        max(entitlement_description) as entitlement_description,
        max(product_name) as product_name,
        max(publisher_name) as publisher_name,
        max(reseller_mpn_id) as reseller_mpn_id,
        max(meter_category) as meter_category,
        max(meter_sub_category) as meter_sub_category,
        max(meter_region) as meter_region,
        max(unit) as unit,
        sum(quantity)::decimal(38, 18) as quantity,
        sum(cost_pretax)::decimal(38, 18) as cost_pretax,
        sum(list_amount)::decimal(38, 12) as list_amount,
        count(*)::bigint as usage_lines
    from usage_lines
    group by all
),

plan_groups as (
    select * exclude (cost_pretax) from {{ ref('int_azure_plan_groups') }}
),

-- The group's billed amount shared to the cent (macros/share_to_the_cent.sql), ties in a fixed order.
shared as (
    {{ share_to_the_cent(
        '(select g.*, p.pricing_rule_id, p.billed_pretax as group_billed_pretax from grouped as g join plan_groups as p
          using (billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key))',
        'billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key',
        'group_billed_pretax',
        'cost_pretax',
        'usage_date, entitlement_id nulls first, meter_id nulls first, meter_name nulls first,
         resource_group nulls first, tags_text nulls first'
    ) }}
),

allocated as (
    select
        * exclude (pricing_rule_id, group_billed_pretax, shared_amount),
        'billed' as line_status,
        pricing_rule_id,
        shared_amount as billed_pretax,
        null::decimal(28, 6) as estimated_pretax
    from shared
),

not_in_recon as (
    select
        g.*, 'not_in_recon' as line_status, null::varchar as pricing_rule_id,
        null::decimal(28, 2) as billed_pretax, null::decimal(28, 6) as estimated_pretax
    from grouped as g
    anti join plan_groups using (billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key)
    where g.invoice_number is not null
),

-- The customers whose Azure usage is itemised this month: those with billed daily rows.
itemised as (
    select distinct billing_period, customer_id, currency from grouped where invoice_number is not null
),

not_itemised as (
    select
        p.billing_period, p.invoice_number, p.customer_id, p.currency, p.subscription_id, p.product_key, p.sku_key,
        null::varchar as entitlement_id, null::varchar as meter_id, null::varchar as meter_name,
        null::varchar as resource_group, null::date as usage_date, null::varchar as tags_text,
        null::varchar as customer_name, null::varchar as entitlement_description, p.product_name,
        null::varchar as publisher_name, null::varchar as reseller_mpn_id, null::varchar as meter_category,
        null::varchar as meter_sub_category, null::varchar as meter_region, null::varchar as unit,
        null::decimal(38, 18) as quantity, null::decimal(38, 18) as cost_pretax, null::decimal(38, 12) as list_amount,
        0::bigint as usage_lines,
        'not_itemised' as line_status, p.pricing_rule_id, p.billed_pretax, null::decimal(28, 6) as estimated_pretax
    from plan_groups as p
    join itemised using (billing_period, customer_id, currency)
    anti join grouped using (billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key)
),

unbilled as (
    select * from grouped where invoice_number is null
),

pricing_keys as (
    select distinct
        customer_id, 'azure_plan' as source, product_name, product_key as product_id, sku_key as sku_id, publisher_name,
        null::varchar as term_and_billing_cycle, null::varchar as billing_frequency, reseller_mpn_id, currency,
        usage_date as pricing_date
    from unbilled
),

rules as (
    {{ resolve_pricing_rules('pricing_keys') }}
),

estimated as (
    select
        u.*,
        'unbilled' as line_status,
        r.pricing_rule_id,
        null::decimal(28, 2) as billed_pretax,
        round(
            case r.basis
                when 'cost_markup' then u.cost_pretax * (100 + r.rate) * 0.01
                when 'list_relative' then u.list_amount * (100 + r.rate) * 0.01
                when 'fixed_unit_price' then r.unit_price * u.quantity
            end,
            6
        )::decimal(28, 6) as estimated_pretax
    from unbilled as u
    left join rules as r
        on
            r.customer_id = u.customer_id
            and r.product_name is not distinct from u.product_name
            and r.product_id is not distinct from u.product_key
            and r.sku_id is not distinct from u.sku_key
            and r.publisher_name is not distinct from u.publisher_name
            and r.reseller_mpn_id is not distinct from u.reseller_mpn_id
            and r.currency = u.currency
            and r.pricing_date = u.usage_date
)

select * from allocated
union all by name
select * from not_in_recon
union all by name
select * from not_itemised
union all by name
select * from estimated
