-- A fixed price needs its price and currency; a percentage needs its rate.
select pricing_rule_id || ': ' || case
        when basis = 'fixed_unit_price' and (unit_price is null or currency is null)
            then 'a fixed_unit_price rule needs unit_price and currency'
        else basis || ' needs a rate'
    end as problem
from {{ source('config', 'pricing_rules') }}
where (basis = 'fixed_unit_price' and (unit_price is null or currency is null))
   or (basis in ('cost_markup', 'list_relative') and rate is null)
