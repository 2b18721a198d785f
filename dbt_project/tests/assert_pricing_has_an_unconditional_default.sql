-- Every line must find a rule: a default that targets nothing and is always valid must exist.
select 'no default pricing rule: add a row with no target (customer, source, product, SKU, publisher, term, frequency, reseller) and no validity dates' as problem
where not exists (
    select 1 from {{ source('config', 'pricing_rules') }}
    where customer_id is null and source is null and product_pattern is null
      and product_id is null and sku_id is null and publisher_pattern is null and term_pattern is null
      and billing_frequency is null and reseller_mpn_id is null
      and valid_from is null and valid_to is null
)
