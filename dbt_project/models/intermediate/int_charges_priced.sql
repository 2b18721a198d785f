-- Each recon line gets exactly one of the partner's pricing rules and its billed price.
--
-- Resolution: among the rules whose target and validity match the line, a rule naming the
-- customer wins over rules for every customer (a customer's agreement overrides the price
-- list), then the one targeting the most dimensions (customer, source, product pattern,
-- product id, SKU id, publisher, term, billing frequency, reseller: one each), then the higher
-- priority, then the latest valid_from. Rules still equal after that are reported
-- (pricing_rules_tied, a blocking test): the rules' ids are never what decides.
-- A credit is priced on the date of the charge it reverses, so the customer is refunded at
-- the price it was charged: for new commerce the positive line of the same ReferenceId, else
-- (and for legacy licenses) the latest earlier positive charge of the same subscription and
-- product.
-- Rounding: each line's billed amount is rounded to the cent, half away from zero; invoices
-- and rollups add rounded lines, so they always equal the sum of what the customer sees.

-- Only the months this run rebuilds (this model is ephemeral: the months are the run's own).
with lines as (
    select * from {{ ref('int_charges_unioned') }}
    where {{ in_rebuilt_periods() }}
),

credits as (
    select * from lines
    where cost_pretax < 0 and source not in ('usage', 'azure_plan')
),

charges as (
    select * from lines
    where cost_pretax > 0 and source not in ('usage', 'azure_plan')
),

same_event_charge as (
    select credit.charge_id, max(original.charge_start_date) as original_charge_date
    from credits as credit
    join charges as original
        on
            original.reference_id = credit.reference_id
            and original.customer_id = credit.customer_id
    where credit.reference_id is not null
    group by credit.charge_id
),

earlier_charge as (
    select credit.charge_id, max(original.charge_start_date) as original_charge_date
    from credits as credit
    join charges as original
        on
            original.source = credit.source
            and original.customer_id = credit.customer_id
            and original.subscription_id = credit.subscription_id
            and original.product_name = credit.product_name
            and original.charge_start_date <= credit.charge_start_date
    group by credit.charge_id
),

priced_lines as (
    select
        lines.*,
        coalesce(same_event_charge.original_charge_date, earlier_charge.original_charge_date, lines.charge_start_date) as pricing_date
    from lines
    left join same_event_charge using (charge_id)
    left join earlier_charge using (charge_id)
),

-- Rules are resolved once per distinct target, not per line: a month has millions of lines
-- but only thousands of distinct targets.
pricing_keys as (
    select distinct
        customer_id, source, product_name, product_id, sku_id, publisher_name,
        term_and_billing_cycle, billing_frequency, reseller_mpn_id, currency, pricing_date
    from priced_lines
),

-- The one rule of each target (macros/pricing_rules.sql, shared with the Azure usage estimate).
resolved as (
    {{ resolve_pricing_rules('pricing_keys') }}
),

billed as (
    select
        l.*,
        r.pricing_rule_id,
        r.basis as pricing_basis,
        r.pricing_rules_tied,
        round(
            case r.basis
                when 'cost_markup' then l.cost_pretax * (100 + r.rate) * 0.01
                when 'list_relative' then l.list_amount * (100 + r.rate) * 0.01
                when 'fixed_unit_price' then
                    (case when l.cost_pretax < 0 then -1 else 1 end) * case
                        -- A monthly price over the months the charge covers: its days over
                        -- its cycle's days, times 12 for an annual cycle.
                        when l.cycle_days is not null then {{ divide_exactly(
                            'cast(r.unit_price * cast(abs(l.quantity) as decimal(26, 12)) as decimal(38, 12))',
                            'l.charge_days * l.months_per_cycle', 'l.cycle_days', places=2) }}
                        else r.unit_price * abs(l.quantity)
                    end
            end,
            2
        )::decimal(28, 2) as billed_pretax
    from priced_lines as l
    left join resolved as r
        on
            r.customer_id is not distinct from l.customer_id
            and r.source is not distinct from l.source
            and r.product_name is not distinct from l.product_name
            and r.product_id is not distinct from l.product_id
            and r.sku_id is not distinct from l.sku_id
            and r.publisher_name is not distinct from l.publisher_name
            and r.term_and_billing_cycle is not distinct from l.term_and_billing_cycle
            and r.billing_frequency is not distinct from l.billing_frequency
            and r.reseller_mpn_id is not distinct from l.reseller_mpn_id
            and r.currency = l.currency
            and r.pricing_date = l.pricing_date
)

select
    *,
    (billed_pretax - cost_pretax)::decimal(28, 6) as markup_amount
from billed
