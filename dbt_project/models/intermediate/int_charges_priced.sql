-- Each recon line gets exactly one of the partner's pricing rules and its billed price.
--
-- Resolution: among the rules whose target and validity match the line, the most specific
-- wins (customer + product 5, customer 4, product 3, source 2, default 1), then the higher
-- priority, then the latest valid_from. A license credit is priced on the date of the charge
-- it reverses (the latest earlier positive charge of the same subscription and product), so
-- the customer is refunded at the price it was charged.
-- Rounding: each line's billed amount is rounded to the cent, half away from zero; invoices
-- and rollups add rounded lines, so they always equal the sum of what the customer sees.
with lines as (
    select * from {{ ref('int_charges_unioned') }}
),

reversed_charge_dates as (
    select credit.charge_id, max(original.charge_start_date) as original_charge_date
    from lines as credit
    join lines as original
      on credit.source = 'license'
     and original.source = 'license'
     and credit.cost_pretax < 0
     and original.cost_pretax > 0
     and original.customer_id = credit.customer_id
     and original.subscription_id = credit.subscription_id
     and original.product_name = credit.product_name
     and original.charge_start_date <= credit.charge_start_date
    group by credit.charge_id
),

priced_lines as (
    select
        lines.*,
        coalesce(reversed_charge_dates.original_charge_date, lines.charge_start_date) as pricing_date
    from lines
    left join reversed_charge_dates using (charge_id)
),

-- Rules are resolved once per distinct target, not per line: a month has millions of lines
-- but only thousands of (customer, source, product, currency, date) combinations.
pricing_keys as (
    select distinct customer_id, source, product_name, currency, pricing_date
    from priced_lines
),

rules as (
    select
        *,
        case
            when customer_id is not null and product_pattern is not null then 5
            when customer_id is not null then 4
            when product_pattern is not null then 3
            when source is not null then 2
            else 1
        end as specificity
    from {{ source('config', 'pricing_rules') }}
),

resolved as (
    select
        k.customer_id, k.source, k.product_name, k.currency, k.pricing_date,
        r.pricing_rule_id, r.basis, r.rate, r.unit_price
    from pricing_keys as k
    join rules as r
      on (r.customer_id is null or r.customer_id = k.customer_id)
     and (r.source is null or r.source = k.source)
     and (r.product_pattern is null or k.product_name ilike r.product_pattern)
     and (r.valid_from is null or r.valid_from <= k.pricing_date)
     and (r.valid_to is null or r.valid_to >= k.pricing_date)
     and (r.currency is null or r.currency = k.currency)
    qualify row_number() over (
        partition by k.customer_id, k.source, k.product_name, k.currency, k.pricing_date
        order by r.specificity desc, r.priority desc, r.valid_from desc nulls last, r.pricing_rule_id
    ) = 1
),

billed as (
    select
        l.*,
        r.pricing_rule_id,
        r.basis as pricing_basis,
        round(
            case r.basis
                when 'cost_markup' then l.cost_pretax * (100 + r.rate) * 0.01
                when 'list_relative' then l.list_amount * (100 + r.rate) * 0.01
                when 'fixed_unit_price' then
                    (case when l.cost_pretax < 0 then -1 else 1 end) * r.unit_price * abs(l.quantity)
            end,
            2
        )::decimal(18, 2) as billed_pretax
    from priced_lines as l
    left join resolved as r
      on r.customer_id = l.customer_id
     and r.source = l.source
     and r.product_name = l.product_name
     and r.currency = l.currency
     and r.pricing_date = l.pricing_date
)

select
    *,
    (billed_pretax - cost_pretax)::decimal(18, 6) as markup_amount
from billed
