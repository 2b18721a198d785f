select
    billing_period,
    invoice_number,
    invoice_date,
    billing_period_start,
    billing_period_end,
    upper(currency) as currency,
    license_charges,
    usage_charges,
    other_charges,
    -- A G-invoice's figures (NULL on legacy invoices); credits are negative.
    charges,
    credits,
    subtotal,
    tax,
    total,
    source_file
from {{ source('partner_center', 'invoice_summary') }}
