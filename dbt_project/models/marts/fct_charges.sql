{{ config(unique_key='charge_id') }}

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
    quantity,
    currency,
    cost_pretax,
    cost_tax,
    list_amount,
    pricing_rule_id,
    pricing_basis,
    pricing_date,
    billed_pretax,
    markup_amount,
    markup_amount as margin,
    source_file,
    source_line
from {{ ref('int_charges_priced') }}
