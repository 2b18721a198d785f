-- The lines of each customer's invoice: Microsoft products grouped by product (credits on
-- their own line), then the partner's service charges. Amounts add priced lines already
-- rounded to the cent, so a customer's lines sum exactly to customer_monthly.billed_pretax.
-- A customer whose Azure usage the daily file itemises has its Azure plan lines grouped by its
-- azure_grouping instead (marts.azure_daily_usage, which shares them to the cent).
with azure_itemised as (
    select distinct billing_period, customer_id, currency
    from {{ ref('azure_daily_usage') }}
    where {{ in_rebuilt_periods() }} and line_status in ('billed', 'not_itemised')
),

azure_lines as (
    select
        billing_period, customer_id, currency,
        1 as section,
        invoice_group as line_description,
        null::decimal(38, 18) as quantity,
        sum(billed_pretax) as amount
    from {{ ref('azure_daily_usage') }}
    where {{ in_rebuilt_periods() }} and line_status in ('billed', 'not_itemised')
    group by billing_period, customer_id, currency, invoice_group
),

product_lines as (
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
    from {{ ref('fct_charges') }} as charges
    where
        {{ in_rebuilt_periods() }}
        and not (
            source = 'azure_plan'
            and exists (
                select 1 from azure_itemised as i
                where i.billing_period = charges.billing_period and i.customer_id = charges.customer_id and i.currency = charges.currency
            )
        )
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
    select * from azure_lines
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
