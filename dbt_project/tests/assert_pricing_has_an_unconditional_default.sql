-- Every line must find a rule: a default that targets nothing and is always valid must exist.
select 'no default pricing rule: add a row with empty customer_id, source, product_pattern and validity dates' as problem
where not exists (
    select 1 from {{ source('config', 'pricing_rules') }}
    where customer_id is null and source is null and product_pattern is null
      and valid_from is null and valid_to is null
)
