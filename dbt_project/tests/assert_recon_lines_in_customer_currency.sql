-- Microsoft's lines for a customer must be in the currency the partner bills that customer in.
select distinct
    'customer ' || c.customer_id || ' (' || c.billing_name || ') is billed in ' || c.currency
        || ' but has ' || l.currency || ' lines in ' || strftime(l.billing_period, '%Y-%m') as problem
from {{ ref('int_charges_unioned') }} as l
join {{ source('config', 'customers') }} as c using (customer_id)
where l.currency <> c.currency
  and {{ in_rebuilt_periods('l.billing_period') }}
