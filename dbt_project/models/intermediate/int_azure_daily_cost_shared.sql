-- Microsoft's cost of each billed daily rated usage line, in cents that add up to the invoice.
--
-- The daily file's BillingPreTaxTotal is unrounded and its sum over an invoice differs from the
-- invoice reconciliation's Azure plan lines by cents. Each Azure plan group of the recon (invoice
-- x customer x Azure plan subscription x ProductId x SkuId: the lines' Subtotal, every
-- partner-earned-credit segment together) is shared over the group's daily lines in proportion
-- to their BillingPreTaxTotal, in whole cents by the largest remainder (ties by usage date, then
-- line), so the lines of a group add up exactly to its recon lines and an invoice's to its
-- Subtotal. Only billed lines of a group the recon has: unbilled lines (the open month) and
-- lines of no recon group (not billed) are left out, and a group without daily lines keeps its
-- recon lines (the FOCUS cost side reads this model to replace them).

with daily as (
    select
        *,
        upper(product_id) as product_key,
        upper(sku_id) as sku_key
    from {{ ref('stg_partner_center__daily_usage') }}
    where {{ in_rebuilt_periods() }} and invoice_number is not null
),

recon_groups as (
    select
        billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key,
        cost_pretax as group_cost_pretax
    from {{ ref('int_azure_plan_groups') }}
),

shared as (
    {{ share_to_the_cent(
        '(select d.*, g.group_cost_pretax from daily as d join recon_groups as g
          using (billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key))',
        'billing_period, invoice_number, customer_id, currency, subscription_id, product_key, sku_key',
        'group_cost_pretax',
        'cost_pretax',
        'usage_date, usage_line_id'
    ) }}
),

-- Microsoft's list price of the line in the billing currency (UnitPrice is in the pricing currency).
listed as (
    select
        *,
        cast(
            cast(unit_price as decimal(38, 18)) * cast(coalesce(pc_to_bc_exchange_rate, 1) as decimal(38, 12))
            as decimal(38, 12)
        ) as list_unit_price_billing_currency
    from shared
)

select
    * exclude (shared_amount),
    shared_amount as cost_billed_pretax,
    (list_unit_price_billing_currency * cast(quantity as decimal(38, 12)))::decimal(38, 12) as list_amount
from listed
