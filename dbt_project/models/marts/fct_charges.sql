{{ config(unique_key='charge_id') }}

-- Columns added after the first release go at the end, so a warehouse migrated by
-- append_new_columns and a fresh one have the same column order.
select
    charge_id,
    billing_period,
    invoice_number,
    source,
    customer_id,
    customer_name,
    subscription_id,
    product_name,
    charge_type,
    charge_start_date,
    charge_end_date,
    quantity::decimal(38, 18) as quantity,
    currency,
    cost_pretax::decimal(28, 6) as cost_pretax,
    cost_tax::decimal(28, 6) as cost_tax,
    list_amount::decimal(38, 12) as list_amount,
    pricing_rule_id,
    pricing_basis,
    pricing_date,
    billed_pretax::decimal(28, 2) as billed_pretax,
    markup_amount::decimal(28, 6) as markup_amount,
    markup_amount::decimal(28, 6) as margin,
    source_file,
    source_line,
    product_id,
    sku_id,
    availability_id,
    publisher_name,
    term_and_billing_cycle,
    billing_frequency,
    order_date,
    reseller_mpn_id,
    unit_price,
    effective_unit_price,
    pricing_currency,
    pc_to_bc_exchange_rate,
    -- Prices in the billing currency (pricing currency x exchange rate, 12 places).
    cast(cast(unit_price as decimal(26, 12)) * cast(coalesce(pc_to_bc_exchange_rate, 1) as decimal(24, 12)) as decimal(38, 12)) as unit_price_billing_currency,
    cast(cast(effective_unit_price as decimal(26, 12)) * cast(coalesce(pc_to_bc_exchange_rate, 1) as decimal(24, 12)) as decimal(38, 12)) as effective_unit_price_billing_currency,
    reservation_order_id,
    credit_reason_code,
    reference_id,
    charge_days,
    cycle_days,
    months_per_cycle,
    pricing_rules_tied,
    -- A new-commerce line whose whole charge period ended before the invoice month: a late
    -- credit or refund of an earlier month, billed on this month's invoice (issue 14).
    coalesce(source not in ('license', 'usage') and charge_end_date::date < billing_period, false) as is_prior_period_correction,
    case
        when source not in ('license', 'usage') and charge_end_date::date < billing_period
            then date_trunc('month', charge_start_date)::date
    end as original_billing_period
from {{ ref('int_charges_priced') }}
