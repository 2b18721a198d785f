with charges as (
    select
        billing_period, customer_id, currency,
        max(customer_name) as recon_customer_name,
        -- Licenses: legacy licenses and new-commerce seats, software, Marketplace and
        -- reservations. Usage: legacy Azure usage and the Azure plan. Credits: customer credits.
        sum(case when source in ('license', 'seat', 'software', 'marketplace', 'reservation') then cost_pretax else 0 end) as license_cost_pretax,
        sum(case when source in ('usage', 'azure_plan') then cost_pretax else 0 end) as usage_cost_pretax,
        sum(case when source = 'credit' then cost_pretax else 0 end) as credit_cost_pretax,
        sum(cost_pretax) as cost_pretax,
        sum(billed_pretax) as lines_billed_pretax,
        sum(markup_amount) as markup_amount,
        count(*) as line_count
    from {{ ref('fct_charges') }}
    where {{ in_rebuilt_periods() }}
    group by all
),

services as (
    select billing_period, customer_id, currency, sum(amount) as service_charges
    from {{ ref('int_service_charges_monthly') }}
    group by all
),

combined as (
    select
        coalesce(c.billing_period, s.billing_period) as billing_period,
        coalesce(c.customer_id, s.customer_id) as customer_id,
        coalesce(c.currency, s.currency) as currency,
        c.recon_customer_name,
        coalesce(c.license_cost_pretax, 0) as license_cost_pretax,
        coalesce(c.usage_cost_pretax, 0) as usage_cost_pretax,
        coalesce(c.cost_pretax, 0) as cost_pretax,
        coalesce(c.markup_amount, 0) as markup_amount,
        coalesce(s.service_charges, 0) as service_charges,
        coalesce(c.lines_billed_pretax, 0) + coalesce(s.service_charges, 0) as billed_pretax,
        coalesce(c.line_count, 0) as line_count,
        coalesce(c.credit_cost_pretax, 0) as credit_cost_pretax
    from charges as c
    full outer join services as s
        on s.billing_period = c.billing_period and s.customer_id = c.customer_id and s.currency = c.currency
),

with_tax as (
    select
        combined.billing_period,
        combined.customer_id,
        combined.currency,
        coalesce(customers.billing_name, combined.recon_customer_name) as customer_name,
        combined.license_cost_pretax::decimal(28, 6) as license_cost_pretax,
        combined.usage_cost_pretax::decimal(28, 6) as usage_cost_pretax,
        combined.cost_pretax::decimal(28, 6) as cost_pretax,
        combined.markup_amount::decimal(28, 6) as markup_amount,
        combined.service_charges::decimal(28, 2) as service_charges,
        combined.billed_pretax::decimal(28, 2) as billed_pretax,
        coalesce(customers.vat_rate, 0)::decimal(6, 4) as vat_rate,
        coalesce(customers.tax_exempt, false) as tax_exempt,
        customers.customer_id is not null as has_billing_profile,
        (case
            when coalesce(customers.tax_exempt, false) then 0
            else round(combined.billed_pretax * coalesce(customers.vat_rate, 0), 2)
        end)::decimal(28, 2) as customer_tax,
        (combined.billed_pretax - combined.cost_pretax)::decimal(28, 6) as margin,
        combined.line_count,
        combined.credit_cost_pretax::decimal(28, 6) as credit_cost_pretax
    from combined
    -- Customer ids are GUIDs, compared in lower case (Microsoft writes both cases).
    left join {{ source('config', 'customers') }} as customers on lower(customers.customer_id) = combined.customer_id
)

select
    billing_period, customer_id, currency, customer_name,
    license_cost_pretax, usage_cost_pretax, cost_pretax, markup_amount, service_charges,
    billed_pretax, vat_rate, tax_exempt, has_billing_profile, customer_tax,
    (billed_pretax + customer_tax)::decimal(28, 2) as billed_total,
    margin, line_count, credit_cost_pretax
from with_tax
