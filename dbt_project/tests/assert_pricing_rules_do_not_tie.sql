-- Two rules with the same target and priority whose validity overlaps would price a line
-- ambiguously: the configuration must say which wins.
select
    a.pricing_rule_id || ' and ' || b.pricing_rule_id
        || ' target the same lines with the same priority over overlapping dates: change a priority or the dates' as problem
from {{ source('config', 'pricing_rules') }} as a
join {{ source('config', 'pricing_rules') }} as b
  on a.pricing_rule_id < b.pricing_rule_id
 and lower(a.customer_id) is not distinct from lower(b.customer_id)
 and a.source is not distinct from b.source
 and lower(a.product_pattern) is not distinct from lower(b.product_pattern)
 and a.product_id is not distinct from b.product_id
 and a.sku_id is not distinct from b.sku_id
 and lower(a.publisher_pattern) is not distinct from lower(b.publisher_pattern)
 and lower(a.term_pattern) is not distinct from lower(b.term_pattern)
 and lower(a.billing_frequency) is not distinct from lower(b.billing_frequency)
 and a.reseller_mpn_id is not distinct from b.reseller_mpn_id
 and a.priority = b.priority
 and coalesce(a.valid_from, date '0001-01-01') <= coalesce(b.valid_to, date '9999-12-31')
 and coalesce(b.valid_from, date '0001-01-01') <= coalesce(a.valid_to, date '9999-12-31')
