-- Each customer whose Azure usage is itemised: its billed detail adds up to the cent to its
-- invoice's Azure plan lines (the priced recon lines). Rows returned are customers that do not.
with detail as (
    select billing_period, customer_id, currency, sum(billed_pretax) as detail_pretax
    from {{ ref('azure_daily_usage') }}
    where {{ in_rebuilt_periods() }} and line_status in ('billed', 'not_itemised')
    group by all
),

invoiced as (
    select billing_period, customer_id, currency, sum(billed_pretax) as invoice_pretax
    from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }} and source = 'azure_plan'
    group by all
)

select detail.*, invoiced.invoice_pretax
from detail
left join invoiced using (billing_period, customer_id, currency)
where invoiced.invoice_pretax is distinct from detail.detail_pretax
