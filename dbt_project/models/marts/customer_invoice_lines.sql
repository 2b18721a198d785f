-- The lines of each customer's invoice: Microsoft products grouped by product (credits on
-- their own line), then the partner's service charges. Amounts add priced lines already
-- rounded to the cent, so a customer's lines sum exactly to customer_monthly.billed_pretax.
with product_lines as (
    select
        billing_period, customer_id, currency,
        1 as section,
        product_name
            || case
                when source in ('usage', 'azure_plan') then ' (Azure usage)'
                when source = 'marketplace' then ' (Marketplace)'
                when source = 'reservation' then ' (Azure reservation)'
                else ''
            end
            || case when billed_pretax < 0 then ' - credit' else '' end as line_description,
        sum(abs(quantity)) * case when billed_pretax < 0 then -1 else 1 end as quantity,
        sum(billed_pretax) as amount
    from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
    group by billing_period, customer_id, currency, source, product_name, billed_pretax < 0
),

service_lines as (
    select
        billing_period, customer_id, currency,
        2 as section,
        description as line_description,
        quantity,
        amount
    from {{ ref('int_service_charges_monthly') }}
),

lines as (
    select * from product_lines
    union all
    select * from service_lines
)

select
    billing_period,
    customer_id,
    currency,
    row_number() over (
        partition by billing_period, customer_id, currency order by section, line_description
    )::integer as line_number,
    line_description,
    quantity::decimal(38, 18) as quantity,
    ({{ decimal_ratio('amount', 'quantity') }})::decimal(28, 4) as unit_price,
    amount::decimal(28, 2) as amount
from lines
