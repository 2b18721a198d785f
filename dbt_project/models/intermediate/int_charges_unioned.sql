{{ config(materialized='view') }}

-- License and usage lines in one shape: what was charged, to whom, at what cost and list price.
-- Every month: the models reading it (ephemeral) choose the run's months, and DuckDB pushes that
-- filter through this view and the staging views into the raw tables' scans.
with license as (
    select
        charge_id, billing_period, invoice_number, 'license' as source, customer_id, customer_name,
        subscription_id, product_name, charge_type, charge_start_date, charge_end_date,
        quantity, currency, cost_pretax, cost_tax, list_amount, source_file, source_line
    from {{ ref('stg_partner_center__license_lines') }}
),

usage as (
    select
        charge_id, billing_period, invoice_number, 'usage' as source, customer_id, customer_name,
        subscription_id, product_name, charge_type, charge_start_date, charge_end_date,
        overage_quantity as quantity, currency, cost_pretax, cost_tax, list_amount, source_file, source_line
    from {{ ref('stg_partner_center__usage_lines') }}
)

select * from license
union all
select * from usage
