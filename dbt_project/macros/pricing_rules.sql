{# The partner's pricing rule for each distinct pricing target of `keys` (a relation or CTE
   with customer_id, source, product_name, product_id, sku_id, publisher_name,
   term_and_billing_cycle, billing_frequency, reseller_mpn_id, currency, pricing_date): the
   resolution int_charges_priced documents, defined once so the Azure usage estimate prices the
   open month with exactly the rule the invoice will apply. One row per target, with the rule's
   id, basis, rate and unit price, and pricing_rules_tied when rules tie. #}
{% macro resolve_pricing_rules(keys) -%}
with rules as (
    select
        * replace (lower(customer_id) as customer_id),
        (customer_id is not null)::integer + (source is not null)::integer
            + (product_pattern is not null)::integer + (product_id is not null)::integer
            + (sku_id is not null)::integer + (publisher_pattern is not null)::integer
            + (term_pattern is not null)::integer + (billing_frequency is not null)::integer
            + (reseller_mpn_id is not null)::integer as specificity
    from {{ source('config', 'pricing_rules') }}
),

candidates as (
    select
        k.*,
        r.pricing_rule_id, r.basis, r.rate, r.unit_price,
        r.specificity, r.customer_id is not null as names_customer, r.priority, r.valid_from
    from {{ keys }} as k
    join rules as r
      on (r.customer_id is null or r.customer_id = k.customer_id)
     and (r.source is null or r.source = k.source)
     and (r.product_pattern is null or k.product_name ilike r.product_pattern)
     and (r.product_id is null or upper(r.product_id) = upper(k.product_id))
     and (r.sku_id is null or upper(r.sku_id) = upper(k.sku_id))
     and (r.publisher_pattern is null or k.publisher_name ilike r.publisher_pattern)
     and (r.term_pattern is null or k.term_and_billing_cycle ilike r.term_pattern)
     and (r.billing_frequency is null or lower(r.billing_frequency) = lower(k.billing_frequency))
     and (r.reseller_mpn_id is null or r.reseller_mpn_id = k.reseller_mpn_id)
     and (r.valid_from is null or r.valid_from <= k.pricing_date)
     and (r.valid_to is null or r.valid_to >= k.pricing_date)
     and (r.currency is null or r.currency = k.currency)
),

ranked as (
    select
        *,
        row_number() over target_rules as rank,
        count(*) over equally_good_rules as equally_good,
        array_to_string(list_sort(list(pricing_rule_id) over equally_good_rules), ', ') as equally_good_rule_ids
    from candidates
    window
        target_rules as (
            partition by customer_id, source, product_name, product_id, sku_id, publisher_name,
                term_and_billing_cycle, billing_frequency, reseller_mpn_id, currency, pricing_date
            order by names_customer desc, specificity desc, priority desc, valid_from desc nulls last, pricing_rule_id
        ),
        equally_good_rules as (
            partition by customer_id, source, product_name, product_id, sku_id, publisher_name,
                term_and_billing_cycle, billing_frequency, reseller_mpn_id, currency, pricing_date,
                specificity, names_customer, priority, valid_from
        )
)
select
    * exclude (rank, equally_good, equally_good_rule_ids),
    case when equally_good > 1 then equally_good_rule_ids end as pricing_rules_tied
from ranked
where rank = 1
{%- endmacro %}
