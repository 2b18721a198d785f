-- Two rules that match a line equally well (as many targeted dimensions, both naming the
-- customer or neither, same priority and valid_from) leave the choice to their ids: the
-- configuration must say which wins.
select distinct
    'pricing rules ' || pricing_rules_tied || ' match ' || source || ' lines of "' || product_name
        || '" for customer ' || customer_id || ' equally well (as many targets, same priority and valid_from): '
        || 'give the one that should win a higher priority or a narrower target' as problem
from {{ ref('fct_charges') }}
where {{ in_rebuilt_periods() }}
  and pricing_rules_tied is not null
