-- The partner's own recurring charges, one row per charge and month it is billed in. A month
-- is billed when an invoice of Microsoft's exists for it in this run.
with months as (
    select distinct billing_period from {{ ref('stg_partner_center__invoices') }}
    where {{ in_rebuilt_periods() }}
)

select
    months.billing_period,
    s.service_charge_id,
    lower(s.customer_id) as customer_id,
    s.description,
    s.quantity,
    s.unit_price,
    upper(s.currency) as currency,
    round(s.quantity * s.unit_price, 2)::decimal(28, 2) as amount
from {{ source('config', 'partner_service_charges') }} as s
join months
    on
        date_trunc('month', s.valid_from) <= months.billing_period
        and (s.valid_to is null or s.valid_to >= months.billing_period)
