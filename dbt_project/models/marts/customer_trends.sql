{{ config(materialized='view', pre_hook=[]) }}

-- Month-over-month change per customer, over the whole history (a view: always current).
with monthly as (
    select
        billing_period, customer_id, currency, customer_name, cost_pretax, billed_pretax, margin,
        lag(billing_period) over customer_history as previous_period,
        lag(cost_pretax) over customer_history as previous_cost_pretax,
        lag(billed_pretax) over customer_history as previous_billed_pretax,
        lag(margin) over customer_history as previous_margin
    from {{ ref('customer_monthly') }}
    window customer_history as (partition by customer_id, currency order by billing_period)
)

select
    billing_period,
    customer_id,
    currency,
    customer_name,
    cost_pretax,
    billed_pretax,
    margin,
    previous_period,
    -- Explicit widths: a difference of two 28-digit amounts needs 29, and DuckDB 1.x would infer
    -- 28, so the published view would not bind there.
    cast(cost_pretax - previous_cost_pretax as decimal(29, 6)) as cost_change,
    cast(billed_pretax - previous_billed_pretax as decimal(29, 2)) as billed_change,
    cast(margin - previous_margin as decimal(29, 6)) as margin_change,
    -- Percent change, in DECIMAL; null when there is no earlier month or it was zero.
    {{ decimal_ratio('(cost_pretax - previous_cost_pretax) * 100', 'previous_cost_pretax') }} as cost_change_percent,
    {{ decimal_ratio('(billed_pretax - previous_billed_pretax) * 100', 'previous_billed_pretax') }} as billed_change_percent
from monthly
