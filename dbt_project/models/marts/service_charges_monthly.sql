-- The partner's own service charges as billed each month: the lines the customer invoices
-- print after Microsoft's products (int_service_charges_monthly is ephemeral, so this is the
-- table the invoices and analysts read).
select
    billing_period,
    service_charge_id,
    customer_id,
    description,
    quantity::decimal(38, 18) as quantity,
    unit_price::decimal(28, 6) as unit_price,
    currency,
    amount
from {{ ref('int_service_charges_monthly') }}
