{{ config(materialized='view') }}

-- Legacy license and usage lines and new-commerce (NCE) lines in one shape: what was charged,
-- to whom, for which period, at what cost and list price. Every month: the models reading it
-- (ephemeral) choose the run's months, and DuckDB pushes that filter through this view and
-- the staging views into the raw tables' scans.
with license as (
    select
        charge_id, billing_period, invoice_number, 'license' as source, customer_id, customer_name,
        subscription_id, product_name, charge_type, charge_start_date, charge_end_date,
        quantity::decimal(38, 18) as quantity, currency, cost_pretax, cost_tax,
        list_amount::decimal(38, 12) as list_amount, source_file, source_line,
        reseller_mpn_id,
        null::varchar as product_id, null::varchar as sku_id, null::varchar as availability_id,
        null::varchar as publisher_name, null::varchar as term_and_billing_cycle,
        billing_cycle_type as billing_frequency, null::date as order_date,
        unit_price::decimal(38, 18) as unit_price, null::decimal(38, 18) as effective_unit_price,
        currency as pricing_currency, null::decimal(38, 18) as pc_to_bc_exchange_rate,
        null::varchar as reservation_order_id, null::varchar as credit_reason_code,
        null::varchar as reference_id, null::integer as charge_days, null::integer as cycle_days,
        null::integer as months_per_cycle
    from {{ ref('stg_partner_center__license_lines') }}
),

usage as (
    select
        charge_id, billing_period, invoice_number, 'usage' as source, customer_id, customer_name,
        subscription_id, product_name, charge_type, charge_start_date, charge_end_date,
        overage_quantity::decimal(38, 18) as quantity, currency, cost_pretax, cost_tax,
        list_amount::decimal(38, 12) as list_amount, source_file, source_line,
        reseller_mpn_id,
        null::varchar as product_id, sku as sku_id, null::varchar as availability_id,
        null::varchar as publisher_name, null::varchar as term_and_billing_cycle,
        null::varchar as billing_frequency, null::date as order_date,
        list_price::decimal(38, 18) as unit_price, null::decimal(38, 18) as effective_unit_price,
        currency as pricing_currency, null::decimal(38, 18) as pc_to_bc_exchange_rate,
        null::varchar as reservation_order_id, null::varchar as credit_reason_code,
        null::varchar as reference_id, null::integer as charge_days, null::integer as cycle_days,
        null::integer as months_per_cycle
    from {{ ref('stg_partner_center__usage_lines') }}
),

-- The documented heuristics (recon-formats.md §8 items 8-9), first match wins: a customer
-- credit, the Azure plan, a reservation or savings plan, a third-party publisher
-- (Marketplace), a software subscription or perpetual software, else seats.
nce_classified as (
    select
        *,
        case
            when lower(charge_type) = 'customercredit' then 'credit'
            when lower(subscription_description) = 'azure plan' then 'azure_plan'
            when term_and_billing_cycle ilike '%reservation%' or term_and_billing_cycle ilike '%savings plan%' then 'reservation'
            when coalesce(publisher_name, '') <> '' and publisher_name not ilike 'microsoft%' then 'marketplace'
            when
                term_and_billing_cycle ilike '%subscription%'
                or (coalesce(term_and_billing_cycle, '') = '' and charge_end_date is null) then 'software'
            else 'seat'
        end as source,
        -- The charge cycle a prorated charge belongs to ends with the charge; it lasts a month
        -- (the days of the month it starts in) or a year (365/366 days), recon-formats.md §10.
        case lower(billing_frequency) when 'monthly' then 1 when 'annual' then 12 end as months_per_cycle
    from {{ ref('stg_partner_center__nce_lines') }}
),

nce as (
    select
        charge_id, billing_period, invoice_number, source, customer_id, customer_name,
        subscription_id, product_name, charge_type, charge_start_date, charge_end_date,
        billable_quantity as quantity, currency, cost_pretax, cost_tax,
        -- Microsoft's list price in the billing currency (UnitPrice x PCToBCExchangeRate, kept
        -- to 12 places) x BillableQuantity, prorated as Microsoft prorates seats (charge days
        -- over cycle days, to 6 places when partial), signed like the line (refunds carry a
        -- positive UnitPrice).
        case when cost_pretax < 0 or effective_unit_price < 0 then -1 else 1 end
        * case
            when prorated and charge_days <> cycle_days
                then cast({{ divide_exactly('list_gross', 'charge_days', 'cycle_days', places=6) }} as decimal(38, 12))
            else list_gross
        end as list_amount,
        source_file, source_line, reseller_mpn_id,
        product_id, sku_id, availability_id, publisher_name, term_and_billing_cycle,
        billing_frequency, order_date::date as order_date,
        unit_price, effective_unit_price, pricing_currency, pc_to_bc_exchange_rate,
        reservation_order_id, credit_reason_code, reference_id,
        -- Only charges Microsoft prorates have a period to bill fixed monthly prices by.
        case when prorated then charge_days end as charge_days,
        case when prorated then cycle_days end as cycle_days,
        case when prorated then months_per_cycle end as months_per_cycle
    from (
        select
            *,
            cast(
                cast(cast(unit_price as decimal(26, 12)) * cast(coalesce(pc_to_bc_exchange_rate, 1) as decimal(24, 12)) as decimal(38, 12))
                * cast(billable_quantity as decimal(26, 12))
                as decimal(38, 12)
            ) as list_gross,
            datediff('day', charge_start_date, charge_end_date) + 1 as charge_days,
            datediff(
                'day',
                (charge_end_date + 1) - case months_per_cycle when 12 then interval 1 year else interval 1 month end,
                charge_end_date + 1
            ) as cycle_days,
            source in ('seat', 'software', 'marketplace', 'reservation')
            and months_per_cycle is not null and charge_end_date is not null as prorated
        from nce_classified
    )
)

select * from license
union all by name
select * from usage
union all by name
select * from nce
