-- The invoice reconciliation's Azure plan groups: invoice x customer x Azure plan subscription x
-- ProductId x SkuId, every partner-earned-credit segment together. What the daily rated usage
-- lines of a group share: its recon lines' cost (the cost side) and their billed price (the
-- customer's invoice).
select
    billing_period, invoice_number, customer_id, currency, subscription_id,
    upper(product_id) as product_key, upper(sku_id) as sku_key,
    max(product_name) as product_name,
    min(pricing_rule_id) as pricing_rule_id,
    sum(cost_pretax) as cost_pretax,
    sum(billed_pretax)::decimal(28, 2) as billed_pretax
from {{ ref('fct_charges') }}
where {{ in_rebuilt_periods() }} and source = 'azure_plan'
group by all
