-- A service charge must be billed in its customer's currency: currencies are never mixed.
select
    s.service_charge_id || ' is in ' || s.currency || ' but customer ' || s.customer_id
        || ' is billed in ' || c.currency as problem
from {{ source('config', 'partner_service_charges') }} as s
join {{ source('config', 'customers') }} as c using (customer_id)
where s.currency <> c.currency
