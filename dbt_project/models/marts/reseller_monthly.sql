-- What each indirect reseller sold, for indirect providers: one row per month, reseller and
-- currency. reseller_mpn_id 0 = sold directly by the partner.
select
    billing_period,
    reseller_mpn_id,
    currency,
    count(distinct customer_id) as customer_count,
    count(*) as line_count,
    sum(cost_pretax)::decimal(28, 6) as cost_pretax,
    sum(billed_pretax)::decimal(28, 2) as billed_pretax,
    sum(margin)::decimal(28, 6) as margin
from {{ ref('fct_charges') }}
where {{ in_rebuilt_periods() }}
group by all
